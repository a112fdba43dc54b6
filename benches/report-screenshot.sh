#!/usr/bin/env bash
# Renders the HTML conformance report of a run with planted faults in
# headless Chromium (Debian's package) and writes a PNG to look at.
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
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$WORK/profile" --window-size=1300,1800 \
  --screenshot="$OUT" "file://$WORK/report.html" 2>/dev/null
echo "report: $(wc -c <"$WORK/report.html") bytes; screenshot: $OUT"
