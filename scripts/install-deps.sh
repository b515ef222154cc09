#!/usr/bin/env bash
# Installs everything Bulwark needs to build, test and benchmark on Debian 12.
# Usage: scripts/install-deps.sh [--test]   (--test adds the peers the tests and benchmarks talk to)
set -euo pipefail

want_test=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

build_pkgs=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev openssl libsqlite3-dev libyaml-cpp-dev libargon2-dev libsodium-dev liburing-dev libpsl-dev
  libspdlog-dev libfmt-dev libcli11-dev libre2-dev libgoogle-perftools-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  curl ca-certificates
)
test_pkgs=(clang-format nginx-light prometheus wrk haproxy valgrind iproute2 testssl.sh chromium)

pkgs=("${build_pkgs[@]}")
if [ "$want_test" -eq 1 ]; then
  pkgs+=("${test_pkgs[@]}")
  # Node.js runs the peer clients (node jose); keep an existing installation.
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Tests and benchmarks start their own nginx, HAProxy and promtool runs; the
# packages' system services are not wanted (and would hold ports).
if [ "$want_test" -eq 1 ] && command -v systemctl >/dev/null 2>&1; then
  for service in nginx haproxy prometheus; do
    "${sudo_cmd[@]}" systemctl disable --now "$service" >/dev/null 2>&1 || true
  done
fi
