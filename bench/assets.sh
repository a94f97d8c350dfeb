#!/usr/bin/env bash
# Benchmark of the picture processing step (issue #9): photo-like JPEGs of Instagram's shapes
# (1080x1350, 1080x1080, 1080x566) to WebP copies 320, 640 and 1080 px wide at quality 80, by
# the gateway's `assets::process` (which also computes a ThumbHash) and by `vipsthumbnail`
# (libvips, the fastest widely used thumbnailer) making the same copies, on the same files and
# the same number of threads (vipsthumbnail makes one width per run, so it reads each source
# three times, shrinking on load). Reports pictures per second, the ratio, bytes, peak RSS and
# the copies' quality (PSNR; the issue's floors: 36 dB for the widest, 33 dB for the others).
#
# Usage: bench/assets.sh        (from any directory; installs libvips-tools if absent)
# Environment: BENCH_PICTURES=200, BENCH_THREADS=2,
#   CARGO_TARGET_DIR (default target/bench, shared with bench/images.sh)
# It reports and exits 0 whatever the figures; it exits non-zero when the setup fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PICTURES="${BENCH_PICTURES:-200}"
THREADS="${BENCH_THREADS:-2}"
WIDTHS=(320 640 1080)
log() { printf '[assets] %s\n' "$*" >&2; }
die() { printf '[assets] ERROR: %s\n' "$*" >&2; exit 1; }

if ! command -v vipsthumbnail >/dev/null; then
    SUDO=""
    [[ "$(id -u)" -eq 0 ]] || SUDO="sudo"
    log "installing libvips-tools"
    { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends libvips-tools >/dev/null; } \
        || die "apt-get install libvips-tools failed"
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/bench}"
log "building the example bench-assets (release, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cargo build --release --locked --example bench-assets >&2 || die "cargo build failed"
case "$CARGO_TARGET_DIR" in /*) OUT="$CARGO_TARGET_DIR/release" ;; *) OUT="$ROOT/$CARGO_TARGET_DIR/release" ;; esac
BIN="$OUT/examples/bench-assets"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/igw-assets.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
log "generating $PICTURES pictures in $TMP/in"
"$BIN" generate "$TMP/in" "$PICTURES"

# Peak RSS of a command, in KB, printed on the last line.
peak_rss() {
    python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

log "gateway: assets::process on $THREADS threads"
"$BIN" process "$TMP/in" "$THREADS" >/dev/null # warm the page cache
ours="$(peak_rss "$BIN" process "$TMP/in" "$THREADS")"
ours_line="$(head -n 1 <<<"$ours")"
ours_rss="$(tail -n 1 <<<"$ours")"
ours_seconds="$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$ours_line")"
copy_bytes="$(sed -n 's/.*copy_bytes=\([0-9]*\).*/\1/p' <<<"$ours_line")"
source_bytes="$(sed -n 's/.*source_bytes=\([0-9]*\).*/\1/p' <<<"$ours_line")"

log "vipsthumbnail: the same copies, $THREADS processes at a time"
mkdir -p "$TMP/vips"
ls "$TMP"/in/*.jpg >"$TMP/files"
split -n "l/$THREADS" "$TMP/files" "$TMP/part."
vips_started="$(date +%s.%N)"
for width in "${WIDTHS[@]}"; do
    for part in "$TMP"/part.*; do
        # shellcheck disable=SC2046 # one argument per file
        vipsthumbnail --size "${width}x" -o "$TMP/vips/%s-$width.webp[Q=80]" $(cat "$part") &
    done
    wait
done
vips_seconds="$(awk -v a="$vips_started" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"
vips_bytes="$(cat "$TMP"/vips/*.webp | wc -c)"

awk -v n="$PICTURES" -v o="$ours_seconds" -v v="$vips_seconds" -v ob="$copy_bytes" \
    -v vb="$vips_bytes" -v sb="$source_bytes" -v rss="$ours_rss" -v t="$THREADS" 'BEGIN {
    printf "\n== %d pictures -> WebP 320/640/1080 q80, %d threads ==\n", n, t
    printf "%-28s %10.1f pictures/s  (%.2f s)\n", "gateway (assets::process)", n / o, o
    printf "%-28s %10.1f pictures/s  (%.2f s)\n", "vipsthumbnail", n / v, v
    printf "gateway / vips:              %.2f   (issue #9 target >= 1.0)\n", v / o
    printf "copies / source bytes:       %.2f gateway, %.2f vips\n", ob / sb, vb / sb
    printf "gateway peak RSS:            %d MB\n", rss / 1024
}'

log "quality of the copies (PSNR) on the first 20 pictures"
printf '\nPSNR of the copies (dB; widest against the source, others against a Lanczos3 downscale):\n'
"$BIN" quality "$TMP/in" 20
