#!/usr/bin/env bash
# The memory of the sessions model: `tokenprobe load --sessions N` against
# the static token server of benches/wrk/ (every session logged in and
# holding its tokens by the end of the ramp), its peak resident set from
# /usr/bin/time. The issue's bound: one million sessions under 500 MB.
#
# Usage: benches/sessions-memory.sh [SESSIONS=1000000] [RAMP_S=40]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
RAMP="${2:-40}"
HERE="$PWD/benches/wrk"
source "$HERE/lib.sh"
need_package nginx nginx-light
[[ -x /usr/bin/time ]] || need_package time time
cargo build --release --locked --quiet
BIN="$PWD/target/release/tokenprobe"
WORK="$(mktemp -d)"
PORT=18495
cleanup() {
  BENCH_STATE="$WORK/nginx" "$HERE/static-token-server.sh" stop "$PORT" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
BENCH_STATE="$WORK/nginx" taskset -c 0 "$HERE/static-token-server.sh" start "$PORT" >/dev/null
static_target "$PORT" "$WORK/static.yaml"
/usr/bin/time -f '%M %e' -o "$WORK/time" taskset -c 1 "$BIN" load --target "$WORK/static.yaml" \
  --sessions "$N" --ramp "${RAMP}s" --run-time "$((RAMP + 10))s" --max-in-flight 64 \
  --report "json=$WORK/s.json" >/dev/null 2>&1
python3 - "$WORK/time" "$WORK/s.json" "$N" <<'PY'
import json, sys
kb, secs = open(sys.argv[1]).read().split()[-2:]
r = json.load(open(sys.argv[2]))
t = r["totals"]
n = int(sys.argv[3])
print(f"{n} sessions: peak RSS {int(kb) / 1024:.0f} MiB over {float(secs):.0f} s; "
      f"{t['requests']} requests ({t['failures']} failed), {r.get('sessions_started', t.get('started', '?'))} started")
PY
