#!/usr/bin/env bash
# Builds every plugin in this workspace as a WebAssembly component (wasm32-wasip2, release):
#   bash plugins/build.sh
# The components land in <target>/wasm32-wasip2/release/<crate>.wasm, where <target> is
# $KAPU_WASM_TARGET_DIR, else $CARGO_TARGET_DIR with "-wasm" appended, else plugins/target-wasm
# (the same rule as kapu_plugins::harness::build_components, which the host's tests use).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -n "${KAPU_WASM_TARGET_DIR:-}" ]; then target="$KAPU_WASM_TARGET_DIR"
elif [ -n "${CARGO_TARGET_DIR:-}" ]; then target="${CARGO_TARGET_DIR}-wasm"
else target="$here/target-wasm"; fi
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
# One build per plugin: each enables its own world feature of the SDK, and cargo would unify
# the features of plugins built together.
for manifest in "$here"/*/Cargo.toml "$here"/testing/*/Cargo.toml; do
  CARGO_TARGET_DIR="$target" cargo build --manifest-path "$manifest" --release --target wasm32-wasip2 "$@"
done
