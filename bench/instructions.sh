#!/usr/bin/env bash
# The hot path in CPU instructions per request, counted by valgrind's callgrind: unlike req/s,
# the same binary gives the same count on a busy or a quiet machine, so small changes show.
# Counts `GET /images?limit=20` (200, then 304 with If-None-Match) on the gateway (sandbox,
# in-memory store, RUST_LOG=info, JSON logs, every production middleware) and on the bare
# actix-web handler of bench/baseline.rs serving the same bytes, and prints both and the ratio;
# then the same for a hot asset, `GET /assets/<key>.webp` of 41,520 bytes (200 and 304), served
# by the gateway from its `fs` store through the in-process cache and by the bare handler from
# memory. The count covers user space only (not the kernel's share of each request).
#
# Usage: bench/instructions.sh      (from any directory; needs valgrind, curl, python3)
# Environment: BENCH_REQUESTS=2000 (counted per path, after 300 uncounted),
#   BENCH_APP_PORT=18180, BENCH_BARE_PORT=18181,
#   CARGO_TARGET_DIR (default target/bench-callgrind; release with line tables, so that
#   `callgrind_annotate` can attribute the counts: BENCH_KEEP_TMP=1 keeps the profiles).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
REQUESTS="${BENCH_REQUESTS:-2000}"
APP_PORT="${BENCH_APP_PORT:-18180}"
BARE_PORT="${BENCH_BARE_PORT:-18181}"
log() { printf '[instructions] %s\n' "$*" >&2; }
die() { printf '[instructions] ERROR: %s\n' "$*" >&2; exit 1; }
for tool in valgrind callgrind_control curl python3; do
    command -v "$tool" >/dev/null || die "$tool is required (Debian: apt-get install valgrind curl python3)"
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/bench-callgrind}"
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only
log "building (release with line tables, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cargo build --release --locked --bin instagram-gateway --example bench-baseline >&2 \
    || die "cargo build failed"
case "$CARGO_TARGET_DIR" in /*) OUT="$CARGO_TARGET_DIR/release" ;; *) OUT="$ROOT/$CARGO_TARGET_DIR/release" ;; esac

TMP="$(mktemp -d "${TMPDIR:-/tmp}/igw-instructions.XXXXXX")"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [[ "${BENCH_KEEP_TMP:-0}" == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

wait_for() { # url
    for _ in $(seq 1 120); do
        [[ "$(curl -s -o /dev/null -w '%{http_code}' "$1" || true)" == 200 ]] && return 0
        sleep 0.5
    done
    die "no 200 from $1 within 60 s"
}

# Counts the instructions of N requests on a server running under callgrind: zero the
# counters after a warm-up, send the requests, dump.
count() { # name pid port status [etag]   (KEEPALIVE_PATH: the path, default /images?limit=20)
    local name="$1" pid="$2" port="$3" status="$4" etag="${5:-}"
    python3 bench/keepalive_client.py "$port" 300 "$status" $etag || die "$name: warm-up failed"
    callgrind_control -z "$pid" >/dev/null 2>&1
    python3 bench/keepalive_client.py "$port" "$REQUESTS" "$status" $etag || die "$name: requests failed"
    callgrind_control --dump="$name" "$pid" >/dev/null 2>&1
    local dump
    for _ in $(seq 1 50); do
        dump="$(ls "$TMP"/callgrind."$pid".* 2>/dev/null | tail -n 1 || true)"
        [[ -n "$dump" ]] && grep -q '^totals:' "$dump" && break
        sleep 0.2
    done
    local total
    total="$(awk '/^totals:/ {print $2}' "$dump")"
    mv "$dump" "$TMP/$name.callgrind"
    echo $((total / REQUESTS))
}

# The asset: its content is irrelevant to serving, its name is its key (src/assets/key.rs).
head -c 41520 /dev/urandom >"$TMP/asset.webp"
ASSET_KEY="$(sha256sum "$TMP/asset.webp" | cut -c1-32)"
ASSET_PATH="/assets/$ASSET_KEY.webp"
mkdir -p "$TMP/store/assets"
cp "$TMP/asset.webp" "$TMP/store/assets/$ASSET_KEY.webp"

log "starting the gateway under callgrind on port $APP_PORT"
env -u IGW__REDIS__URL IGW_ENV=local IGW_CONFIG_DIR="$ROOT/config" IGW__SERVER__HOST=127.0.0.1 \
    IGW__SERVER__PORT="$APP_PORT" IGW__LOG__FORMAT=json RUST_LOG=info IGW__ASSETS__ENABLED=false \
    IGW__ASSETS__STORE=fs IGW__ASSETS__PATH="$TMP/store" \
    IGW__ADMIN__TOKEN="instructions-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    valgrind --tool=callgrind --callgrind-out-file="$TMP/callgrind.%p" \
    "$OUT/instagram-gateway" >"$TMP/app.log" 2>&1 &
APP_PID=$!
PIDS+=("$APP_PID")
wait_for "http://127.0.0.1:$APP_PORT/images?limit=20"
curl -s -H 'Accept-Encoding: identity' -o "$TMP/body.json" -D "$TMP/headers" \
    "http://127.0.0.1:$APP_PORT/images?limit=20"
ETAG="$(awk 'tolower($1) == "etag:" {print $2}' "$TMP/headers" | tr -d '\r')"
[[ -n "$ETAG" ]] || die "no ETag on the gateway's response"

log "starting the bare handler under callgrind on port $BARE_PORT"
valgrind --tool=callgrind --callgrind-out-file="$TMP/callgrind.%p" \
    "$OUT/examples/bench-baseline" "$BARE_PORT" "$TMP/body.json" "$ETAG" "$TMP/asset.webp" \
    >"$TMP/bare.log" 2>&1 &
BARE_PID=$!
PIDS+=("$BARE_PID")
wait_for "http://127.0.0.1:$BARE_PORT/images?limit=20"

log "counting $REQUESTS requests per server and path"
app_200="$(count app-200 "$APP_PID" "$APP_PORT" 200)"
app_304="$(count app-304 "$APP_PID" "$APP_PORT" 304 "$ETAG")"
bare_200="$(count bare-200 "$BARE_PID" "$BARE_PORT" 200)"
bare_304="$(count bare-304 "$BARE_PID" "$BARE_PORT" 304 "$ETAG")"
export KEEPALIVE_PATH="$ASSET_PATH"
app_a200="$(count app-asset-200 "$APP_PID" "$APP_PORT" 200)"
app_a304="$(count app-asset-304 "$APP_PID" "$APP_PORT" 304 "\"$ASSET_KEY\"")"
bare_a200="$(count bare-asset-200 "$BARE_PID" "$BARE_PORT" 200)"
bare_a304="$(count bare-asset-304 "$BARE_PID" "$BARE_PORT" 304 "\"$ASSET_KEY\"")"
unset KEEPALIVE_PATH

printf '\n== GET /images?limit=20: user-space instructions per request (callgrind, %s requests) ==\n' "$REQUESTS"
printf '%-8s %12s %12s %8s\n' path gateway bare ratio
for path in 200 304; do
    app_var="app_$path"; bare_var="bare_$path"
    awk -v p="$path" -v a="${!app_var}" -v b="${!bare_var}" \
        'BEGIN { printf "%-8s %12d %12d %8.2f\n", p, a, b, b / a }'
done
printf '\n== GET /assets/<key>.webp (41,520 bytes, hot) ==\n'
printf '%-8s %12s %12s %8s\n' path gateway bare ratio
for path in a200 a304; do
    app_var="app_$path"; bare_var="bare_$path"
    awk -v p="${path#a}" -v a="${!app_var}" -v b="${!bare_var}" \
        'BEGIN { printf "%-8s %12d %12d %8.2f\n", p, a, b, b / a }'
done
printf '(ratio = bare / gateway: the share of bare actix-web speed the gateway would reach if\n instructions were all; both also pay the same kernel time per request)\n'
