#!/usr/bin/env bash
# Lints the committed OpenAPI document, openapi/openapi.json, with Stoplight Spectral and the
# ruleset .spectral.yaml (spectral:oas). Any warning fails, like an error. scripts/test.sh runs
# it after `cargo test`, whose drift check proves the committed document is the code's.
#
#   runs `npm ci` in tools/spectral (@stoplight/spectral-cli, pinned there) when node_modules is
#   missing or package-lock.json changed, then lints.
#
# Works from any directory. The document is generated from the code's annotations (src/api/);
# after changing them: UPDATE_OPENAPI=1 cargo test --test api openapi, then this script.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/lib.sh

# --- Node.js and spectral ---------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node (Node.js 20.17 or newer) is required"
command -v npm >/dev/null 2>&1 || die "npm is required"
# @stoplight/spectral-cli's engines: ^18.18 || >= 20.17; this project uses 20 or newer.
node -e '
const [major, minor] = process.versions.node.split(".").map(Number);
process.exit(major > 20 || (major === 20 && minor >= 17) ? 0 : 1);
' || die "Node.js 20.17 or newer is required (found $(node --version))"

lock_sum="$(sha256sum tools/spectral/package-lock.json | cut -d' ' -f1)"
stamp=tools/spectral/node_modules/.igw-lock-sha256
if [ ! -d tools/spectral/node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  step "npm ci (tools/spectral)"
  # --ignore-scripts: spectral needs no install script; the only one in its tree is the
  # install-analytics postinstall of @scarf/scarf.
  (cd tools/spectral && npm ci --no-audit --no-fund --prefer-offline --ignore-scripts)
  printf '%s\n' "$lock_sum" >"$stamp"
fi

# --- Lint -------------------------------------------------------------------------------------
step "spectral lint openapi/openapi.json (ruleset .spectral.yaml, fails on warnings)"
tools/spectral/node_modules/.bin/spectral lint openapi/openapi.json \
  --ruleset .spectral.yaml --fail-severity=warn
