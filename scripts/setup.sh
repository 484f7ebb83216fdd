#!/usr/bin/env bash
# Installs what building, running and testing Bouquet needs on Debian 12, skipping
# whatever is already there. Sourced by scripts/run and scripts/test.
set -euo pipefail

BOUQUET_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BOUQUET_ROOT
# Outside the clone, so a fresh clone reuses earlier builds (a clean Tauri build is slow).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bouquet-target}"
# Each clone's path gets its own incremental caches, which only grow (18 GB of them filled
# the disk once); a CI build from a fresh clone gains nothing from them.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Building the desktop app (Tauri 2 on WebKitGTK) and the server.
# libdbus-1-dev: the device token goes to the desktop's Secret Service (keyring crate).
BUILD_PACKAGES=(build-essential pkg-config libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev
  libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libdbus-1-dev curl)
# End-to-end tests: Chromium for the server's pages; the app through tauri-driver +
# WebKitWebDriver under Xvfb (ImageMagick photographs the display);
# python3-aiosmtpd is a real SMTP server for the invitation email tests (tests/smtp/relay.py);
# zbarimg, rsvg-convert and poppler's pdftoppm read rendered QR codes and PDFs back independently;
# pg_dump/psql copy a PostgreSQL database for the restore-from-backup sync test;
# dbus-daemon + gnome-keyring (read back with secret-tool) are a real keyring for the token test;
# fonts-noto-color-emoji draws the tier badges in screenshots, as a desktop's fonts would.
# python3-venv holds schemathesis (PyPI), which attacks the API through its OpenAPI document.
# wrk loads the events API in the benchmark suite (each request its own body).
TEST_PACKAGES=(chromium xvfb imagemagick xauth zbar-tools python3-aiosmtpd librsvg2-bin poppler-utils webkit2gtk-driver postgresql-client
  dbus-daemon gnome-keyring libsecret-tools fonts-noto-color-emoji python3-venv wrk)

# The WebDriver server that drives the built app (its end-to-end tests).
ensure_tauri_driver() {
  if [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
    echo "==> cargo install tauri-driver"
    cargo install tauri-driver --locked --quiet
  fi
}

# The HTTP load generator of the benchmarks (crates.io; pinned so figures compare across runs).
OHA_VERSION="1.16.0"
ensure_oha() {
  local oha="${CARGO_HOME:-$HOME/.cargo}/bin/oha"
  if [ "$("$oha" --version 2>/dev/null)" != "oha $OHA_VERSION" ]; then
    echo "==> cargo install oha@$OHA_VERSION"
    cargo install oha --version "$OHA_VERSION" --locked --quiet
  fi
  export OHA="$oha"
}

# schemathesis in a virtual environment of Debian's Python (pinned: a new release may judge
# the same document differently).
SCHEMATHESIS_VERSION="4.32.5"
ensure_schemathesis() {
  local venv="$HOME/.cache/bouquet-venv"
  if [ "$("$venv/bin/st" --version 2>/dev/null)" != "st, version $SCHEMATHESIS_VERSION" ]; then
    echo "==> pip install schemathesis==$SCHEMATHESIS_VERSION (in $venv)"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  export BOUQUET_SCHEMATHESIS="$venv/bin/st"
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is missing; install Rust (1.88 or newer) with rustup, then run this again" >&2
    exit 1
  fi
}

# Node.js may come from elsewhere than Debian (then Debian's npm would conflict with it).
ensure_node() {
  if ! command -v npm >/dev/null 2>&1; then
    ensure_apt nodejs npm
  fi
}

ensure_npm_deps() {
  local dir="$1"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "==> npm ci in ${dir#"$BOUQUET_ROOT"/}"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

build_ui() {
  ensure_node
  ensure_npm_deps "$BOUQUET_ROOT/ui"
  (cd "$BOUQUET_ROOT/ui" && npm run --silent build >/dev/null)
}
