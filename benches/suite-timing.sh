#!/usr/bin/env bash
# Wall time of `tokenprobe check` over the whole suite against each mock
# profile (in-process, virtual clock), and against the strict mock served by
# a separate `tokenprobe mock` process. Prints one line per case:
#   case  runs  min  median  max  (seconds)
# Usage: benches/suite-timing.sh [RUNS]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-10}"
cargo build --release --locked --quiet
bin=target/release/tokenprobe
out="$(mktemp -d)"
trap 'rm -rf "$out"; [[ -n "${mock_pid:-}" ]] && kill -INT "$mock_pid" 2>/dev/null || true' EXIT

time_case() {
  local name="$1"; shift
  local times=()
  for ((i = 0; i < runs; i++)); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" --report "json=$out/r.json" >/dev/null 2>&1 || { echo "$name: run failed" >&2; exit 1; }
    t1=$(date +%s%N)
    times+=("$(( (t1 - t0) / 1000 ))")
  done
  local scenarios
  scenarios=$(python3 -c "import json,sys;print(len(json.load(open(sys.argv[1]))['scenarios']))" "$out/r.json")
  printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" -v n="$scenarios" '
    { t[NR] = $1 }
    END { printf "%-34s %3d scenarios  runs %2d  min %.3fs  median %.3fs  max %.3fs\n",
          name, n, NR, t[1] / 1e6, t[int((NR + 1) / 2)] / 1e6, t[NR] / 1e6 }'
}

for p in strict empowerid idcs wso2; do
  time_case "check --mock $p" "$bin" check --mock "$p"
done

# A mock in its own process (what a user's CI would do with a real server).
"$bin" mock --listen 127.0.0.1:0 --clock virtual >"$out/mock.txt" 2>/dev/null &
mock_pid=$!
for _ in $(seq 100); do [[ -s "$out/mock.txt" ]] && break; sleep 0.05; done
read -r _ target <"$out/mock.txt"
time_case "check --target <mock process>" "$bin" check --target "$target"
