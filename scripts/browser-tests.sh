#!/usr/bin/env bash
# Browser tests of the gallery example, the operator page (/admin/) and /docs, in Debian's
# headless Chromium driven by playwright-core (tests/browser/run.mjs). scripts/test.sh runs it.
#
#   installs chromium when missing (apt-get; sudo only when not root), runs `npm ci` in
#   tests/browser when node_modules is missing or package-lock.json changed, builds the service
#   (`cargo build --locked`) unless IGW_BIN names a binary, then runs the tests.
#
# Works from any directory. Environment: IGW_BIN (service binary; a relative path is taken from
# the repository root), CHROMIUM (browser, default /usr/bin/chromium). Screenshots and the
# service's log go to target/browser/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/lib.sh

# --- Chromium (Debian's package; no downloaded browser builds) -------------------------------
if [ -n "${CHROMIUM:-}" ]; then
  [ -x "$CHROMIUM" ] || die "CHROMIUM=$CHROMIUM is not an executable"
elif [ ! -x /usr/bin/chromium ]; then
  step "installing chromium"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends chromium
fi

# --- Node.js and the test's one dependency ----------------------------------------------------
command -v node >/dev/null 2>&1 || die "node (Node.js 20 or newer) is required"
command -v npm >/dev/null 2>&1 || die "npm is required"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js 20 or newer is required (found $(node --version))"

lock_sum="$(sha256sum tests/browser/package-lock.json | cut -d' ' -f1)"
stamp=tests/browser/node_modules/.igw-lock-sha256
if [ ! -d tests/browser/node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  step "npm ci (tests/browser)"
  (cd tests/browser && npm ci --no-audit --no-fund --prefer-offline)
  printf '%s\n' "$lock_sum" >"$stamp"
fi

# --- The service --------------------------------------------------------------------------------
if [ -z "${IGW_BIN:-}" ]; then
  step "cargo build --locked"
  cargo build --locked
  IGW_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/instagram-gateway"
fi
export IGW_BIN

step "browser tests (tests/browser/run.mjs, service $IGW_BIN)"
node tests/browser/run.mjs
