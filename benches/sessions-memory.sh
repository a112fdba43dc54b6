#!/usr/bin/env bash
# The memory of the sessions model: `tokenprobe load --sessions N` against
# the static token server of benches/wrk/ (every session logged in and
# holding its tokens by the end of the ramp), its peak resident set from
# /usr/bin/time, and what it holds above the tokens' own bytes.
#
# Usage: benches/sessions-memory.sh [SESSIONS=1000000] [RAMP_S=40]
# Env: UNIQUE=1 for real-size tokens: every answer a unique 707-byte refresh
# token and a 611-byte access token (the target declares rotation). The
# budget (issue 33): peak RSS at most the refresh tokens' bytes plus 250 MiB.
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
UNIQUE="${UNIQUE:-0}" BENCH_STATE="$WORK/nginx" taskset -c 0 "$HERE/static-token-server.sh" start "$PORT" >/dev/null
ROTATION=static TOKEN_BYTES=36
[[ "${UNIQUE:-0}" == 1 ]] && ROTATION=rotate TOKEN_BYTES=707
static_target "$PORT" "$WORK/static.yaml" http "$ROTATION"
/usr/bin/time -f '%M %e' -o "$WORK/time" taskset -c 1 "$BIN" load --target "$WORK/static.yaml" \
  --sessions "$N" --ramp "${RAMP}s" --run-time "$((RAMP + 10))s" --max-in-flight 64 \
  --report "json=$WORK/s.json" >/dev/null 2>&1
python3 - "$WORK/time" "$WORK/s.json" "$N" "$TOKEN_BYTES" <<'PY'
import json, sys
kb, secs = open(sys.argv[1]).read().split()[-2:]
r = json.load(open(sys.argv[2]))
t = r["totals"]
n, token = int(sys.argv[3]), int(sys.argv[4])
peak = int(kb) / 1024
tokens = n * token / 2**20
print(f"{n} sessions, {token}-byte refresh tokens: peak RSS {peak:.0f} MiB over {float(secs):.0f} s; "
      f"the tokens' bytes {tokens:.0f} MiB, the rest {peak - tokens:.0f} MiB ({(peak - tokens) * 2**20 / n:.0f} bytes a session); "
      f"{t['requests']} requests ({t['failures']} failed), {r.get('sessions_started', t.get('started', '?'))} started")
PY
