#!/usr/bin/env bash
# Runs every check and test: formatting, clippy, the OpenAPI/admin UI drift check, the
# admin UI build and unit tests, all Rust tests (real PostgreSQL, HTTP, SMTP) and the browser tests in
# headless Chromium. Installs what is missing first. Starts its own PostgreSQL cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/deps.sh
need_build_tools
need_postgres
need_node
need_chromium
need_wasm_target
need_document_tools
need_schemathesis
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check

step "plugins: format, build the components (wasm32-wasip2), clippy"
for m in plugins/Cargo.toml sdk/kapu-plugin-sdk/Cargo.toml sdk/template/Cargo.toml; do
    cargo fmt --all --check --manifest-path "$m"
done
bash plugins/build.sh --quiet
wasm_target="${KAPU_WASM_TARGET_DIR:-${CARGO_TARGET_DIR:+${CARGO_TARGET_DIR}-wasm}}"
# One plugin at a time: each enables its own world feature of the SDK.
for m in plugins/*/Cargo.toml plugins/testing/*/Cargo.toml; do
    CARGO_TARGET_DIR="${wasm_target:-plugins/target-wasm}" \
        cargo clippy --manifest-path "$m" --release --target wasm32-wasip2 --quiet -- -D warnings
done

step "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "build the kapu binary"
cargo build --quiet -p kapu
target="${CARGO_TARGET_DIR:-target}"

step "admin UI: types match the server's OpenAPI documents (a municipality's, the operators'), then build"
npm ci --prefix admin-ui --no-audit --no-fund --silent
"$target/debug/kapu" openapi > admin-ui/openapi.json
"$target/debug/kapu" openapi --platform > admin-ui/openapi-platform.json
if ! git diff --quiet -- admin-ui/openapi.json admin-ui/openapi-platform.json 2>/dev/null; then
    git --no-pager diff --stat -- admin-ui/openapi.json admin-ui/openapi-platform.json
    echo "admin-ui's OpenAPI documents are out of date: run 'kapu openapi > admin-ui/openapi.json &&" \
        "kapu openapi --platform > admin-ui/openapi-platform.json && npm run gen:api --prefix admin-ui' and commit" >&2
    exit 1
fi
npm run check-api --prefix admin-ui --silent
npm run build --prefix admin-ui --silent >/dev/null

step "admin UI unit tests (vitest with happy-dom: no browser, no server)"
npm test --prefix admin-ui --silent

step "browser test dependencies"
npm ci --prefix tests/browser --no-audit --no-fund --silent

step "cargo test (the end-to-end suite starts its own PostgreSQL cluster)"
log="$(mktemp)"
# The suite's server and PostgreSQL logs, which the log scan reads afterwards.
KAPU_TEST_LOG_DIR="$(mktemp -d)"
export KAPU_TEST_LOG_DIR
trap 'rm -f "$log"; rm -rf "$KAPU_TEST_LOG_DIR"' EXIT
set +e
cargo test --workspace --all-targets 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

step "log scan: no secret or personal datum in the suite's logs"
set +e
cargo test -p kapu-tests --test logscan 2>&1 | tee -a "$log"
scan=${PIPESTATUS[0]}
set -e
[ "$status" -eq 0 ] && status=$scan
# One closing line for all test binaries together.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;/) p += $i; if ($(i+1) ~ /^failed;/) f += $i } }
     END { printf "\ntotal: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
