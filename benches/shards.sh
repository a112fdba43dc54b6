#!/usr/bin/env bash
# A distributed run on one machine: N `tokenprobe load --shard I/N`
# processes against the static nginx token server, started together with
# --start-at, then `tokenprobe report merge`. Prints each shard's figures,
# the merged ones, and the sum of the shards' requests beside the merged
# count (they must be equal).
#
# Usage: benches/shards.sh [N=2] [SECONDS=5] [USERS=32]
# Needs nginx (apt-get install -y nginx-light; installed when root).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-2}"
SECS="${2:-5}"
USERS="${3:-32}"
PORT=18493
HERE="$PWD/benches/wrk"
source "$HERE/lib.sh"
need_package nginx nginx-light
cargo build --release --locked --quiet
BIN="$PWD/target/release/tokenprobe"
WORK="$(mktemp -d)"
cleanup() {
  BENCH_STATE="$WORK/nginx" "$HERE/static-token-server.sh" stop "$PORT" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
BENCH_STATE="$WORK/nginx" "$HERE/static-token-server.sh" start "$PORT" >/dev/null
static_target "$PORT" "$WORK/static.yaml"
START="$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)"
pids=()
for ((i = 0; i < N; i++)); do
  "$BIN" load --target "$WORK/static.yaml" --users "$USERS" --ramp 0s --run-time "${SECS}s" \
    --shard "$i/$N" --start-at "$START" --threshold 'p99<1s' \
    --report "json=$WORK/shard-$i.json" >"$WORK/shard-$i.out" 2>&1 &
  pids+=("$!")
done
for p in "${pids[@]}"; do wait "$p"; done
for ((i = 0; i < N; i++)); do
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); t=r["totals"]; s=r["shard"]; print("shard %d/%d: %d requests, %.1f req/s, p99 %d us" % (s["index"], s["count"], t["requests"], t["rps"], r["latency_us"]["all"]["p99"]))' "$WORK/shard-$i.json"
done
"$BIN" report merge "$WORK"/shard-*.json --report "json=$WORK/merged.json" >/dev/null 2>&1
python3 - "$WORK" "$N" <<'PY'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
shards = [json.load(open(f"{work}/shard-{i}.json")) for i in range(n)]
m = json.load(open(f"{work}/merged.json"))
t = m["totals"]
print(f"merged: {t['requests']} requests over {t['duration_s']} s, {t['rps']} req/s, p99 {m['latency_us']['all']['p99']} us, thresholds: " +
      ", ".join(f"{v['threshold']} {'passed' if v['passed'] else 'BREACHED'}" for v in m["thresholds"]))
total = sum(s["totals"]["requests"] for s in shards)
print(f"sum of the shards' requests: {total} ({'equal' if total == t['requests'] else 'NOT EQUAL'})")
assert total == t["requests"]
PY
