#!/usr/bin/env bash
# Benchmark of 100 accounts × 100 posts in one gateway process (issue #10): a release build in
# live mode against a fake Instagram (bench/fake_graph.py: OAuth token endpoint and Graph API,
# Python stdlib), in-memory store (or a private redis-server: BENCH_STORE=redis), re-hosting
# off, RUST_LOG=info, JSON logs.
#   1. creates 99 accounts besides `default` (POST /admin/accounts) and connects all of them the
#      way an operator does: POST /admin/accounts/{slug}/reauth, then the callback
#      GET /oauth/callback?code=code-<n>&state=<the authorize URL's state>;
#   2. waits until every account's feed holds all its posts (GET /admin/accounts);
#   3. reports the RSS at rest after the syncs (VmRSS), then measures with wrk, in one run and
#      alternating, `GET /images?limit=20` (the default account) and
#      `GET /accounts/<the 50th account>/images?limit=20`, and reports req/s, their ratio and the
#      RSS after the load.
#
# Usage: bench/accounts.sh          (from any directory; installs wrk and curl if absent)
#
# Environment (all optional):
#   MALLOC_ARENA_MAX=1    glibc malloc arenas of the app, as the container image sets it
#   BENCH_ACCOUNTS=100    accounts in all, `default` included (at most accounts.max, 100)
#   BENCH_POSTS=100       posts per account served by the fake
#   BENCH_STORE=memory    memory: the in-memory store (no redis.url), so the process also holds
#                         what Redis would; redis: a redis-server of its own on a free port
#                         (from 16390, no persistence, in the temp dir), its RSS reported apart
#   BENCH_SECONDS=8       length of each measured wrk run
#   BENCH_ROUNDS=2        measured rounds per endpoint (alternating); medians reported
#   BENCH_CONNECTIONS=64  wrk connections        BENCH_THREADS=2   wrk threads
#   BENCH_IDLE_SECS=5     rest after the last sync before the idle RSS is read
#   BENCH_SYNC_SECS=300   how long to wait for every account's feed
#   BENCH_APP_PORT=18090  first port tried for the app (next free one is used)
#   BENCH_STARTUP_SECS=30 how long to wait for the app's /healthz
#   BENCH_KEEP_TMP=1      keep the temp dir (app.log, fake.log, wrk outputs) and print its path
#   CARGO_TARGET_DIR      default target/bench (relative to the repository root)
#
# It reports and exits 0 whatever the figures; it exits non-zero when the setup fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ACCOUNTS="${BENCH_ACCOUNTS:-100}"
POSTS="${BENCH_POSTS:-100}"
SECONDS_PER_RUN="${BENCH_SECONDS:-8}"
ROUNDS="${BENCH_ROUNDS:-2}"
CONNS="${BENCH_CONNECTIONS:-64}"
THREADS="${BENCH_THREADS:-2}"
IDLE_SECS="${BENCH_IDLE_SECS:-5}"
SYNC_SECS="${BENCH_SYNC_SECS:-300}"
STARTUP_SECS="${BENCH_STARTUP_SECS:-30}"
STORE="${BENCH_STORE:-memory}"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

((ACCOUNTS >= 2 && ACCOUNTS <= 100)) || die "BENCH_ACCOUNTS must be 2 to 100 (accounts.max)"
((POSTS >= 20)) || die "BENCH_POSTS must be at least 20 (one page of limit=20)"
[[ "$STORE" == memory || "$STORE" == redis ]] || die "BENCH_STORE must be memory or redis"

# Account i (1-based) is `default` for i = 1 and bench-<i, 3 digits> otherwise; it connects the
# fake's user i (code-<i>, @bench.<i>).
slug_of() { if (($1 == 1)); then echo default; else printf 'bench-%03d' "$1"; fi; }
PROBE_INDEX=$(((ACCOUNTS + 1) / 2)) # the 50th of 100
PROBE_SLUG="$(slug_of "$PROBE_INDEX")"
PATH_DEFAULT="/images?limit=20"
PATH_ACCOUNT="/accounts/$PROBE_SLUG/images?limit=20"

# --- 1. tools --------------------------------------------------------------------------------
SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: install wrk and curl by hand"
    SUDO="sudo"
fi
command -v python3 >/dev/null || die "python3 is needed for the fake Instagram (bench/fake_graph.py)"
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
if [[ "$STORE" == redis ]] && ! command -v redis-server >/dev/null; then
    missing+=(redis-server)
fi
if ((${#missing[@]})); then
    log "installing: ${missing[*]}"
    { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
        || die "apt-get install ${missing[*]} failed"
fi
command -v wrk >/dev/null || die "wrk not found after install"
command -v curl >/dev/null || die "curl not found after install"

# --- 2. build ----------------------------------------------------------------------------------
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/bench}"
log "building (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cargo build --release --locked --bin instagram-gateway >&2 || die "cargo build failed"
case "$CARGO_TARGET_DIR" in
    /*) BIN="$CARGO_TARGET_DIR/release/instagram-gateway" ;;
    *) BIN="$ROOT/$CARGO_TARGET_DIR/release/instagram-gateway" ;;
esac
[[ -x "$BIN" ]] || die "no binary at $BIN"

# --- temp dir, cleanup -------------------------------------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/igw-bench-accounts.XXXXXX")"
APP_PID=""
FAKE_PID=""
REDIS_PID=""
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
    stop_pid "$FAKE_PID"
    stop_pid "$REDIS_PID"
    if [[ "${BENCH_KEEP_TMP:-0}" == 1 ]]; then
        log "kept $TMP (app.log, fake.log, accounts.json, wrk outputs)"
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
    local port="$1"
    for _ in $(seq 1 200); do
        if ! port_in_use "$port"; then
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
rss_kb() { # field [pid]
    awk -v k="$1:" '$1 == k { print $2 }' "/proc/${2:-$APP_PID}/status" 2>/dev/null || echo 0
}
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

# --- 3. the fake Instagram ---------------------------------------------------------------------
log "starting the fake Instagram (bench/fake_graph.py, $POSTS posts per user; log: $TMP/fake.log)"
python3 "$ROOT/bench/fake_graph.py" --posts "$POSTS" --port-file "$TMP/fake.port" \
    >"$TMP/fake.log" 2>&1 &
FAKE_PID=$!
deadline=$((SECONDS + 20))
until [[ -s "$TMP/fake.port" ]]; do
    if ! kill -0 "$FAKE_PID" 2>/dev/null || ((SECONDS >= deadline)); then
        cat "$TMP/fake.log" >&2 || true
        die "the fake Instagram did not come up"
    fi
    sleep 0.1
done
FAKE_URL="http://127.0.0.1:$(tr -d ' \n' <"$TMP/fake.port")"
[[ "$(status_of "$FAKE_URL/healthz")" == 200 ]] || die "the fake Instagram does not answer at $FAKE_URL"

# --- the store ----------------------------------------------------------------------------------
STORE_ENV=(-u IGW__REDIS__URL)
STORE_LABEL="in-memory store"
if [[ "$STORE" == redis ]]; then
    REDIS_PORT="$(free_port "${BENCH_REDIS_PORT:-16390}")"
    log "starting redis-server on 127.0.0.1:$REDIS_PORT (no persistence; log: $TMP/redis.log)"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
        --dir "$TMP" --logfile "$TMP/redis.log" --daemonize no >/dev/null 2>&1 &
    REDIS_PID=$!
    deadline=$((SECONDS + 10))
    until redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; do
        if ! kill -0 "$REDIS_PID" 2>/dev/null || ((SECONDS >= deadline)); then
            cat "$TMP/redis.log" >&2 2>/dev/null || true
            die "redis-server did not come up"
        fi
        sleep 0.1
    done
    STORE_ENV=(IGW__REDIS__URL="redis://127.0.0.1:$REDIS_PORT/")
    STORE_LABEL="Redis $(redis-server --version | sed -nE 's/.*v=([0-9.]+).*/\1/p') (its own process)"
fi

# --- 4. the app --------------------------------------------------------------------------------
APP_PORT="$(free_port "${BENCH_APP_PORT:-18090}")"
APP_URL="http://127.0.0.1:$APP_PORT"
ADMIN_TOKEN="bench-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
AUTH=(-H "Authorization: Bearer $ADMIN_TOKEN")
log "starting the app on $APP_URL (live mode against $FAKE_URL; log: $TMP/app.log)"
# By default the in-memory store (no redis.url), as bench/images.sh. Re-hosting off: the fake's picture URLs do not resolve. The admin rate limit off: the script
# makes a few hundred admin calls in a minute.
env "${STORE_ENV[@]}" \
    IGW_ENV=local \
    IGW_CONFIG_DIR="$ROOT/config" \
    IGW__SERVER__HOST=127.0.0.1 \
    IGW__SERVER__PORT="$APP_PORT" \
    IGW__INSTAGRAM__MODE=live \
    IGW__INSTAGRAM__CLIENT_ID=990602627938098 \
    IGW__INSTAGRAM__CLIENT_SECRET=bench-client-secret \
    IGW__INSTAGRAM__AUTHORIZE_URL="$FAKE_URL/oauth/authorize" \
    IGW__INSTAGRAM__TOKEN_URL="$FAKE_URL/oauth/access_token" \
    IGW__INSTAGRAM__GRAPH_URL="$FAKE_URL" \
    IGW__ASSETS__ENABLED=false \
    IGW__RATE_LIMIT__ADMIN_PER_MINUTE=0 \
    IGW__LOG__FORMAT=json \
    MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}" \
    IGW__ADMIN__TOKEN="$ADMIN_TOKEN" \
    RUST_LOG=info \
    "$BIN" >"$TMP/app.log" 2>&1 &
APP_PID=$!

deadline=$((SECONDS + STARTUP_SECS))
until [[ "$(status_of "$APP_URL/healthz")" == 200 ]]; do
    if ! kill -0 "$APP_PID" 2>/dev/null; then
        tail -n 30 "$TMP/app.log" >&2 || true
        die "the app exited during start-up"
    fi
    if ((SECONDS >= deadline)); then
        tail -n 30 "$TMP/app.log" >&2 || true
        die "GET /healthz did not answer 200 within ${STARTUP_SECS}s"
    fi
    sleep 0.25
done
RSS_START_KB="$(rss_kb VmRSS)"
LOG_LINES_STARTUP="$(wc -l <"$TMP/app.log" | tr -d ' ')"
log "app ready (RSS $(mb "$RSS_START_KB") MB, no account connected)"

# --- 5. accounts: add, connect, wait for the syncs --------------------------------------------
admin_call() { # name method path [curl args...] -> the body on stdout; dies unless 2xx
    local name="$1" verb="$2" path="$3"
    shift 3
    local out="$TMP/admin.out" code
    code="$(curl -s -o "$out" -w '%{http_code}' --max-time 10 -X "$verb" "${AUTH[@]}" "$@" \
        "$APP_URL$path" 2>/dev/null || true)"
    if [[ "$code" != 2* ]]; then
        cat "$out" >&2 2>/dev/null || true
        echo >&2
        tail -n 20 "$TMP/app.log" >&2 || true
        die "$name: $verb $path answered ${code:-nothing}"
    fi
    cat "$out"
}

log "adding $((ACCOUNTS - 1)) accounts besides default (POST /admin/accounts)"
for i in $(seq 2 "$ACCOUNTS"); do
    admin_call "add $i" POST /admin/accounts -H 'Content-Type: application/json' \
        -d "{\"slug\":\"$(slug_of "$i")\",\"label\":\"Bench account $i\"}" >/dev/null
done

log "connecting $ACCOUNTS accounts (reauth -> authorize_url's state -> /oauth/callback?code=code-<n>)"
CONNECT_START=$SECONDS
CONNECT_START_NS="$(date +%s%N)"
for i in $(seq 1 "$ACCOUNTS"); do
    slug="$(slug_of "$i")"
    reauth="$(admin_call "reauth $slug" POST "/admin/accounts/$slug/reauth")"
    state="$(sed -nE 's/.*"authorize_url":"[^"]*[?&]state=([^&"]*).*/\1/p' <<<"$reauth")"
    [[ -n "$state" ]] || die "reauth $slug: no state in $reauth"
    code="$(curl -s -o "$TMP/callback.out" -w '%{http_code}' --max-time 20 \
        "$APP_URL/oauth/callback?code=code-$i&state=$state" 2>/dev/null || true)"
    if [[ "$code" != 200 ]]; then
        cat "$TMP/callback.out" >&2 2>/dev/null || true
        echo >&2
        tail -n 20 "$TMP/app.log" >&2 || true
        die "callback for $slug answered ${code:-nothing}"
    fi
    grep -q "@bench.$i<" "$TMP/callback.out" || die "callback for $slug: not connected to @bench.$i"
done
CONNECT_SECS="$(awk -v a="$CONNECT_START_NS" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
log "all $ACCOUNTS connected in ${CONNECT_SECS}s; waiting for every feed to hold $POSTS posts"

# accounts_summary -> "synced accounts total_items errors" from GET /admin/accounts
accounts_summary() {
    admin_call "list" GET /admin/accounts >"$TMP/accounts.json"
    python3 - "$TMP/accounts.json" "$POSTS" <<'EOF'
import json, sys
accounts = json.load(open(sys.argv[1]))["accounts"]
want = int(sys.argv[2])
synced = sum(1 for a in accounts if a["feed"]["items"] == want)
items = sum(a["feed"]["items"] for a in accounts)
errors = sum(1 for a in accounts if a["feed"]["last_error"] or a["token"]["last_error"]
             or a["token"]["state"] != "valid")
print(synced, len(accounts), items, errors)
bad = [a for a in accounts if a["feed"]["last_error"] or a["token"]["last_error"]
       or a["token"]["state"] != "valid"]
print("; ".join(f'{a["slug"]}: token {a["token"]["state"]} ({a["token"]["last_error"]}), '
                f'feed {a["feed"]["items"]} posts ({a["feed"]["last_error"]})' for a in bad[:3]))
EOF
}
deadline=$((SECONDS + SYNC_SECS))
last=""
while :; do
    accounts_summary >"$TMP/summary"
    { read -r synced total items errors; read -r problems; } <"$TMP/summary"
    ((total == ACCOUNTS)) || die "GET /admin/accounts lists $total accounts, not $ACCOUNTS"
    ((synced == ACCOUNTS)) && break
    if [[ "$synced $errors" != "$last" ]]; then
        log "  $synced/$ACCOUNTS feeds complete ($items posts), $errors with an error or no valid token"
        [[ -z "$problems" ]] || log "    e.g. $problems"
        last="$synced $errors"
    fi
    if ((SECONDS >= deadline)); then
        python3 -c '
import json, sys
for a in json.load(open(sys.argv[1]))["accounts"]:
    if a["feed"]["items"] != int(sys.argv[2]) or a["feed"]["last_error"] or a["token"]["last_error"]:
        print(a["slug"], a["token"]["state"], a["feed"]["items"], a["feed"]["last_error"], a["token"]["last_error"])
' "$TMP/accounts.json" "$POSTS" | head -n 20 >&2
        grep -E '"level":"(WARN|ERROR)"' "$TMP/app.log" | tail -n 20 >&2 || true
        die "after ${SYNC_SECS}s only $synced/$ACCOUNTS feeds hold $POSTS posts"
    fi
    sleep 0.5
done
SYNC_SECS_TOOK=$((SECONDS - CONNECT_START))
log "every feed holds $POSTS posts ($items in all; ${SYNC_SECS_TOOK}s after the first connect)"

log "resting ${IDLE_SECS}s before reading the idle RSS"
sleep "$IDLE_SECS"
RSS_IDLE_KB="$(rss_kb VmRSS)"
HWM_IDLE_KB="$(rss_kb VmHWM)"
log "idle RSS $(mb "$RSS_IDLE_KB") MB (peak so far $(mb "$HWM_IDLE_KB") MB)"

# --- 6. verify both endpoints before measuring -------------------------------------------------
check_page() { # name path handle -> etag; dies unless 200 with 20 items of the right account
    local name="$1" path="$2" user="$3" etag n
    curl -sS --fail --max-time 5 -D "$TMP/$name.headers" -o "$TMP/$name.body" "$APP_URL$path" \
        || die "$name: GET $path failed"
    n="$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
items = d["data"]
assert all(i["username"] == sys.argv[2] for i in items), "posts of another account"
print(len(items))' "$TMP/$name.body" "$user")" || die "$name: unexpected body of GET $path"
    ((n == 20)) || die "$name: $n items in GET $path, not 20"
    etag="$(awk 'tolower($1)=="etag:" { sub(/^[^:]*:[ \t]*/, ""); sub(/\r$/, ""); print }' "$TMP/$name.headers")"
    [[ -n "$etag" ]] || die "$name: no ETag"
    [[ "$(status_of "$APP_URL$path" -H "If-None-Match: $etag")" == 304 ]] \
        || die "$name: no 304 for its own ETag"
    echo "$etag"
}
check_page default "$PATH_DEFAULT" bench.1 >/dev/null
check_page account "$PATH_ACCOUNT" "bench.$PROBE_INDEX" >/dev/null
BYTES_DEFAULT="$(wc -c <"$TMP/default.body" | tr -d ' ')"
BYTES_ACCOUNT="$(wc -c <"$TMP/account.body" | tr -d ' ')"
log "both endpoints answer 200 (20 posts of their account) and 304; bodies $BYTES_DEFAULT and $BYTES_ACCOUNT bytes"

# --- 7. measure --------------------------------------------------------------------------------
# run_wrk name url seconds -> prints "req_per_s p99_ms non2xx3xx socket_errors"
run_wrk() {
    local name="$1" url="$2" secs="$3"
    local out
    out="$(mktemp "$TMP/wrk-$name.XXXXXX")"
    wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" --latency "$url" >"$out" 2>&1 \
        || { cat "$out" >&2; die "wrk failed for $name"; }
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
run_wrk warm-default "$APP_URL$PATH_DEFAULT" 2 >/dev/null
run_wrk warm-account "$APP_URL$PATH_ACCOUNT" 2 >/dev/null

LOG_LINES_BEFORE="$(wc -l <"$TMP/app.log" | tr -d ' ')"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"
measure() { # key url
    local result
    result="$(run_wrk "$1" "$2" "$SECONDS_PER_RUN")" || exit 1
    record "$1" "$result"
}
for round in $(seq 1 "$ROUNDS"); do
    log "round $round/$ROUNDS (${SECONDS_PER_RUN}s each, -t$THREADS -c$CONNS)"
    # Alternate which goes first, so neither always follows the other.
    if ((round % 2)); then
        measure images "$APP_URL$PATH_DEFAULT"
        measure account "$APP_URL$PATH_ACCOUNT"
    else
        measure account "$APP_URL$PATH_ACCOUNT"
        measure images "$APP_URL$PATH_DEFAULT"
    fi
done
RSS_LOAD_KB="$(rss_kb VmRSS)"
HWM_LOAD_KB="$(rss_kb VmHWM)"
LOG_LINES_AFTER="$(wc -l <"$TMP/app.log" | tr -d ' ')"
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)"
# The start-up WARNs of a local run (no redis.url, no token_key) are not counted.
WARNINGS="$(tail -n +"$((LOG_LINES_STARTUP + 1))" "$TMP/app.log" | grep -cE '"level":"(WARN|ERROR)"' || true)"
UPSTREAM_CALLS="$(curl -s --max-time 5 "$FAKE_URL/stats" | tr -d '{}"' | sed 's/,/, /g; s/:/ /g')"
if [[ -n "$REDIS_PID" ]]; then
    REDIS_RSS_KB="$(rss_kb VmRSS "$REDIS_PID")"
    REDIS_USED="$(redis-cli -p "$REDIS_PORT" info memory | sed -nE 's/^used_memory_human:([^\r]*).*/\1/p')"
fi

# --- 8. summary --------------------------------------------------------------------------------
med_rps() { tr ' ' '\n' <<<"${RPS[$1]}" | grep . | median; }
med_p99() { tr ' ' '\n' <<<"${P99[$1]}" | grep . | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
pair_ratios() { # key-a key-b: the ratio of each round's pair
    local -a a b
    read -r -a a <<<"${RPS[$1]}"
    read -r -a b <<<"${RPS[$2]}"
    local i out=""
    for i in "${!a[@]}"; do out+="$(ratio "${a[$i]}" "${b[$i]}") "; done
    echo "${out% }"
}

{
    echo
    echo "== $ACCOUNTS accounts × $POSTS posts in one gateway (release, live mode against bench/fake_graph.py, $STORE_LABEL, re-hosting off, RUST_LOG=info, JSON logs) =="
    echo "connect: $ACCOUNTS × (reauth + callback) in ${CONNECT_SECS}s; every feed complete ${SYNC_SECS_TOOK}s after the first connect; $(nproc) CPUs"
    echo "wrk -t$THREADS -c$CONNS -d${SECONDS_PER_RUN}s, $ROUNDS round(s), alternating; bodies $BYTES_DEFAULT / $BYTES_ACCOUNT bytes"
    echo
    printf '%-44s %12s %12s %8s  %s\n' endpoint "req/s (med)" "p99 ms (med)" errors "req/s per round"
    for key in images account; do
        case "$key" in
            images) label="$PATH_DEFAULT" ;;
            account) label="$PATH_ACCOUNT" ;;
        esac
        errs=$((${BAD[$key]:-0} + ${ERRS[$key]:-0}))
        printf '%-44s %12.0f %12.2f %8s  %s\n' "$label" "$(med_rps "$key")" "$(med_p99 "$key")" \
            "$errs" "${RPS[$key]% }"
    done
    echo
    printf '%-44s %6s   (per round: %s)\n' "/accounts/$PROBE_SLUG/images ÷ /images:" \
        "$(ratio "$(med_rps account)" "$(med_rps images)")" "$(pair_ratios account images)"
    echo
    printf '%-44s %8s MB\n' "RSS at start-up, no account connected:" "$(mb "$RSS_START_KB")"
    printf '%-44s %8s MB   (peak so far %s MB)\n' "RSS idle, ${IDLE_SECS}s after the last sync:" \
        "$(mb "$RSS_IDLE_KB")" "$(mb "$HWM_IDLE_KB")"
    printf '%-44s %8s MB   (peak %s MB)\n' "RSS after the load:" "$(mb "$RSS_LOAD_KB")" "$(mb "$HWM_LOAD_KB")"
    if [[ -n "$REDIS_PID" ]]; then
        printf '%-44s %8s MB   (used_memory %s)\n' "redis-server RSS after the load:" \
            "$(mb "$REDIS_RSS_KB")" "$REDIS_USED"
    fi
    echo
    echo "upstream calls served by the fake in the whole run: ${UPSTREAM_CALLS:-n/a}"
    echo "app log lines written while measuring: $((LOG_LINES_AFTER - LOG_LINES_BEFORE)); WARN/ERROR lines after start-up: $WARNINGS"
    echo "load average before/after measuring: $LOAD_BEFORE / $LOAD_AFTER (other work on the machine skews the figures)"
    echo "targets (issue #10, reported, not asserted): RSS with 100 accounts <= 64 MB; /accounts/{slug}/images req/s = /images req/s"
}
