#!/usr/bin/env bash
# Builds the optimized `bulwark` binary, the one to deploy and to benchmark:
# link-time optimization, and profile-guided optimization by a profile of the
# gateway's request path. It builds an instrumented binary
# (BULWARK_PGO=generate), runs it through scripts/pgo-train.sh (which needs
# nginx and wrk: scripts/install-deps.sh --test), then builds again by the
# recorded profile (BULWARK_PGO=use). The binary is BUILD_DIR/src/cli/bulwark.
# Usage: scripts/build-release.sh [BUILD_DIR]   (default: build-release)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-release}
options=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBULWARK_LTO=ON
  -DBULWARK_BUILD_TESTS=OFF -DBULWARK_BUILD_BENCH=OFF)

cmake -S "$root" -B "$build" "${options[@]}" -DBULWARK_PGO=generate
profile=$(sed -n 's/^BULWARK_PGO_DIR:PATH=//p' "$build/CMakeCache.txt")
# Counts from an earlier binary would be merged into the new ones.
rm -rf "$profile"
cmake --build "$build" --target bulwark
"$root/scripts/pgo-train.sh" "$build"
[ -n "$(find "$profile" -name '*.gcda' 2>/dev/null | head -1)" ] || {
  echo "build-release: the training recorded no profile in $profile"; exit 1; }
cmake -S "$root" -B "$build" "${options[@]}" -DBULWARK_PGO=use
# Not through the compiler cache: whether it notices a new profile behind
# -fprofile-use=DIR depends on its version.
CCACHE_DISABLE=1 cmake --build "$build" --target bulwark
echo "build-release: $build/src/cli/bulwark"
