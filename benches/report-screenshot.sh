#!/usr/bin/env bash
# Renders the HTML reports in headless Chromium (Debian's package) and
# writes PNGs to look at: the conformance report of a run with planted
# faults (OUT.png), and the load report of a short run with replay probes,
# a planted fault and thresholds (OUT-load.png).
# Usage: benches/report-screenshot.sh [OUT.png]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-/tmp/tokenprobe-report.png}"
command -v chromium >/dev/null || apt-get install -y chromium >/dev/null
cargo build --quiet --locked
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
target/debug/tokenprobe check --mock strict --fault empty_error_body --fault race \
  --report "html=$WORK/report.html" >/dev/null || true
target/debug/tokenprobe load --mock strict --fault rotation_keeps_old --users 20 --ramp 2s \
  --run-time 6s --replay-rate 0.05 --mix refresh=9,password=1 \
  --threshold 'p99<20ms' --threshold 'refresh.p99<50ms' --threshold 'replay_accepted==0' \
  --report "html=$WORK/load.html" >/dev/null 2>&1 || true
shot() {
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$WORK/profile" --window-size="$3" \
    --screenshot="$2" "file://$1" 2>/dev/null
}
shot "$WORK/report.html" "$OUT" 1300,1800
shot "$WORK/load.html" "${OUT%.png}-load.png" 1100,2700
echo "report: $(wc -c <"$WORK/report.html") bytes; screenshot: $OUT"
echo "load report: $(wc -c <"$WORK/load.html") bytes; screenshot: ${OUT%.png}-load.png"
