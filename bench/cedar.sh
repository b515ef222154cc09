#!/usr/bin/env bash
# Cedar authorization: Bulwark's engine on Drive-like and GitHub-like
# workloads and on a growing policy set, and the official engine
# (@cedar-policy/cedar-wasm, node) on the same Drive and GitHub requests.
# Ends with `name: value` lines.
#
# Usage: bench/cedar.sh [BUILD_DIR]
#   BULWARK_BENCH_QUICK=1  short runs (CI smoke test; figures are not meaningful)
#   BULWARK_BENCH_CPU=N    the core to pin to (default 1)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh" "$@"

if [ "${BULWARK_BENCH_QUICK:-0}" = 1 ]; then
  requests=500; wasm_requests=50
else
  requests=20000; wasm_requests=1000
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"${pin[@]}" "$build/bench/cedar_bench" "$work" "$requests" | tee "$work/bulwark.txt"
if [ ! -d "$root/bench/node/node_modules/@cedar-policy/cedar-wasm" ]; then
  echo "bench/node/node_modules lacks @cedar-policy/cedar-wasm: run npm ci --prefix bench/node" >&2
  exit 1
fi
"${pin[@]}" node "$root/bench/node/cedar_bench.mjs" "$work" "$wasm_requests" drive github |
  sed 's/^/wasm_/' | tee "$work/wasm.txt"

field() {  # field FILE NAME KEY
  awk -v n="$2" -v k="$3" '$1 == n { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

echo "cedar_p50_us_drive: $(field "$work/bulwark.txt" drive p50_us)"
echo "cedar_p99_us_drive: $(field "$work/bulwark.txt" drive p99_us)"
echo "cedar_p50_us_github: $(field "$work/bulwark.txt" github p50_us)"
echo "cedar_p99_us_github: $(field "$work/bulwark.txt" github p99_us)"
echo "wasm_p50_us_drive: $(field "$work/wasm.txt" wasm_drive p50_us)"
echo "wasm_p50_us_github: $(field "$work/wasm.txt" wasm_github p50_us)"
drive=$(ratio "$(field "$work/bulwark.txt" drive decisions_per_s)" "$(field "$work/wasm.txt" wasm_drive decisions_per_s)")
github=$(ratio "$(field "$work/bulwark.txt" github decisions_per_s)" "$(field "$work/wasm.txt" wasm_github decisions_per_s)")
echo "cedar_ratio_vs_wasm_drive: $drive"
echo "cedar_ratio_vs_wasm_github: $github"
echo "cedar_ratio_vs_wasm: $(awk -v a="$drive" -v b="$github" 'BEGIN { printf "%.1f", (a < b ? a : b) }')"
echo "cedar_p50_growth_100k_over_10: $(ratio "$(field "$work/bulwark.txt" growth_100000 p50_us)" "$(field "$work/bulwark.txt" growth_10 p50_us)")"
