#!/usr/bin/env bash
# The API contract check: schemathesis (PyPI, pinned) against a live instance in sandbox mode.
# Works from any directory; exits with schemathesis's exit code (0 = no failures).
#
#   1. ensures the pinned tools of scripts/requirements.txt, schemathesis among them, in the
#      virtualenv ${IGW_VENV:-target/ci-venv} (shared with scripts/lint-deploy.sh; pip runs only
#      when requirements.txt changed since the last install);
#   2. uses the already-built binary $IGW_BIN (default: debug/instagram-gateway under the cargo
#      target directory, CARGO_TARGET_DIR or target/; it builds nothing,
#      except `cargo build --locked` when the default binary does not exist yet);
#   3. starts it on a free 127.0.0.1 port: sandbox mode, in-memory store, fixed admin token;
#   4. waits until GET /images answers 200 (the sandbox connects and syncs at start-up);
#   5. seeds one data-deletion request (a signed_request signed with the sandbox app secret, for
#      a user that is NOT the connected account, so nothing is deleted) so that
#      GET /oauth/data-deletion/{code} is also tested with a code that exists;
#   6. runs every operation with every check (see schemathesis.toml for the few statuses declared
#      as expected, and why), and always stops the service.
#
# Environment:
#   IGW_BIN                     service binary (default ${CARGO_TARGET_DIR:-target}/debug/instagram-gateway)
#   IGW_VENV                    virtualenv (default target/ci-venv)
#   IGW_SCHEMATHESIS_EXAMPLES   --max-examples (default 300: ~20-40 s on 2 cores)
#   IGW_SCHEMATHESIS_SEED       --seed (default 1)
# Output: target/schemathesis/ (JUnit report, service log, the run's configuration, and the
# crash cache: `cd target/schemathesis && ../ci-venv/bin/st replay <Test Case ID>`).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

source scripts/lib.sh

command -v curl >/dev/null 2>&1 || die "curl is required"

venv="${IGW_VENV:-target/ci-venv}"
case "$venv" in /*) ;; *) venv="$root/$venv" ;; esac
examples="${IGW_SCHEMATHESIS_EXAMPLES:-300}"
seed="${IGW_SCHEMATHESIS_SEED:-1}"
out="$root/target/schemathesis"
# Not a secret: this instance lives for the duration of the run, on loopback, in sandbox mode.
admin_token="schemathesis-sandbox-admin-token-0123456789"
# The sandbox's fixed Instagram app secret (src/sandbox/mod.rs, CLIENT_SECRET).
sandbox_app_secret="sandbox-app-secret"

# --- 1. the virtualenv with schemathesis -------------------------------------------------------

ensure_venv "$venv"

# --- 2. the service binary ---------------------------------------------------------------------

bin="${IGW_BIN:-${CARGO_TARGET_DIR:-target}/debug/instagram-gateway}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
if [ ! -x "$bin" ]; then
  [ -z "${IGW_BIN:-}" ] || die "IGW_BIN=$IGW_BIN is not an executable file"
  printf 'no %s yet: cargo build --locked\n' "$bin"
  cargo build --locked
  [ -x "$bin" ] || die "cargo build did not produce $bin"
fi
# This script tests whatever binary it is given; say so when the sources are newer.
if [ -n "$(find src Cargo.toml Cargo.lock -newer "$bin" -print -quit 2>/dev/null)" ]; then
  printf 'warning: %s is older than the sources; build it first to test the current code\n' "$bin" >&2
fi

# --- 3. start the service ----------------------------------------------------------------------

mkdir -p "$out"
log="$out/service.log"

port="$("$venv/bin/python" scripts/free_port.py)"
base="http://127.0.0.1:$port"

pid=""
st_pid=""
stop_service() {
  if [ -n "$st_pid" ] && kill -0 "$st_pid" 2>/dev/null; then
    kill "$st_pid" 2>/dev/null || true
    wait "$st_pid" 2>/dev/null || true
  fi
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}
trap stop_service EXIT
# bash skips the EXIT trap when killed by a signal; turn signals into a normal exit.
trap 'exit 130' INT
trap 'exit 143' TERM

printf 'starting %s on %s (sandbox, in-memory store; log: %s)\n' "$bin" "$base" "$log"
(
  # Only our settings: drop any IGW__* from the caller (e.g. a Redis URL or live mode).
  while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^IGW__' || true)
  export IGW_ENV=local
  export IGW__SERVER__HOST=127.0.0.1
  export IGW__SERVER__PORT="$port"
  export IGW__INSTAGRAM__MODE=sandbox
  export IGW__ADMIN__TOKEN="$admin_token"
  export IGW__LOG__FORMAT=json
  # Rate limits off for the fuzzing run: schemathesis sends thousands of requests a minute, and
  # 429s from the per-client limiter (documented on /search and /admin/*) would mask every other
  # finding on those operations. The limiter has its own integration tests.
  export IGW__RATE_LIMIT__SEARCH_PER_MINUTE=0
  export IGW__RATE_LIMIT__ADMIN_PER_MINUTE=0
  export IGW__RATE_LIMIT__IMAGES_PER_MINUTE=0
  # No redis.url: the in-memory store. Redis behaviour is covered by the integration tests.
  exec "$bin"
) >"$log" 2>&1 &
pid=$!

# --- 4. wait until the feed is served ----------------------------------------------------------

ready=""
for _ in $(seq 1 300); do
  kill -0 "$pid" 2>/dev/null || {
    tail -n 30 "$log" >&2
    die "the service exited during start-up (log above)"
  }
  if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base/images" || true)" = 200 ]; then
    ready=1
    break
  fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  tail -n 30 "$log" >&2
  die "GET $base/images did not answer 200 within 60 s (log above)"
fi
# Log lines from the start-up wait (503s before the first sync) are not findings.
ready_lines="$(wc -l <"$log")"

# --- 5. test data: one existing data-deletion confirmation code ---------------------------------

# Not the sandbox account (17841400000000001): the service records the request, deletes nothing.
signed_request="$("$venv/bin/python" scripts/signed_request.py \
  "$sandbox_app_secret" 17841499999999999)"
deletion="$(curl -s --max-time 10 -X POST --data-urlencode "signed_request=$signed_request" \
  "$base/oauth/data-deletion")" || die "POST /oauth/data-deletion failed"
code="$(printf '%s' "$deletion" |
  "$venv/bin/python" scripts/json_field.py confirmation_code 2>/dev/null)" ||
  die "POST /oauth/data-deletion with a valid signed_request did not return a confirmation_code: $deletion"

# The committed schemathesis.toml plus this run's test data: the confirmation code is offered
# as the `code` path parameter of GET /oauth/data-deletion/{code} half of the time.
config="$out/schemathesis.run.toml"
{
  cat schemathesis.toml
  printf '\n# --- Added by scripts/schemathesis.sh for this run: test data. ---\n'
  printf '[dictionaries.deletion-codes]\nvalues = ["%s"]\n\n' "$code"
  printf '[[operations]]\ninclude-name = "GET /oauth/data-deletion/{code}"\n'
  printf 'parameters = { "path.code" = { dictionary = "deletion-codes", probability = 0.5 } }\n'
} >"$config"

# --- 6. schemathesis ---------------------------------------------------------------------------

cmd=(
  "$venv/bin/schemathesis" --config-file "$config"
  run "$base/openapi.json"
  --checks all
  # The default account stays registered after DELETE (see schemathesis.toml).
  --exclude-checks use_after_free
  --phases examples,coverage,fuzzing,stateful
  --seed "$seed"
  --max-examples "$examples"
  --request-timeout 10
  --header "Authorization: Bearer $admin_token"
  --report junit --report-junit-path "$out/junit.xml"
)
printf '+ %s\n' "${cmd[*]}" | sed "s/$admin_token/<admin token>/"

# From target/schemathesis, so schemathesis's caches (.schemathesis/, .hypothesis/) stay there.
# In the background and waited for, so that INT/TERM stop the run (and the service) at once.
(cd "$out" && exec "${cmd[@]}") &
st_pid=$!
status=0
wait "$st_pid" || status=$?
st_pid=""

# A panic or an error that the responses did not show is a finding too. (The "request parse
# error" lines are schemathesis probing whether NUL bytes in headers are accepted.)
errors="$(tail -n "+$((ready_lines + 1))" "$log" | grep -E '"level":"ERROR"|panicked' |
  grep -v 'request parse error' | tail -n 20 || true)"
if [ -n "$errors" ]; then
  printf '\nerrors in the service log (%s):\n%s\n' "$log" "$errors" >&2
fi

exit "$status"
