#!/usr/bin/env bash
# JWT benchmarks: Bulwark sign/verify per algorithm beside raw OpenSSL EVP on
# the same keys, cached verification, and node `jose` verifying the same
# tokens. Ends with `name: value unit` lines.
#
# Usage: bench/jwt.sh [BUILD_DIR]
#   BULWARK_BENCH_QUICK=1  short runs (CI smoke test; figures are not meaningful)
#   BULWARK_BENCH_CPU=N    the core to pin to (default 1)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh" "$@"

if [ "${BULWARK_BENCH_QUICK:-0}" = 1 ]; then
  min_time=0.01; reps=1; node_seconds=0.2
else
  min_time=0.5; reps=5; node_seconds=3
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now=$(date +%s)
claims="{\"iss\":\"https://idp.example\",\"sub\":\"user-42\",\"aud\":\"api\",\"scope\":\"read write\",\"iat\":$now,\"exp\":$((now + 3600))}"
for alg in EdDSA ES256 RS256; do
  "$build/src/cli/bulwark" keys generate --alg "$alg" --kid bench > "$work/$alg.jwk"
  "$build/src/cli/bulwark" keys public --key "$work/$alg.jwk" > "$work/$alg.pub.jwk"
  "$build/src/cli/bulwark" jwt sign --key "$work/$alg.jwk" --claims "$claims" > "$work/$alg.jwt"
done

BULWARK_BENCH_TOKENS=$work "${pin[@]}" "$build/bench/jwt_bench" \
  --benchmark_min_time="$min_time" --benchmark_repetitions="$reps" \
  --benchmark_report_aggregates_only=true --benchmark_out="$work/bench.json" \
  --benchmark_out_format=json

node_out=""
if command -v node >/dev/null && [ -d "$root/bench/node/node_modules/jose" ]; then
  node_out=$("${pin[@]}" node "$root/bench/node/jose_verify.mjs" "$work" "$node_seconds" EdDSA ES256 RS256)
  echo "$node_out" | sed 's/^/node jose verify ops\/s: /'
else
  echo "node jose not installed (run: npm ci --prefix bench/node); skipping the peer" >&2
fi

python3 - "$work/bench.json" "$node_out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
node = dict(line.split() for line in sys.argv[2].splitlines() if line.strip())
median = {}
for b in data["benchmarks"]:
    if b.get("aggregate_name", "median") == "median" or b.get("run_type") == "iteration":
        name = b.get("run_name", b["name"])
        median.setdefault(name, b["real_time"] if b["time_unit"] == "ns" else None)
def ops(name):  # per second, from ns per op
    return 1e9 / median[name]
print()
for alg in ["EdDSA", "ES256", "RS256"]:
    print(f"jwt_verify_{alg.lower()}_per_s: {ops('BM_JwtVerify/' + alg):.0f} ops/s")
    print(f"openssl_verify_{alg.lower()}_per_s: {ops('BM_OpenSslVerify/' + alg):.0f} ops/s")
for alg in ["EdDSA", "ES256", "RS256"]:
    ratio = ops('BM_JwtVerify/' + alg) / ops('BM_OpenSslVerify/' + alg)
    print(f"jwt_verify_{alg.lower()}_over_openssl: {ratio:.3f} ratio")
print(f"jwt_verify_cached_per_s: {ops('BM_JwtVerifyCached'):.0f} ops/s")
print(f"p256_table_verify_us: {median['BM_P256TableVerify'] / 1000:.2f} us")
for alg in ["EdDSA", "ES256", "RS256"]:
    if alg in node:
        print(f"node_jose_verify_{alg.lower()}_per_s: {float(node[alg]):.0f} ops/s")
        print(f"jwt_verify_{alg.lower()}_over_node_jose: {ops('BM_JwtVerify/' + alg) / float(node[alg]):.2f} ratio")
PY
