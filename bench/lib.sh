# Sourced by the bench scripts: `source "$(dirname "$0")/lib.sh" "$@"` sets
# root (the checkout), build (BUILD_DIR, the first argument, or build/),
# cpu (BULWARK_BENCH_CPU, default 1, or 0 on a single core) and pin (the
# command prefix that pins to it).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$root/build}
cpu=${BULWARK_BENCH_CPU:-1}
[ "$(nproc)" -gt "$cpu" ] || cpu=0
pin=(taskset -c "$cpu")
command -v taskset >/dev/null || pin=()
