#!/usr/bin/env bash
# The mock's refresh grant under wrk, beside the static nginx token server
# (the ceiling), on loopback with the same wrk settings:
#   - static:        nginx answering a fixed token (benches/wrk/static-token-server.sh)
#   - mock static:   `tokenprobe mock --rotation static`, one fixed refresh token
#   - mock rotating: `tokenprobe mock` (strict profile), wrk following the
#                    returned refresh token on each connection (WRK_FOLLOW=1)
# Server pinned to core 0, wrk to core 1; the cases alternate A B C A B C …
# ROUNDS times; medians and ratios are printed. Then the resident memory of a
# rotating mock after MILLION_REFRESHES refreshes.
#
# Usage: benches/mock-vs-static.sh [SECONDS_PER_RUN=5] [ROUNDS=3]
# Env: CONNS (default 4, one per wrk thread), MILLION_REFRESHES (default 1000000; 0 skips).
# Needs nginx and wrk: installed with apt-get when missing and running as root.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-5}"
ROUNDS="${2:-3}"
CONNS="${CONNS:-4}"
REFRESHES="${MILLION_REFRESHES:-1000000}"
HERE="$PWD/benches/wrk"
source "$HERE/lib.sh"

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
  if [[ "$(id -u)" == 0 ]]; then
    apt-get install -y nginx-light wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y nginx-light wrk >/dev/null; }
  else
    echo "needs nginx and wrk: apt-get install -y nginx-light wrk" >&2
    exit 1
  fi
fi
cargo build --release --locked --quiet
BIN="$PWD/target/release/tokenprobe"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  BENCH_STATE="$WORK/nginx" "$HERE/static-token-server.sh" stop 18481 >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_mock NAME ARGS… : a pinned mock on a free port; sets URL_<NAME>, PID_<NAME>.
start_mock() {
  local name="$1"; shift
  taskset -c 0 "$BIN" mock --listen 127.0.0.1:0 "$@" >"$WORK/$name.out" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 200); do [[ -s "$WORK/$name.out" ]] && break; sleep 0.05; done
  local url
  read -r url _ <"$WORK/$name.out"
  printf -v "URL_$name" '%s' "$url"
  printf -v "PID_$name" '%s' "$pid"
}

# refresh_tokens URL N : N fresh refresh tokens from password grants.
refresh_tokens() {
  local url="$1" n="$2" i out=()
  for ((i = 0; i < n; i++)); do
    out+=("$(curl -s -u app:app-secret -d 'grant_type=password&username=alice&password=alice-pass-1&scope=read' "$url/token" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])')")
  done
  echo "${out[*]}"
}

# rps CASE : one wrk run, prints requests/s (and fails on errors).
rps() {
  local case="$1" line
  case "$case" in
    static) line=$(WRK_THREADS=$CONNS taskset -c 1 "$HERE/wrk-refresh.sh" "http://127.0.0.1:18481/token" "$SECS" "$CONNS" | grep 'REFRESH SUMMARY') ;;
    mock_static) line=$(WRK_THREADS=$CONNS WRK_CLIENT_ID=app WRK_CLIENT_SECRET=app-secret WRK_REFRESH_TOKEN="$RT_STATIC" \
      taskset -c 1 "$HERE/wrk-refresh.sh" "$URL_static/token" "$SECS" "$CONNS" | grep 'REFRESH SUMMARY') ;;
    mock_rotating)
      # Fresh chains each run (the previous run's last tokens are spent).
      local tokens; tokens=$(refresh_tokens "$URL_rotating" "$CONNS")
      line=$(WRK_THREADS=$CONNS WRK_FOLLOW=1 WRK_CLIENT_ID=app WRK_CLIENT_SECRET=app-secret WRK_REFRESH_TOKENS="$tokens" \
        taskset -c 1 "$HERE/wrk-refresh.sh" "$URL_rotating/token" "$SECS" "$CONNS" | grep 'REFRESH SUMMARY') ;;
  esac
  local non2xx; non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line")
  [[ "$non2xx" == 0 ]] || { echo "$case: $non2xx non-2xx answers: $line" >&2; exit 1; }
  sed -E 's/.*req\/s=([0-9.]+).*/\1/' <<<"$line"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

BENCH_STATE="$WORK/nginx" taskset -c 0 "$HERE/static-token-server.sh" start 18481 >/dev/null
start_mock static --rotation static
start_mock rotating
RT_STATIC=$(refresh_tokens "$URL_static" 1)

declare -A runs
for ((r = 1; r <= ROUNDS; r++)); do
  for c in static mock_static mock_rotating; do
    runs[$c]+="$(rps "$c") "
  done
done
echo "wrk: $CONNS threads x 1 connection, ${SECS}s per run, $ROUNDS rounds, server on core 0, wrk on core 1"
declare -A med
for c in static mock_static mock_rotating; do
  med[$c]=$(tr ' ' '\n' <<<"${runs[$c]}" | grep . | median)
  printf '%-14s median %10.0f req/s   runs: %s\n' "$c" "${med[$c]}" "${runs[$c]}"
done
awk -v s="${med[static]}" -v a="${med[mock_static]}" -v b="${med[mock_rotating]}" \
  'BEGIN { printf "ratio mock_static/static %.2f   mock_rotating/static %.2f\n", a / s, b / s }'

# memory_run NAME MOCK_ARGS… : RSS of a rotating mock before and after
# REFRESHES refreshes (wrk in 10 s slices, fresh chains each slice).
memory_run() {
  local name="$1"; shift
  start_mock "$name" "$@"
  local pid_var="PID_$name" url_var="URL_$name"
  local pid="${!pid_var}" url="${!url_var}"
  rss() { awk '/VmRSS/ { print $2 }' "/proc/$pid/status"; }
  local before done_n=0 line tokens
  before=$(rss)
  for _ in $(seq 60); do
    tokens=$(refresh_tokens "$url" "$CONNS")
    line=$(WRK_THREADS=$CONNS WRK_FOLLOW=1 WRK_CLIENT_ID=app WRK_CLIENT_SECRET=app-secret WRK_REFRESH_TOKENS="$tokens" \
      taskset -c 1 "$HERE/wrk-refresh.sh" "$url/token" 10 "$CONNS" | grep 'REFRESH SUMMARY')
    done_n=$((done_n + $(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")))
    [[ "$done_n" -ge "$REFRESHES" ]] && break
  done
  echo "RSS $name: $before KiB at start, $(rss) KiB after $done_n refreshes"
}

if [[ "$REFRESHES" -gt 0 ]]; then
  # Default lifetimes (access 1 h, refresh 1 day): every token of the run is
  # still alive, and rotated refresh tokens are kept until they expire (reuse
  # detection needs them).
  memory_run default_lifetimes
  # Short lifetimes and a sweep every 2 s: memory is bounded by what lives.
  printf 'access_token_ttl_s: 5\nrefresh_token_ttl_s: 10\npurge_interval_s: 2\n' >"$WORK/short.yaml"
  memory_run short_lifetimes --config "$WORK/short.yaml"
fi
