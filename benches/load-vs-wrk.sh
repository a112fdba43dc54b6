#!/usr/bin/env bash
# How fast the load generator is: `tokenprobe load` (refresh traffic, every
# request's latency recorded) beside wrk with the shared refresh script,
# on the same core, against
#   - the static nginx token server (the ceiling: its cost is near zero), and
#   - the mock (rotating; wrk follows the returned refresh token).
# Also: the open model against the static server (an arrival rate above what
# it serves, CONNS in flight: the generator's ceiling in that model), and
# `load --mock strict` with its in-process mock (id_tokens signed, ES256),
# whose figure should stay within 2x of load against the static server.
# Server on core 0, generator on core 1; A/B alternated ROUNDS times, medians
# and ratios printed. Then the resident memory of `tokenprobe load` with
# 10,000 virtual users.
#
# Usage: benches/load-vs-wrk.sh [SECONDS_PER_RUN=8] [ROUNDS=3]
# Env: CONNS (default 32, static server), VU_RSS_USERS (default 10000; 0 skips).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-8}"
ROUNDS="${2:-3}"
CONNS="${CONNS:-32}"
RSS_USERS="${VU_RSS_USERS:-10000}"
HERE="$PWD/benches/wrk"
source "$HERE/lib.sh"
need_package nginx nginx-light
need_package wrk wrk
cargo build --release --locked --quiet
BIN="$PWD/target/release/tokenprobe"
WORK="$(mktemp -d)"
PORT=18491
MOCK_PID=""
cleanup() {
  [[ -n "$MOCK_PID" ]] && kill -INT "$MOCK_PID" 2>/dev/null || true
  BENCH_STATE="$WORK/nginx" "$HERE/static-token-server.sh" stop "$PORT" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

BENCH_STATE="$WORK/nginx" taskset -c 0 "$HERE/static-token-server.sh" start "$PORT" >/dev/null
static_target "$PORT" "$WORK/static.yaml"

taskset -c 0 "$BIN" mock --listen 127.0.0.1:0 --config <(printf 'id_token: false\n') >"$WORK/mock.out" 2>&1 &
MOCK_PID=$!
for _ in $(seq 200); do [[ -s "$WORK/mock.out" ]] && break; sleep 0.05; done
read -r MOCK_URL MOCK_TARGET <"$WORK/mock.out"

median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

wrk_static() {
  WRK_THREADS=1 taskset -c 1 "$HERE/wrk-refresh.sh" "http://127.0.0.1:$PORT/token" "$SECS" "$CONNS" |
    sed -nE 's/.*REFRESH SUMMARY.*req\/s=([0-9.]+).*/\1/p'
}
wrk_mock() {
  local tokens=() i
  for ((i = 0; i < 4; i++)); do
    tokens+=("$(curl -s -u app:app-secret -d 'grant_type=password&username=alice&password=alice-pass-1&scope=read' "$MOCK_URL/token" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])')")
  done
  WRK_THREADS=4 WRK_FOLLOW=1 WRK_CLIENT_ID=app WRK_CLIENT_SECRET=app-secret WRK_REFRESH_TOKENS="${tokens[*]}" \
    taskset -c 1 "$HERE/wrk-refresh.sh" "$MOCK_URL/token" "$SECS" 4 |
    sed -nE 's/.*REFRESH SUMMARY.*req\/s=([0-9.]+).*/\1/p'
}
# tp_load TARGET USERS: requests/s of a `tokenprobe load` run (one runtime).
tp_load() {
  taskset -c 1 "$BIN" load --target "$1" --users "$2" --ramp 0s --run-time "${SECS}s" \
    --report "json=$WORK/load.json" >/dev/null 2>&1
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["totals"]["rps"]); assert r["totals"]["failures"] == 0, r["errors"]' "$WORK/load.json"
}

# tp_open TARGET: requests/s of the open model, asked for more than it gets.
tp_open() {
  taskset -c 1 "$BIN" load --target "$1" --arrival-rate 1000000 --max-in-flight "$CONNS" \
    --run-time "${SECS}s" --report "json=$WORK/open.json" >/dev/null 2>&1
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["totals"]["rps"]); assert r["totals"]["failures"] == 0, r["errors"]' "$WORK/open.json"
}
# tp_inproc: `load --mock strict`, generator and mock in one process, one
# core each.
tp_inproc() {
  taskset -c 0,1 "$BIN" load --mock strict --users 4 --ramp 0s --run-time "${SECS}s" \
    --report "json=$WORK/inproc.json" >/dev/null 2>&1
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["totals"]["rps"]); assert r["totals"]["failures"] == 0, r["errors"]' "$WORK/inproc.json"
}

declare -A runs
for ((r = 1; r <= ROUNDS; r++)); do
  runs[wrk_static]+="$(wrk_static) "
  runs[load_static]+="$(tp_load "$WORK/static.yaml" "$CONNS") "
  runs[open_static]+="$(tp_open "$WORK/static.yaml") "
  runs[wrk_mock]+="$(wrk_mock) "
  runs[load_mock]+="$(tp_load "$MOCK_TARGET" 4) "
  runs[load_inproc]+="$(tp_inproc) "
done
echo "server on core 0, generator on core 1, ${SECS}s runs, $ROUNDS rounds (medians)"
declare -A med
for c in wrk_static load_static open_static wrk_mock load_mock load_inproc; do
  med[$c]=$(median <<<"${runs[$c]}")
  printf '%-12s %10.0f req/s   runs: %s\n' "$c" "${med[$c]}" "${runs[$c]}"
done
awk -v a="${med[load_static]}" -v b="${med[wrk_static]}" -v c="${med[load_mock]}" -v d="${med[wrk_mock]}" \
  'BEGIN { printf "tokenprobe load / wrk: static server %.2f (%d connections), mock %.2f (4 connections, following rotation)\n", a / b, '"$CONNS"', c / d }'
awk -v a="${med[open_static]}" -v b="${med[wrk_static]}" -v c="${med[load_inproc]}" -v d="${med[load_static]}" \
  'BEGIN { printf "open model / wrk (static server): %.2f; load --mock strict / load against the static server: %.2f\n", a / b, c / d }'

if [[ "$RSS_USERS" -gt 0 ]]; then
  taskset -c 1 "$BIN" load --target "$WORK/static.yaml" --users "$RSS_USERS" --ramp 2s --run-time 8s --rate 5000 \
    --report "json=$WORK/rss.json" >/dev/null 2>&1 &
  pid=$!
  peak=0
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    (( rss > peak )) && peak=$rss
    sleep 0.2
  done
  wait "$pid" || true
  requests=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["requests"])' "$WORK/rss.json")
  echo "tokenprobe load with $RSS_USERS virtual users: peak RSS $((peak / 1024)) MiB ($requests requests)"
fi
