#!/usr/bin/env bash
# Soak: the mock under a bounded mixed load with abusive clients beside it.
#   - `tokenprobe load` (login-and-refresh mix, replay probes) for MINUTES;
#   - abusive clients (python3, bounded): slow half-sent requests held open,
#     garbage bytes, oversized headers and bodies, all in a loop;
#   - the mock's resident memory sampled every second.
# Prints served requests, errors by class, violations and peak memory.
# Usage: benches/soak.sh [MINUTES=3]
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES="${1:-3}"
cargo build --release --locked --quiet
BIN="$PWD/target/release/tokenprobe"
WORK="$(mktemp -d)"
MOCK_PID=""
ABUSE_PID=""
cleanup() {
  [[ -n "$ABUSE_PID" ]] && kill "$ABUSE_PID" 2>/dev/null || true
  [[ -n "$MOCK_PID" ]] && kill -INT "$MOCK_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Short lifetimes and frequent sweeps: memory must stay bounded.
printf 'access_token_ttl_s: 30\nrefresh_token_ttl_s: 60\npurge_interval_s: 5\n' >"$WORK/mock.yaml"
"$BIN" mock --listen 127.0.0.1:0 --config "$WORK/mock.yaml" >"$WORK/mock.out" 2>&1 &
MOCK_PID=$!
for _ in $(seq 200); do [[ -s "$WORK/mock.out" ]] && break; sleep 0.05; done
read -r URL TARGET <"$WORK/mock.out"
HOSTPORT="${URL#http://}"

python3 - "$HOSTPORT" "$((MINUTES * 60))" >"$WORK/abuse.out" 2>&1 <<'PY' &
import socket, sys, time, random
host, port = sys.argv[1].split(":")
deadline = time.time() + int(sys.argv[2])
held, counts = [], {"slow": 0, "garbage": 0, "big_header": 0, "big_body": 0, "refused": 0}
def conn():
    s = socket.create_connection((host, int(port)), timeout=5)
    return s
while time.time() < deadline:
    try:
        if len(held) < 200:                      # slow clients, at most 200 held
            s = conn(); s.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Le"); held.append(s); counts["slow"] += 1
        s = conn(); s.sendall(bytes(random.getrandbits(8) for _ in range(256)) + b"\r\n\r\n"); s.close(); counts["garbage"] += 1
        s = conn(); s.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"); s.close(); counts["big_header"] += 1
        s = conn(); s.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 2000000\r\n\r\n" + b"a" * 100_000); s.close(); counts["big_body"] += 1
    except OSError:
        counts["refused"] += 1
    if len(held) >= 200:
        for s in held[:50]:
            s.close()
        held = held[50:]
    time.sleep(0.05)
print("abusive connections:", counts)
PY
ABUSE_PID=$!

peak=0
( while kill -0 "$MOCK_PID" 2>/dev/null; do awk '/VmRSS/ { print $2 }' "/proc/$MOCK_PID/status"; sleep 1; done ) >"$WORK/rss.txt" 2>/dev/null &
SAMPLER=$!

"$BIN" load --target "$TARGET" --profile scenarios/load/login-and-refresh.yaml --users 50 --ramp 5s \
  --run-time "${MINUTES}m" --rate 3000 --report "json=$WORK/load.json" >/dev/null 2>"$WORK/load.err" || true
wait "$ABUSE_PID" 2>/dev/null || true
ABUSE_PID=""
kill "$SAMPLER" 2>/dev/null || true
peak=$(sort -n "$WORK/rss.txt" | tail -1)
cat "$WORK/abuse.out"
python3 - "$WORK/load.json" "$peak" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["totals"]
print(f"served {t['requests']} requests in {t['duration_s']:.0f}s ({t['rps']:.0f} req/s), {t['failures']} failures")
print("errors by class:", r["errors"]["by_code"] or "none")
print("answers by status:", r["errors"]["by_status"])
print("violations:", r["violations"])
print(f"mock peak RSS: {int(sys.argv[2]) // 1024} MiB")
PY
