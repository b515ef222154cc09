#!/usr/bin/env bash
# End-to-end: an IPv6 client is its /64, the block one subscriber gets whole,
# so the addresses of one /64 share one cap of connections
# (max_connections_per_client) and one rate-limit key, while another /64 is
# another client. Bulwark and its clients run in a network namespace of
# their own whose loopback answers for all of 2001:db8::/48, so a client can
# speak from any address of it.
# Usage: ipv6_client_test.sh BULWARK_BINARY
set -uo pipefail

if [ -z "${BULWARK_IN_NETNS:-}" ]; then
  unshare_cmd=(unshare --net)
  [ "$(id -u)" -eq 0 ] || unshare_cmd=(unshare --net --map-root-user)
  if ! "${unshare_cmd[@]}" true 2>/dev/null; then
    if [ "${CI:-}" = true ]; then echo "FAIL: cannot make a network namespace (unshare)"; exit 1; fi
    echo "note: no network namespace here (unshare); skipped"; exit 0
  fi
  BULWARK_IN_NETNS=1 exec "${unshare_cmd[@]}" "$0" "$@"
fi

bulwark=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
cd "$work" || exit 1

# Clients bind to addresses of the /48 that no interface holds.
ip link set lo up &&
  ip -6 addr add 2001:db8::1/64 dev lo nodad &&
  ip -6 route add local 2001:db8::/48 dev lo &&
  echo 1 >/proc/sys/net/ipv6/ip_nonlocal_bind ||
  { echo "FAIL: cannot give the namespace's loopback 2001:db8::/48"; exit 1; }

demo=$(free_port)
"$bulwark" demo-upstream --listen "127.0.0.1:$demo" >demo.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$demo/" && break; sleep 0.05; done
cat >bulwark.yaml <<YAML
server: {listen: "[2001:db8::1]:0", max_connections_per_client: 2}
store: {backend: memory}
gateway:
  upstreams:
    - {name: demo, address: "127.0.0.1:$demo"}
  routes:
    - name: limited
      path_prefix: /limited
      authn: {mode: none}
      rate_limit: {key: client_ip, limit: 2, window_ms: 60000}
      upstream: demo
YAML
start_bulwark bulwark.yaml server.log || { echo "FAIL: server did not start"; exit 1; }

# client.py PORT SOURCE PATH...: from SOURCE, each PATH on a connection of
# its own, all held open; prints each answer's status, or "closed" for a
# connection closed before any answer.
cat >client.py <<'PY'
import socket, sys
port, source, paths = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
held, out = [], []
for path in paths:
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(3)
    s.bind((source, 0))
    s.connect(("2001:db8::1", port))
    held.append(s)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = s.recv(4096)
        out.append(head.split(b" ")[1].decode() if head else "closed")
    except (ConnectionResetError, BrokenPipeError):
        out.append("closed")
print(" ".join(out))
PY
run() { python3 client.py "$bulwark_port" "$@" 2>&1; }

# One /64: two connections held, the third (from another address of the
# same /64) is closed; another /64 is served meanwhile.
held_out=$(mktemp)
python3 - "$bulwark_port" >"$held_out" 2>&1 <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
held = []
for source in ("2001:db8::a", "2001:db8::b"):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.connect(("2001:db8::1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    print(s.recv(4096).split(b" ")[1].decode(), flush=True)
    held.append(s)
time.sleep(3)
PY
holder=$!
pids+=("$holder")
for _ in $(seq 1 60); do [ "$(wc -l <"$held_out")" -ge 2 ] && break; sleep 0.05; done
expect_eq "two connections from one /64 are served" "$(tr '\n' ' ' <"$held_out")" "200 200 "
expect_eq "a third from another address of that /64 is closed" \
  "$(run 2001:db8::c:1 /healthz)" "closed"
expect_eq "another /64 is another client" "$(run 2001:db8:0:1::a /healthz)" "200"
wait "$holder"

# The rate limit keyed by client address: the /64's addresses share its
# quota of two.
expect_eq "the quota of one /64, spent from two of its addresses" \
  "$(run 2001:db8::d /limited/1):$(run 2001:db8::e /limited/2):$(run 2001:db8::ffff:1 /limited/3)" \
  "200:200:429"
expect_eq "another /64 has its own quota" "$(run 2001:db8:0:2::d /limited/4)" "200"

finish ipv6_client_test
