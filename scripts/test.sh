#!/usr/bin/env bash
# The project's one test command (CI runs it through .ci/run):
#   installs what is missing, starts a throw-away Redis for the integration tests, then runs
#   cargo fmt --check, cargo clippy -D warnings, the Dockerfile/Kubernetes linters, every
#   test, and the release build the Dockerfile uses. The asset store tests run against a real
#   S3-compatible server, moto (pinned in scripts/requirements.txt), which they start themselves.
# Works from any directory. Environment: IGW_TEST_REDIS_PORT (default 6399), IGW_VENV (the
# Python tools' virtualenv, default target/ci-venv).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/lib.sh

# --- 1. Install what is missing --------------------------------------------------------------

# The integration tests talk to a real Redis. redis-server pulls in redis-tools (redis-cli).
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  step "installing redis-server"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends redis-server
fi

# Minimal rustup profiles ship without rustfmt and clippy.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  step "installing rustfmt and clippy"
  rustup component add rustfmt clippy
fi

# The pinned Python tools (scripts/requirements.txt): the deployment linters, schemathesis, and
# moto_server, the S3 server of the asset store tests (tests/api/helpers/s3.rs starts one per
# test process from IGW_TEST_MOTO_SERVER and stops it when the tests exit).
venv="${IGW_VENV:-target/ci-venv}"
case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac
ensure_venv "$venv"
export IGW_TEST_MOTO_SERVER="$venv/bin/moto_server"
# The webhook tests verify signatures with the `standardwebhooks` package run by this Python.
export IGW_TEST_PYTHON="$venv/bin/python"

# --- 2. A private Redis for the tests ----------------------------------------------------------

# Our own server, not the machine's: tests may write and delete freely, and nothing persists.
port="${IGW_TEST_REDIS_PORT:-6399}"
case "$port" in
  '' | *[!0-9]*) die "IGW_TEST_REDIS_PORT must be a port number, got '$port'" ;;
esac

# If something already listens there, redis-server (daemonized) would fail silently in the
# background and the tests would run against someone else's server.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  die "port $port is already in use; set IGW_TEST_REDIS_PORT to a free port"
fi

redis_dir="$(mktemp -d "${TMPDIR:-/tmp}/igw-test-redis.XXXXXX")"

stop_redis() {
  local pid
  if [ -f "$redis_dir/redis.pid" ]; then
    pid="$(cat "$redis_dir/redis.pid")"
    kill "$pid" 2>/dev/null || true
    # Wait (bounded) so an immediate re-run finds the port free again.
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -rf "$redis_dir"
}
trap stop_redis EXIT
# bash skips the EXIT trap when killed by a signal; turn signals into a normal exit.
trap 'exit 130' INT
trap 'exit 143' TERM

step "starting redis-server on 127.0.0.1:$port"
redis-server \
  --port "$port" \
  --bind 127.0.0.1 \
  --save '' \
  --appendonly no \
  --daemonize yes \
  --dir "$redis_dir" \
  --pidfile "$redis_dir/redis.pid" \
  --logfile "$redis_dir/redis.log"

# Bounded wait (~10 s) for the server to answer.
for _ in $(seq 1 50); do
  if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; then
    break
  fi
  sleep 0.2
done
if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" != "PONG" ]; then
  tail -n 20 "$redis_dir/redis.log" >&2 2>/dev/null || true
  die "redis-server on port $port did not answer PING within 10 s (log above)"
fi

export IGW_TEST_REDIS_URL="redis://127.0.0.1:$port/"

# --- 3. The checks -----------------------------------------------------------------------------

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets --locked -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings

step "scripts/lint-deploy.sh (hadolint Dockerfile, kubernetes-validate --strict k8s/)"
scripts/lint-deploy.sh

# The S3 store reads its credentials from the environment, and the tests cannot set them
# (tests/api/helpers/s3.rs says why): dummy ones, which moto accepts, for this command only, so
# that real ones in the caller's environment are never used or sent.
step "cargo test --locked --all-targets (Redis: $IGW_TEST_REDIS_URL; S3: $IGW_TEST_MOTO_SERVER; Python: $IGW_TEST_PYTHON)"
env -u AWS_SESSION_TOKEN -u AWS_PROFILE \
  AWS_ACCESS_KEY_ID=igw-test AWS_SECRET_ACCESS_KEY=igw-test \
  cargo test --locked --all-targets

step "scripts/spectral.sh (the committed OpenAPI document: spectral:oas, no errors or warnings)"
scripts/spectral.sh

step "scripts/browser-tests.sh (gallery, operator page, /docs in headless Chromium)"
scripts/browser-tests.sh

step "scripts/schemathesis.sh (the OpenAPI contract, all checks, against a live sandbox instance)"
scripts/schemathesis.sh

# The Dockerfile's build stage runs exactly this; building it here proves it works.
step "cargo build --release --locked"
cargo build --release --locked

step "all checks passed"
