# Installs what Kapu needs from Debian's packages, only what is missing.
# Sourced by deploy/demo.sh and deploy/test.sh; runs apt-get as root (or through sudo).

apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    if [ -z "${KAPU_APT_UPDATED:-}" ]; then
        $sudo apt-get update -qq
        export KAPU_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

have_postgres() {
    command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

need_postgres() {
    # The demo and the tests start their own cluster from these binaries (as user postgres).
    have_postgres || apt_install postgresql
    id postgres >/dev/null 2>&1 || apt_install postgresql
}

need_node() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_install nodejs npm
}

need_chromium() {
    command -v chromium >/dev/null 2>&1 || apt_install chromium
}

need_build_tools() {
    command -v cc >/dev/null 2>&1 || apt_install build-essential
    command -v pkg-config >/dev/null 2>&1 || apt_install pkg-config
    need_saml_libs
}

need_saml_libs() {
    # The national login's SAML signatures: samael binds libxmlsec1 (with libxml2 and
    # OpenSSL) through bindgen, which needs libclang. The tests check signatures with the
    # xmlsec1 and openssl command-line tools too.
    local missing=()
    for p in libxmlsec1-dev libxml2-dev libssl-dev libclang-dev xmlsec1 openssl; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] || apt_install "${missing[@]}"
}

# Plugins are WebAssembly components built for wasm32-wasip2 (rustup ships the target).
need_wasm_target() {
    rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
}

need_document_tools() {
    # The signed-decision tests check PDFs with poppler's pdfsig, trust the test CA through
    # NSS's certutil, and check time-stamp tokens with openssl ts -verify.
    command -v pdfsig >/dev/null 2>&1 || apt_install poppler-utils
    command -v certutil >/dev/null 2>&1 || apt_install libnss3-tools
    command -v openssl >/dev/null 2>&1 || apt_install openssl
}

# The API fuzz test runs schemathesis (a schema-driven API fuzzer), pinned with all its
# dependencies in tests/fuzz/requirements.txt, in a virtual environment of its own outside
# the checkout (kept between runs; a new pin makes a new one). Installed here, never when
# the tests run.
schemathesis_bin() {
    local pins version
    pins="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/fuzz/requirements.txt"
    version="$(sha256sum "$pins" | cut -c1-16)"
    echo "${KAPU_TOOLS_DIR:-${HOME:-/root}/.cache/kapu-tools}/schemathesis-$version/bin/st"
}

need_schemathesis() {
    local st venv pins
    st="$(schemathesis_bin)"
    [ -x "$st" ] && return 0
    command -v python3 >/dev/null 2>&1 || apt_install python3
    python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
    venv="$(dirname "$(dirname "$st")")"
    pins="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/fuzz/requirements.txt"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$pins" \
        || { rm -rf "$venv"; return 1; }
    "$st" --version >/dev/null
}
