#!/usr/bin/env bash
# tokenprobe load beside its peers, on one core, against the static token
# server of benches/wrk/ (the ceiling: nginx answering a fixed token).
#
# Each generator sends refresh-token grants with Basic client auth over
# CONNS connections, pinned to core 1 while the server runs on core 0:
#   - wrk (1 thread, benches/wrk/refresh.lua), apt-get install wrk
#   - oha, cargo install oha --locked
#   - hey, apt-get install hey
#   - Locust (FastHttpUser, headless, 1 process), pip install locust
#   - tokenprobe load (closed model, CONNS users; following rotation only
#     where the server rotates, UNIQUE=1; replay probes only with
#     REPLAY_RATE above 0)
# Generators that are not installed are left out and said so. The rounds
# alternate the generators (A B C A B C …); the table gives the median of
# each and tokenprobe's ratio to it (above 1: tokenprobe is faster).
#
# Then tokenprobe's CPU cost per 100,000 requests (user + system seconds,
# from getrusage via /usr/bin/time) with 1 and 2 worker threads.
#
# Usage: benches/peers.sh [SECONDS_PER_RUN=5] [ROUNDS=3]
# Env: CONNS (default 32), OHA (path to oha), LOCUST (path to locust), and
# the server's shape, named in the table's header:
#   TLS=1         HTTPS (TLS 1.3, keep-alive; generators trust its CA or skip
#                 verification: oha --insecure, wrk does not verify);
#   UNIQUE=1      a unique ~700-byte refresh token and ~600-byte access token
#                 per answer (the target declares rotation: tokenprobe
#                 follows it; the peers resend one token, which nginx takes);
#   REPLAY_RATE   tokenprobe's --replay-rate (default 0: no probes).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-5}"
ROUNDS="${2:-3}"
CONNS="${CONNS:-32}"
HERE="$PWD/benches/wrk"
source "$HERE/lib.sh"
need_package nginx nginx-light
cargo build --release --locked --quiet
BIN="$PWD/target/release/tokenprobe"
WORK="$(mktemp -d)"
PORT=18493
cleanup() {
  BENCH_STATE="$WORK/nginx" "$HERE/static-token-server.sh" stop "$PORT" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
TLS="${TLS:-0}" UNIQUE="${UNIQUE:-0}" BENCH_STATE="$WORK/nginx" taskset -c 0 "$HERE/static-token-server.sh" start "$PORT" >/dev/null
SCHEME=http CA="" ROTATION=static REPLAY_RATE="${REPLAY_RATE:-0}"
[[ "${TLS:-0}" == 1 ]] && SCHEME=https CA="$WORK/nginx/$PORT/ca.pem"
[[ "${UNIQUE:-0}" == 1 ]] && ROTATION=rotate
URL="$SCHEME://127.0.0.1:$PORT/token"
BASIC="Basic $(printf 'conf-client:conf-secret' | base64)"
BODY='grant_type=refresh_token&refresh_token=static-refresh-token'
static_target "$PORT" "$WORK/static.yaml" "$SCHEME" "$ROTATION" "$CA"
SHAPE="$([[ $SCHEME == https ]] && echo TLS 1.3 || echo plain HTTP), $([[ ${UNIQUE:-0} == 1 ]] && echo "unique tokens (707-byte refresh, 611-byte access), rotating: tokenprobe follows rotation" || echo "a fixed 36-byte token, static")$(awk -v r="$REPLAY_RATE" 'BEGIN { if (r > 0) printf ", tokenprobe probes on (--replay-rate %s)", r }')"

OHA="${OHA:-$(command -v oha || true)}"
[[ -z "$OHA" && -x "$HOME/.cargo/bin/oha" ]] && OHA="$HOME/.cargo/bin/oha"
LOCUST="${LOCUST:-$(command -v locust || true)}"
HEY="$(command -v hey || true)"
WRK="$(command -v wrk || true)"

run_wrk() {
  WRK_THREADS=1 taskset -c 1 "$HERE/wrk-refresh.sh" "$URL" "$SECS" "$CONNS" |
    sed -nE 's/.*REFRESH SUMMARY.*req\/s=([0-9.]+).*/\1/p'
}
run_oha() {
  taskset -c 1 "$OHA" -z "${SECS}s" -c "$CONNS" --no-tui --output-format json -m POST --insecure \
    -H "Authorization: $BASIC" -T application/x-www-form-urlencoded -d "$BODY" "$URL" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["requestsPerSec"])'
}
run_hey() {
  taskset -c 1 "$HEY" -z "${SECS}s" -c "$CONNS" -cpus 1 -m POST -H "Authorization: $BASIC" \
    -T application/x-www-form-urlencoded -d "$BODY" "$URL" |
    sed -nE 's/^[[:space:]]*Requests\/sec:[[:space:]]*([0-9.]+).*/\1/p'
}
run_locust() {
  cat >"$WORK/locustfile.py" <<EOF
from locust import task
from locust.contrib.fasthttp import FastHttpUser
class Refresh(FastHttpUser):
    @task
    def refresh(self):
        self.client.post("/token", data="$BODY",
            headers={"Authorization": "$BASIC", "Content-Type": "application/x-www-form-urlencoded"})
EOF
  taskset -c 1 "$LOCUST" -f "$WORK/locustfile.py" --headless -u "$CONNS" -r "$CONNS" \
    -t "${SECS}s" -H "http://127.0.0.1:$PORT" --csv "$WORK/locust" --only-summary >/dev/null 2>&1 || true
  python3 -c 'import csv,sys; rows=[r for r in csv.DictReader(open(sys.argv[1])) if r["Name"]=="Aggregated"]; print(rows[0]["Requests/s"])' \
    "$WORK/locust_stats.csv"
}
run_tokenprobe() {
  taskset -c 1 "$BIN" load --target "$WORK/static.yaml" --users "$CONNS" --ramp 0s \
    --run-time "${SECS}s" --replay-rate "$REPLAY_RATE" --report "json=$WORK/load.json" >/dev/null 2>&1
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["totals"]["failures"] == 0, r["errors"]; print(r["totals"]["rps"])' \
    "$WORK/load.json"
}

peers=()
[[ -n "$WRK" ]] && peers+=(wrk) || echo "wrk: not installed (apt-get install wrk), left out" >&2
[[ -n "$OHA" ]] && peers+=(oha) || echo "oha: not installed (cargo install oha --locked), left out" >&2
[[ -n "$HEY" ]] && peers+=(hey) || echo "hey: not installed (apt-get install hey), left out" >&2
[[ -n "$LOCUST" ]] && peers+=(locust) || echo "locust: not installed (pip install locust), left out" >&2

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# Each run is timed too: the generator's CPU (user + system, getrusage of
# the process tree) per 100k requests. Where the server is the ceiling,
# req/s ties and the CPU says which generator costs less.
timed() {
  local g="$1"
  /usr/bin/time -f '%U %S' -o "$WORK/time.$g" bash -c "$(declare -f "run_$g"); $(declare -p WORK HERE URL SECS CONNS BASIC BODY OHA BIN REPLAY_RATE PORT 2>/dev/null); run_$g"
}
declare -A runs cpus
for ((r = 1; r <= ROUNDS; r++)); do
  for g in "${peers[@]}" tokenprobe; do
    rps="$(timed "$g")"
    runs[$g]+="$rps "
    cpus[$g]+="$(awk -v rps="$rps" -v secs="$SECS" '{ u = $(NF - 1); s = $NF } END { printf "%.3f", (u + s) / (rps * secs) * 100000 }' "$WORK/time.$g") "
  done
done
tp=$(median <<<"${runs[tokenprobe]}")
echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(sed -nE 's/^model name\s*: //p' /proc/cpuinfo | head -1)); server on core 0, generator on core 1; $CONNS connections, ${SECS}s runs, medians of $ROUNDS rounds"
echo "shape: $SHAPE"
echo
tpc=$(median <<<"${cpus[tokenprobe]}")
echo "| generator | req/s | tokenprobe is | CPU s per 100k requests | tokenprobe's CPU is |"
echo "| --- | --- | --- | --- | --- |"
for g in "${peers[@]}"; do
  m=$(median <<<"${runs[$g]}")
  c=$(median <<<"${cpus[$g]}")
  awk -v g="$g" -v m="$m" -v t="$tp" -v c="$c" -v tc="$tpc" 'BEGIN { printf "| %s | %.0f | %.2f× | %.3f | %.2f× |\n", g, m, t / m, c, tc / c }'
done
awk -v t="$tp" -v tc="$tpc" 'BEGIN { printf "| tokenprobe load | %.0f | — | %.3f | — |\n", t, tc }'
echo
for g in "${peers[@]}" tokenprobe; do echo "runs $g: ${runs[$g]}(CPU per 100k: ${cpus[$g]})"; done

# CPU per request: user + system seconds of the generator per 100k requests.
cpu_per_100k() {
  local threads="$1" cpus="$2"
  /usr/bin/time -f '%U %S' -o "$WORK/time" taskset -c "$cpus" "$BIN" load --target "$WORK/static.yaml" \
    --users "$CONNS" --ramp 0s --run-time "${SECS}s" --threads "$threads" \
    --report "json=$WORK/cpu.json" >/dev/null 2>&1
  python3 - "$WORK/time" "$WORK/cpu.json" <<'EOF'
import json, sys
user, system = map(float, open(sys.argv[1]).read().split()[-2:])
n = json.load(open(sys.argv[2]))["totals"]["requests"]
print(f"{(user + system) / n * 100000:.3f}")
EOF
}
one=() two=()
for ((r = 1; r <= ROUNDS; r++)); do
  one+=("$(cpu_per_100k 1 1)")
  two+=("$(cpu_per_100k 2 1)")
done
c1=$(median <<<"${one[*]}")
c2=$(median <<<"${two[*]}")
echo
awk -v a="$c1" -v b="$c2" 'BEGIN { printf "CPU per 100k requests (user + system): 1 thread %.3f s, 2 threads %.3f s (%+.0f%%)\n", a, b, (b / a - 1) * 100 }'
