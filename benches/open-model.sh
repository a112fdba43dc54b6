#!/usr/bin/env bash
# The open model beside the closed one, on one core, against the static
# token server of benches/wrk/ (server on core 0, generator on core 1).
#
# Each round measures the closed model's rate (CONNS users; the static
# server's one fixed token: no rotation to follow, no probes), then runs the open model at FRACTION of it
# (--arrival-rate, --max-in-flight IN_FLIGHT) in the same minute, and
# prints what the open model kept of its schedule: iterations scheduled,
# dropped, the rate achieved, and the corrected percentiles (measured from
# each iteration's due time) beside the raw ones (from when it was sent).
#
# Usage: benches/open-model.sh [SECONDS_PER_RUN=5] [ROUNDS=3]
# Env: CONNS (default 32), FRACTION (default 0.8), IN_FLIGHT (default 64).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-5}"
ROUNDS="${2:-3}"
CONNS="${CONNS:-32}"
FRACTION="${FRACTION:-0.8}"
IN_FLIGHT="${IN_FLIGHT:-64}"
HERE="$PWD/benches/wrk"
source "$HERE/lib.sh"
need_package nginx nginx-light
cargo build --release --locked --quiet
BIN="$PWD/target/release/tokenprobe"
WORK="$(mktemp -d)"
PORT=18495
ensure_port_free "$PORT"
cleanup() {
  BENCH_STATE="$WORK/nginx" "$HERE/static-token-server.sh" stop "$PORT" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
BENCH_STATE="$WORK/nginx" taskset -c 0 "$HERE/static-token-server.sh" start "$PORT" >/dev/null
static_target "$PORT" "$WORK/static.yaml"

load() {
  taskset -c 1 "$BIN" load --target "$WORK/static.yaml" --ramp 0s --run-time "${SECS}s" \
    --report "json=$WORK/run.json" "$@" >/dev/null 2>&1 || true
}

echo "$(date -u +%Y-%m-%d), $(nproc) cores; server on core 0, generator on core 1; ${SECS}s runs"
echo "closed: $CONNS users; open: ${FRACTION} of that round's closed rate, $IN_FLIGHT in flight"
echo
echo "| round | closed req/s | open offered/s | achieved/s | scheduled | dropped | p50 raw → corrected (µs) | p99 raw → corrected (µs) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for ((r = 1; r <= ROUNDS; r++)); do
  load --users "$CONNS"
  closed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["rps"])' "$WORK/run.json")
  rate=$(awk -v c="$closed" -v f="$FRACTION" 'BEGIN { printf "%d", c * f }')
  load --arrival-rate "$rate/s" --max-in-flight "$IN_FLIGHT"
  python3 - "$WORK/run.json" "$r" "$closed" "$rate" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["totals"]
raw, cor = d["latency_us"]["refresh"], d["latency_us_corrected"]["refresh"]
def pair(q):
    return f"{raw[q]} → {cor[q]} ({cor[q] / raw[q] - 1:+.0%})"
print(f"| {sys.argv[2]} | {float(sys.argv[3]):.0f} | {sys.argv[4]} | {t['rps']:.0f} | {t['scheduled']} "
      f"| {t['dropped']} ({t['dropped'] / max(t['scheduled'], 1):.2%}) | {pair('p50')} | {pair('p99')} |")
PY
done
