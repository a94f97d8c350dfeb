#!/usr/bin/env bash
# Benchmark of hot assets (issue #9): `GET /assets/<key>.webp` of a ~40 KB WebP from a release
# build of the gateway (sandbox, `assets.store = "fs"` seeded with the file, warm in-process
# cache, RUST_LOG=info, JSON logs, every production middleware; the picture pipeline off, so
# that re-hosting the sandbox's own pictures does not run during the measure: /assets/ is
# served whatever `assets.enabled` says) against nginx serving the same
# file with the same caching headers, and against a bare actix-web handler serving the same bytes
# from memory (bench/baseline.rs: the limit of this stack, which copies every body into its write
# buffer where nginx uses sendfile), measured with wrk in one run, alternating the three.
# Target of the issue: the gateway at >= 0.9x nginx for the 200.
#
# Usage: bench/assets_serving.sh   (from any directory; installs wrk, nginx-light, curl and webp
#                                   (cwebp) if absent)
#
# Environment (all optional):
#   BENCH_SECONDS=8        length of each measured wrk run
#   BENCH_ROUNDS=3         measured rounds per path (alternating nginx / app); medians reported
#   BENCH_CONNECTIONS=64   wrk connections        BENCH_THREADS=2   wrk threads
#   BENCH_WEBP_WIDTH=640 BENCH_WEBP_QUALITY=90   the WebP: cwebp of a generated photo-like
#                          picture (bench-assets generate); the defaults give 41,520 bytes
#   BENCH_APP_PORT=18090   first port tried for the app (next free one is used)
#   BENCH_NGINX_PORT=18091 first port tried for nginx
#   BENCH_BARE_PORT=18092  first port tried for the bare actix-web handler
#   MALLOC_ARENA_MAX=1    glibc malloc arenas of the app, as the container image sets it
#   BENCH_KEEP_TMP=1       keep the temp dir (server logs, nginx config, wrk outputs)
#   CARGO_TARGET_DIR       default target/bench (shared with bench/images.sh)
#
# It reports and exits 0 whatever the figures; it exits non-zero when the setup fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SECONDS_PER_RUN="${BENCH_SECONDS:-8}"
ROUNDS="${BENCH_ROUNDS:-3}"
CONNS="${BENCH_CONNECTIONS:-64}"
THREADS="${BENCH_THREADS:-2}"
WEBP_WIDTH="${BENCH_WEBP_WIDTH:-640}"
WEBP_QUALITY="${BENCH_WEBP_QUALITY:-90}"
CACHE_CONTROL="public, max-age=31536000, immutable"

log() { printf '[assets-serving] %s\n' "$*" >&2; }
die() { printf '[assets-serving] ERROR: %s\n' "$*" >&2; exit 1; }

# --- 1. tools --------------------------------------------------------------------------------
SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: install wrk, nginx-light, curl, webp by hand"
    SUDO="sudo"
fi
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
command -v cwebp >/dev/null || missing+=(webp)
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
for tool in wrk curl cwebp sha256sum; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

# --- 2. build ----------------------------------------------------------------------------------
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/bench}"
log "building (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cargo build --release --locked --bin instagram-gateway --example bench-assets \
    --example bench-baseline >&2 \
    || die "cargo build failed"
case "$CARGO_TARGET_DIR" in
    /*) OUT="$CARGO_TARGET_DIR/release" ;;
    *) OUT="$ROOT/$CARGO_TARGET_DIR/release" ;;
esac
BIN="$OUT/instagram-gateway"
PICTURES_BIN="$OUT/examples/bench-assets"
BARE_BIN="$OUT/examples/bench-baseline"
[[ -x "$BIN" ]] || die "no binary at $BIN"
[[ -x "$PICTURES_BIN" ]] || die "no binary at $PICTURES_BIN"

# --- temp dir, cleanup -------------------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/igw-assets-serving.XXXXXX")"
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
status_of() { # url [extra curl args...]
    local url="$1"
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url" 2>/dev/null || true
}
header_of() { # file name
    awk -v name="$(tr '[:upper:]' '[:lower:]' <<<"$2"):" \
        'tolower($1) == name { sub(/^[^:]*:[ \t]*/, ""); sub(/\r$/, ""); print }' "$1"
}

# --- 3. the picture: a photo-like WebP, stored under its content key --------------------------
"$PICTURES_BIN" generate "$TMP/source" 1 >/dev/null
cwebp -quiet -q "$WEBP_QUALITY" -resize "$WEBP_WIDTH" 0 "$TMP"/source/*.jpg -o "$TMP/picture.webp" \
    || die "cwebp failed"
BODY_BYTES="$(wc -c <"$TMP/picture.webp" | tr -d ' ')"
# The gateway's key: the first 128 bits of the SHA-256, in hex (src/assets/key.rs).
KEY="$(sha256sum "$TMP/picture.webp" | cut -c1-32)"
PATH_A="/assets/$KEY.webp"
mkdir -p "$TMP/store/assets" "$TMP/www/assets"
cp "$TMP/picture.webp" "$TMP/store/assets/$KEY.webp"
cp "$TMP/picture.webp" "$TMP/www/assets/$KEY.webp"
log "picture: $BODY_BYTES bytes, ${WEBP_WIDTH} px wide, q$WEBP_QUALITY, key $KEY"

# --- 4. the app --------------------------------------------------------------------------------
APP_PORT="$(free_port "${BENCH_APP_PORT:-18090}")"
APP_URL="http://127.0.0.1:$APP_PORT"
log "starting the app on $APP_URL (log: $TMP/app.log)"
env -u IGW__REDIS__URL \
    IGW_ENV=local \
    IGW_CONFIG_DIR="$ROOT/config" \
    IGW__SERVER__HOST=127.0.0.1 \
    IGW__SERVER__PORT="$APP_PORT" \
    IGW__INSTAGRAM__MODE=sandbox \
    IGW__LOG__FORMAT=json \
    MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}" \
    IGW__ADMIN__TOKEN="bench-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    IGW__ASSETS__STORE=fs \
    IGW__ASSETS__PATH="$TMP/store" \
    IGW__ASSETS__ENABLED=false \
    RUST_LOG=info \
    "$BIN" >"$TMP/app.log" 2>&1 &
APP_PID=$!
deadline=$((SECONDS + 30))
until [[ "$(status_of "$APP_URL$PATH_A")" == 200 ]]; do
    if ! kill -0 "$APP_PID" 2>/dev/null || ((SECONDS >= deadline)); then
        tail -n 30 "$TMP/app.log" >&2 || true
        die "GET $PATH_A did not answer 200"
    fi
    sleep 0.25
done

# --- 5. the yardstick: nginx serving the same file with the same caching headers -------------
NGINX_PORT="$(free_port "${BENCH_NGINX_PORT:-18091}" "$APP_PORT")"
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
    types { image/webp webp; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $TMP/www;
        location ~ "^/assets/[0-9a-f]{32}\.webp\$" {
            etag on;
            add_header Cache-Control "$CACHE_CONTROL";
            add_header Cross-Origin-Resource-Policy cross-origin;
            add_header X-Content-Type-Options nosniff;
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
until [[ "$(status_of "$NGINX_URL$PATH_A")" == 200 ]]; do
    if ! kill -0 "$NGINX_PID" 2>/dev/null || ((SECONDS >= deadline)); then
        cat "$TMP/nginx.out" "$TMP/error.log" >&2 2>/dev/null || true
        die "nginx did not come up"
    fi
    sleep 0.1
done

# --- the stack's own limit: a bare actix-web handler serving the bytes from memory --------------
BARE_PORT="$(free_port "${BENCH_BARE_PORT:-18092}" "$NGINX_PORT")"
BARE_URL="http://127.0.0.1:$BARE_PORT"
log "starting the bare actix-web handler on $BARE_URL"
MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}" \
    "$BARE_BIN" "$BARE_PORT" "$TMP/picture.webp" '"-"' "$TMP/picture.webp" >"$TMP/bare.log" 2>&1 &
BARE_PID=$!
deadline=$((SECONDS + 10))
until [[ "$(status_of "$BARE_URL$PATH_A")" == 200 ]]; do
    if ! kill -0 "$BARE_PID" 2>/dev/null || ((SECONDS >= deadline)); then
        cat "$TMP/bare.log" >&2 2>/dev/null || true
        die "the bare handler did not come up"
    fi
    sleep 0.1
done

# --- verify all three before measuring ---------------------------------------------------------
for server in app nginx bare; do
    case "$server" in
        app) url="$APP_URL$PATH_A" ;;
        nginx) url="$NGINX_URL$PATH_A" ;;
        bare) url="$BARE_URL$PATH_A" ;;
    esac
    curl -sS --fail --max-time 5 -D "$TMP/$server.headers" -o "$TMP/$server.body" "$url" \
        || die "cannot fetch from $server"
    cmp -s "$TMP/$server.body" "$TMP/picture.webp" || die "$server does not serve the same bytes"
    [[ "$(header_of "$TMP/$server.headers" content-type)" == image/webp ]] \
        || die "$server: not image/webp"
    [[ "$(header_of "$TMP/$server.headers" cache-control)" == "$CACHE_CONTROL" ]] \
        || die "$server: wrong Cache-Control"
    [[ "$(header_of "$TMP/$server.headers" cross-origin-resource-policy)" == cross-origin ]] \
        || die "$server: no Cross-Origin-Resource-Policy"
done
APP_ETAG="$(header_of "$TMP/app.headers" etag)"
NGINX_ETAG="$(header_of "$TMP/nginx.headers" etag)"
[[ "$APP_ETAG" == "\"$KEY\"" ]] || die "the app's ETag is not the key: $APP_ETAG"
[[ -n "$NGINX_ETAG" ]] || die "nginx sent no ETag"
[[ "$(status_of "$APP_URL$PATH_A" -H "If-None-Match: $APP_ETAG")" == 304 ]] || die "app: no 304"
[[ "$(status_of "$NGINX_URL$PATH_A" -H "If-None-Match: $NGINX_ETAG")" == 304 ]] || die "nginx: no 304"
[[ "$(status_of "$BARE_URL$PATH_A" -H "If-None-Match: $APP_ETAG")" == 304 ]] || die "bare: no 304"
log "all three serve the same $BODY_BYTES bytes with the same caching headers, and 304"

# --- 6. measure --------------------------------------------------------------------------------
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
measure() { # key url [header]
    local result rps p99 bad errs
    result="$(run_wrk "$1" "$2" "$SECONDS_PER_RUN" "${3:-}")" || exit 1
    read -r rps p99 bad errs <<<"$result"
    RPS[$1]+="$rps "
    P99[$1]+="$p99 "
    BAD[$1]=$((${BAD[$1]:-0} + bad))
    ERRS[$1]=$((${ERRS[$1]:-0} + errs))
    log "  $1: $rps req/s, p99 $p99 ms"
}

log "warming up (2 s each)"
run_wrk warm-nginx "$NGINX_URL$PATH_A" 2 >/dev/null
run_wrk warm-app "$APP_URL$PATH_A" 2 >/dev/null
run_wrk warm-bare "$BARE_URL$PATH_A" 2 >/dev/null
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"
for round in $(seq 1 "$ROUNDS"); do
    log "round $round/$ROUNDS (${SECONDS_PER_RUN}s each, -t$THREADS -c$CONNS)"
    measure nginx-200 "$NGINX_URL$PATH_A"
    measure bare-200 "$BARE_URL$PATH_A"
    measure app-200 "$APP_URL$PATH_A"
    measure nginx-304 "$NGINX_URL$PATH_A" "If-None-Match: $NGINX_ETAG"
    measure bare-304 "$BARE_URL$PATH_A" "If-None-Match: $APP_ETAG"
    measure app-304 "$APP_URL$PATH_A" "If-None-Match: $APP_ETAG"
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"
APP_RSS_KB="$(awk '/^VmRSS:/ { print $2 }' "/proc/$APP_PID/status" 2>/dev/null || echo 0)"
METRICS="$(curl -sS --max-time 5 "$APP_URL/metrics" || true)"
store_reads="$(awk '/^igw_asset_store_reads_total\{outcome="found"\}/ { print $2 }' <<<"$METRICS")"

# --- 7. summary --------------------------------------------------------------------------------
med_rps() { tr ' ' '\n' <<<"${RPS[$1]}" | grep . | median; }
med_p99() { tr ' ' '\n' <<<"${P99[$1]}" | grep . | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
pair_ratios() {
    local -a a n
    read -r -a a <<<"${RPS[$1]}"
    read -r -a n <<<"${RPS[$2]}"
    local i out=""
    for i in "${!a[@]}"; do out+="$(ratio "${a[$i]}" "${n[$i]}") "; done
    echo "${out% }"
}
{
    echo
    echo "== GET /assets/<key>.webp: app (release, fs store, warm cache, RUST_LOG=info, JSON logs) vs bare actix-web vs nginx (sendfile) =="
    echo "body: $BODY_BYTES bytes; wrk -t$THREADS -c$CONNS -d${SECONDS_PER_RUN}s, $ROUNDS round(s), alternating; $(nproc) CPUs"
    echo
    printf '%-10s %12s %12s %8s  %s\n' endpoint "req/s (med)" "p99 ms (med)" errors "req/s per round"
    for key in nginx-200 bare-200 app-200 nginx-304 bare-304 app-304; do
        errs=$((${BAD[$key]:-0} + ${ERRS[$key]:-0}))
        printf '%-10s %12.0f %12.2f %8s  %s\n' "$key" "$(med_rps "$key")" "$(med_p99 "$key")" \
            "$errs" "${RPS[$key]% }"
    done
    echo
    for code in 200 304; do
        printf '%-18s %6s   (per round: %s)\n' "app/nginx $code:" \
            "$(ratio "$(med_rps app-$code)" "$(med_rps nginx-$code)")" "$(pair_ratios app-$code nginx-$code)"
        printf '%-18s %6s   (per round: %s)\n' "app/bare $code:" \
            "$(ratio "$(med_rps app-$code)" "$(med_rps bare-$code)")" "$(pair_ratios app-$code bare-$code)"
        printf '%-18s %6s\n' "bare/nginx $code:" "$(ratio "$(med_rps bare-$code)" "$(med_rps nginx-$code)")"
    done
    echo
    echo "app store reads during the run: ${store_reads:-?} (1: every request after the first from memory)"
    echo "app RSS after the load: $((APP_RSS_KB / 1024)) MB"
    echo "load average before/after measuring: $LOAD_BEFORE / $LOAD_AFTER"
    echo "target (issue #9): app/nginx 200 >= 0.90"
}
