#!/usr/bin/env bash
# Relationship checks (Zanzibar-style, OpenFGA models): Check latency for
# direct, group-membership, parent-folder (depth 3) and negative checks, and
# ListObjects, on the Drive model at 1 thousand, 1 million and 10 million
# tuples; memory per tuple. No peer runs here: OpenFGA and SpiceDB are
# servers, not packaged for Debian 12 or npm.
# Ends with `name: value` lines.
#
# Usage: bench/relations.sh [BUILD_DIR]
#   BULWARK_BENCH_QUICK=1  small sizes (CI smoke test; figures are not meaningful)
#   BULWARK_BENCH_CPU=N    the core to pin to (default 1)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh" "$@"

if [ "${BULWARK_BENCH_QUICK:-0}" = 1 ]; then
  checks=2000; small=1000; medium=20000; large=50000
else
  checks=100000; small=1000; medium=1000000; large=10000000
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"${pin[@]}" "$build/bench/relations_bench" "$root/examples/relations/drive/model.fga" "$checks" \
  "$small" "$medium" "$large" | tee "$out"

field() {  # field SIZE KIND KEY
  awk -v s="size=$1" -v k="kind=$2" -v key="$3" '$1 == s && $2 == k {
    for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) print kv[2] } }' "$out"
}
bytes() { awk -v s="size=$1" '$1 == s { for (i = 2; i <= NF; i++) { split($i, kv, "=");
  if (kv[1] == "bytes_per_tuple") print kv[2] } }' "$out"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "rebac_check_p50_us_1m_direct: $(field "$medium" direct p50_us)"
echo "rebac_check_p50_us_1m_group: $(field "$medium" group p50_us)"
echo "rebac_check_p50_us_1m_negative: $(field "$medium" negative p50_us)"
echo "rebac_check_p99_us_1m_negative: $(field "$medium" negative p99_us)"
echo "rebac_list_objects_p50_us_1m: $(field "$medium" list_objects p50_us)"
echo "rebac_check_p50_us_10m: $(field "$large" depth3 p50_us)"
echo "rebac_check_p50_us_1m: $(field "$medium" depth3 p50_us)"
echo "rebac_check_p99_us_1m: $(field "$medium" depth3 p99_us)"
# Growth: from the blocks timed in turns at the end (see relations_bench.cc).
echo "rebac_p50_growth_10m_over_1k: $(awk '$1 == "growth" { split($6, kv, "="); print kv[2] }' "$out")"
echo "rebac_bytes_per_tuple: $(bytes "$large")"
