#!/usr/bin/env bash
# Benchmark of the hot path: `GET /images?limit=20` (200 and 304) of a release build of the
# gateway (sandbox upstream, in-memory store, RUST_LOG=info, JSON logs, production middleware),
# measured with wrk in one run, alternating three servers that serve the very same bytes (both
# actix-web servers with MALLOC_ARENA_MAX=1, as the container image runs the gateway):
#   nginx      a static file (the classic yardstick; varies a lot between machines)
#   bare       a bare actix-web handler, same actix-web version and headers (bench/baseline.rs):
#              the limit of this stack on this machine, the ratio that carries over
#   app        the gateway with every production middleware
#
# Usage: bench/images.sh            (from any directory; installs wrk, nginx-light, curl if absent)
#
# Environment (all optional):
#   BENCH_SECONDS=8       length of each measured wrk run
#   BENCH_ROUNDS=2        measured rounds per endpoint (alternating nginx / app); medians reported
#   BENCH_CONNECTIONS=64  wrk connections        BENCH_THREADS=2   wrk threads
#   BENCH_APP_PORT=18080  first port tried for the app (next free one is used)
#   BENCH_NGINX_PORT=18081  first port tried for nginx
#   BENCH_BARE_PORT=18082   first port tried for the bare actix-web handler
#   BENCH_STARTUP_SECS=30 how long to wait for the app's first 200
#   MALLOC_ARENA_MAX=1    glibc malloc arenas of the app, as the container image sets it
#   BENCH_KEEP_TMP=1      keep the temp dir (server logs, nginx config) and print its path
#   CARGO_TARGET_DIR      default target/bench (relative to the repository root)
#
# It reports and exits 0 whatever the figures; it exits non-zero when the setup fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SECONDS_PER_RUN="${BENCH_SECONDS:-8}"
ROUNDS="${BENCH_ROUNDS:-2}"
CONNS="${BENCH_CONNECTIONS:-64}"
THREADS="${BENCH_THREADS:-2}"
STARTUP_SECS="${BENCH_STARTUP_SECS:-30}"
PATH_Q="/images?limit=20"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

# --- 1. tools --------------------------------------------------------------------------------
SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: install wrk, nginx-light, curl by hand"
    SUDO="sudo"
fi

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
    missing+=(nginx-light)
fi
if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    # Keep the package's postinst from starting a system-wide nginx on port 80.
    temp_policy=""
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        temp_policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$temp_policy" >/dev/null
        $SUDO chmod 755 "$temp_policy"
    fi
    install_rc=0
    { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } || install_rc=$?
    [[ -n "$temp_policy" ]] && $SUDO rm -f "$temp_policy"
    ((install_rc == 0)) || die "apt-get install ${missing[*]} failed"
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[[ -x "$NGINX" ]] || die "nginx not found after install"
command -v wrk >/dev/null || die "wrk not found after install"
command -v curl >/dev/null || die "curl not found after install"

# --- 2. build ----------------------------------------------------------------------------------
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/bench}"
log "building (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cargo build --release --locked --bin instagram-gateway --example bench-baseline >&2 \
    || die "cargo build failed"
case "$CARGO_TARGET_DIR" in
    /*) OUT="$CARGO_TARGET_DIR/release" ;;
    *) OUT="$ROOT/$CARGO_TARGET_DIR/release" ;;
esac
BIN="$OUT/instagram-gateway"
BARE_BIN="$OUT/examples/bench-baseline"
[[ -x "$BIN" ]] || die "no binary at $BIN"
[[ -x "$BARE_BIN" ]] || die "no binary at $BARE_BIN"

# --- temp dir, cleanup -------------------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/igw-bench.XXXXXX")"
APP_PID=""
NGINX_PID=""
BARE_PID=""
stop_pid() {
    local pid="$1"
    [[ -n "$pid" ]] || return 0
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$APP_PID"
    stop_pid "$NGINX_PID"
    stop_pid "$BARE_PID"
    if [[ "${BENCH_KEEP_TMP:-0}" == 1 ]]; then
        log "kept $TMP (app.log, nginx.conf, error.log, wrk outputs)"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
    local port="$1" avoid="${2:-}"
    for _ in $(seq 1 200); do
        if [[ "$port" != "$avoid" ]] && ! port_in_use "$port"; then
            echo "$port"
            return 0
        fi
        port=$((port + 1))
    done
    die "no free port found from $1"
}

# --- 3. the app --------------------------------------------------------------------------------
APP_PORT="$(free_port "${BENCH_APP_PORT:-18080}")"
APP_URL="http://127.0.0.1:$APP_PORT"
ADMIN_TOKEN="bench-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
log "starting the app on $APP_URL (log: $TMP/app.log)"
# Re-hosting off: the sandbox's pictures would switch to their copies one by one during the
# run, changing the body; this measures the request path on one stable body.
env -u IGW__REDIS__URL \
    IGW_ENV=local \
    IGW_CONFIG_DIR="$ROOT/config" \
    IGW__SERVER__HOST=127.0.0.1 \
    IGW__SERVER__PORT="$APP_PORT" \
    IGW__INSTAGRAM__MODE=sandbox \
    IGW__ASSETS__ENABLED=false \
    IGW__LOG__FORMAT=json \
    MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}" \
    IGW__ADMIN__TOKEN="$ADMIN_TOKEN" \
    RUST_LOG=info \
    "$BIN" >"$TMP/app.log" 2>&1 &
APP_PID=$!

status_of() { # url [extra curl args...]
    local url="$1"
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url" 2>/dev/null || true
}

deadline=$((SECONDS + STARTUP_SECS))
code=""
while :; do
    if ! kill -0 "$APP_PID" 2>/dev/null; then
        tail -n 30 "$TMP/app.log" >&2 || true
        die "the app exited during start-up"
    fi
    code="$(status_of "$APP_URL$PATH_Q")"
    [[ "$code" == 200 ]] && break
    if ((SECONDS >= deadline)); then
        tail -n 30 "$TMP/app.log" >&2 || true
        die "GET $PATH_Q did not answer 200 within ${STARTUP_SECS}s (last status: ${code:-none})"
    fi
    sleep 0.25
done
log "app ready"

# --- 4. the yardstick: nginx serving the same bytes --------------------------------------------
mkdir -p "$TMP/www"
curl -sS --fail --max-time 5 -D "$TMP/app.headers" -o "$TMP/www/images" "$APP_URL$PATH_Q" \
    || die "cannot fetch $PATH_Q"
APP_ETAG="$(awk 'tolower($1)=="etag:" { sub(/^[^:]*:[ \t]*/, ""); sub(/\r$/, ""); print }' "$TMP/app.headers")"
[[ -n "$APP_ETAG" ]] || die "the app sent no ETag"
BODY_BYTES="$(wc -c <"$TMP/www/images" | tr -d ' ')"
((BODY_BYTES > 0)) || die "empty body"

NGINX_PORT="$(free_port "${BENCH_NGINX_PORT:-18081}" "$APP_PORT")"
NGINX_URL="http://127.0.0.1:$NGINX_PORT"
user_line=""
if [[ "$(id -u)" -eq 0 ]]; then
    # Workers of a root master would run as nobody, who cannot read the 0700 temp dir.
    user_line="user $(id -un) $(id -gn);"
fi
cat >"$TMP/nginx.conf" <<EOF
$user_line
worker_processes 2;
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $TMP/client_body;
    proxy_temp_path $TMP/proxy;
    fastcgi_temp_path $TMP/fastcgi;
    uwsgi_temp_path $TMP/uwsgi;
    scgi_temp_path $TMP/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $TMP/www;
        location = /images {
            default_type application/json;
            etag on;
            try_files /images =404;
        }
    }
}
EOF
"$NGINX" -t -q -p "$TMP" -e "$TMP/error.log" -c "$TMP/nginx.conf" 2>"$TMP/nginx-test.log" \
    || { cat "$TMP/nginx-test.log" >&2; die "nginx config test failed"; }
log "starting nginx on $NGINX_URL"
"$NGINX" -p "$TMP" -e "$TMP/error.log" -c "$TMP/nginx.conf" >"$TMP/nginx.out" 2>&1 &
NGINX_PID=$!
deadline=$((SECONDS + 10))
until [[ "$(status_of "$NGINX_URL$PATH_Q")" == 200 ]]; do
    if ! kill -0 "$NGINX_PID" 2>/dev/null || ((SECONDS >= deadline)); then
        cat "$TMP/nginx.out" "$TMP/error.log" >&2 2>/dev/null || true
        die "nginx did not come up"
    fi
    sleep 0.1
done

curl -sS --fail --max-time 5 -D "$TMP/nginx.headers" -o "$TMP/nginx.body" "$NGINX_URL$PATH_Q" \
    || die "cannot fetch from nginx"
cmp -s "$TMP/nginx.body" "$TMP/www/images" || die "nginx does not serve the same bytes"
NGINX_ETAG="$(awk 'tolower($1)=="etag:" { sub(/^[^:]*:[ \t]*/, ""); sub(/\r$/, ""); print }' "$TMP/nginx.headers")"
[[ -n "$NGINX_ETAG" ]] || die "nginx sent no ETag"

# --- the limit of the stack: a bare actix-web handler serving the same bytes -----------------
BARE_PORT="$(free_port "${BENCH_BARE_PORT:-18082}" "$APP_PORT")"
[[ "$BARE_PORT" == "$NGINX_PORT" ]] && BARE_PORT="$(free_port $((NGINX_PORT + 1)) "$APP_PORT")"
BARE_URL="http://127.0.0.1:$BARE_PORT"
log "starting the bare actix-web handler on $BARE_URL"
MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}" \
    "$BARE_BIN" "$BARE_PORT" "$TMP/www/images" "$APP_ETAG" >"$TMP/bare.log" 2>&1 &
BARE_PID=$!
deadline=$((SECONDS + 10))
until [[ "$(status_of "$BARE_URL$PATH_Q")" == 200 ]]; do
    if ! kill -0 "$BARE_PID" 2>/dev/null || ((SECONDS >= deadline)); then
        cat "$TMP/bare.log" >&2 2>/dev/null || true
        die "the bare handler did not come up"
    fi
    sleep 0.1
done
curl -sS --fail --max-time 5 -o "$TMP/bare.body" "$BARE_URL$PATH_Q" || die "cannot fetch from bare"
cmp -s "$TMP/bare.body" "$TMP/www/images" || die "the bare handler does not serve the same bytes"

# --- verify every endpoint before measuring ----------------------------------------------------
expect() { # name expected url [curl args...]
    local name="$1" want="$2" url="$3"
    shift 3
    local got
    got="$(status_of "$url" "$@")"
    [[ "$got" == "$want" ]] || die "$name: expected $want, got ${got:-no answer}"
}
curl -sS --fail --max-time 5 -o "$TMP/app.body2" "$APP_URL$PATH_Q" || die "app refetch failed"
cmp -s "$TMP/app.body2" "$TMP/www/images" || die "the app's body changed between two requests"
expect app-200 200 "$APP_URL$PATH_Q"
expect nginx-200 200 "$NGINX_URL$PATH_Q"
expect app-304 304 "$APP_URL$PATH_Q" -H "If-None-Match: $APP_ETAG"
expect nginx-304 304 "$NGINX_URL$PATH_Q" -H "If-None-Match: $NGINX_ETAG"
expect bare-200 200 "$BARE_URL$PATH_Q"
expect bare-304 304 "$BARE_URL$PATH_Q" -H "If-None-Match: $APP_ETAG"
log "endpoints answer 200/304 as expected; body $BODY_BYTES bytes, app ETag $APP_ETAG"

# --- 5. measure --------------------------------------------------------------------------------
# run_wrk name url seconds [header] -> prints "req_per_s p99_ms non2xx3xx socket_errors"
run_wrk() {
    local name="$1" url="$2" secs="$3" header="${4:-}"
    local out
    out="$(mktemp "$TMP/wrk-$name.XXXXXX")"
    local args=(-t"$THREADS" -c"$CONNS" -d"${secs}s" --latency)
    [[ -n "$header" ]] && args+=(-H "$header")
    wrk "${args[@]}" "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed for $name"; }
    awk '
        function ms(v) {
            if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
            if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
            if (v ~ /s$/)  return substr(v, 1, length(v) - 1) * 1000
            return v + 0
        }
        /Requests\/sec:/ { rps = $2 }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { bad = $NF }
        /Socket errors:/ { gsub(/,/, ""); errs = $4 + $6 + $8 + $10 }
        END { printf "%s %s %d %d\n", rps, p99, bad, errs }
    ' "$out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A RPS P99 BAD ERRS
record() { # key "rps p99 bad errs"
    local key="$1" rps p99 bad errs
    read -r rps p99 bad errs <<<"$2"
    RPS[$key]+="$rps "
    P99[$key]+="$p99 "
    BAD[$key]=$((${BAD[$key]:-0} + bad))
    ERRS[$key]=$((${ERRS[$key]:-0} + errs))
    local extra=""
    ((bad > 0)) && extra+=", non-2xx/3xx: $bad"
    ((errs > 0)) && extra+=", socket errors: $errs"
    log "  $key: $rps req/s, p99 $p99 ms$extra"
}

log "warming up (2 s each)"
run_wrk warm-nginx "$NGINX_URL$PATH_Q" 2 >/dev/null
run_wrk warm-app "$APP_URL$PATH_Q" 2 >/dev/null
run_wrk warm-nginx-304 "$NGINX_URL$PATH_Q" 2 "If-None-Match: $NGINX_ETAG" >/dev/null
run_wrk warm-app-304 "$APP_URL$PATH_Q" 2 "If-None-Match: $APP_ETAG" >/dev/null
run_wrk warm-bare "$BARE_URL$PATH_Q" 2 >/dev/null

LOG_LINES_BEFORE="$(wc -l <"$TMP/app.log" | tr -d ' ')"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"
measure() { # key url [header]
    local result
    result="$(run_wrk "$1" "$2" "$SECONDS_PER_RUN" "${3:-}")" || exit 1
    record "$1" "$result"
}
for round in $(seq 1 "$ROUNDS"); do
    log "round $round/$ROUNDS: 200 (${SECONDS_PER_RUN}s each, -t$THREADS -c$CONNS)"
    measure nginx-200 "$NGINX_URL$PATH_Q"
    measure bare-200 "$BARE_URL$PATH_Q"
    measure app-200 "$APP_URL$PATH_Q"
done
for round in $(seq 1 "$ROUNDS"); do
    log "round $round/$ROUNDS: 304"
    measure nginx-304 "$NGINX_URL$PATH_Q" "If-None-Match: $NGINX_ETAG"
    measure bare-304 "$BARE_URL$PATH_Q" "If-None-Match: $APP_ETAG"
    measure app-304 "$APP_URL$PATH_Q" "If-None-Match: $APP_ETAG"
done
APP_RSS_KB="$(awk '/^VmRSS:/ { print $2 }' "/proc/$APP_PID/status" 2>/dev/null || echo 0)"
APP_HWM_KB="$(awk '/^VmHWM:/ { print $2 }' "/proc/$APP_PID/status" 2>/dev/null || echo 0)"
LOG_LINES_AFTER="$(wc -l <"$TMP/app.log" | tr -d ' ')"
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"

# --- 6. summary --------------------------------------------------------------------------------
med_rps() { tr ' ' '\n' <<<"${RPS[$1]}" | grep . | median; }
med_p99() { tr ' ' '\n' <<<"${P99[$1]}" | grep . | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
pair_ratios() { # app-key nginx-key: the ratio of each round's pair
    local -a a n
    read -r -a a <<<"${RPS[$1]}"
    read -r -a n <<<"${RPS[$2]}"
    local i out=""
    for i in "${!a[@]}"; do out+="$(ratio "${a[$i]}" "${n[$i]}") "; done
    echo "${out% }"
}

{
    echo
    echo "== GET $PATH_Q: app (release, sandbox, in-memory store, RUST_LOG=info, JSON logs) vs bare actix-web vs nginx =="
    echo "response body: $BODY_BYTES bytes; wrk -t$THREADS -c$CONNS -d${SECONDS_PER_RUN}s, $ROUNDS round(s), alternating; $(nproc) CPUs"
    echo
    printf '%-10s %12s %12s %10s  %s\n' endpoint "req/s (med)" "p99 ms (med)" errors "req/s per round"
    for key in nginx-200 bare-200 app-200 nginx-304 bare-304 app-304; do
        errs=$((${BAD[$key]:-0} + ${ERRS[$key]:-0}))
        printf '%-10s %12.0f %12.2f %10s  %s\n' "$key" "$(med_rps "$key")" "$(med_p99 "$key")" \
            "$errs" "${RPS[$key]% }"
    done
    echo
    for code in 200 304; do
        printf '%-26s %6s   (per round: %s)\n' "app/bare $code:" \
            "$(ratio "$(med_rps app-$code)" "$(med_rps bare-$code)")" "$(pair_ratios app-$code bare-$code)"
        printf '%-26s %6s   (per round: %s)\n' "app/nginx $code:" \
            "$(ratio "$(med_rps app-$code)" "$(med_rps nginx-$code)")" "$(pair_ratios app-$code nginx-$code)"
        printf '%-26s %6s\n' "bare/nginx $code:" "$(ratio "$(med_rps bare-$code)" "$(med_rps nginx-$code)")"
    done
    printf '%-26s %6s\n' "app-304/app-200:" "$(ratio "$(med_rps app-304)" "$(med_rps app-200)")"
    printf '%-26s %6s\n' "nginx-304/nginx-200:" "$(ratio "$(med_rps nginx-304)" "$(med_rps nginx-200)")"
    echo
    echo "app RSS after the load: $((APP_RSS_KB / 1024)) MB (peak $((APP_HWM_KB / 1024)) MB)"
    echo "app log lines written while measuring: $((LOG_LINES_AFTER - LOG_LINES_BEFORE))"
    echo "load average before/after measuring: $LOAD_BEFORE / $LOAD_AFTER (other work on the machine skews the figures)"
    echo "targets (issue #8): app/bare 200 >= 0.95, app-304/app-200 >= 1.10, app RSS <= 32 MB"
}
