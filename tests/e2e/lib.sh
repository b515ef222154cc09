# Shared helpers of the end-to-end scripts: a work directory cleaned up with
# every process the test started, check counters, and free ports.
# Source it after setting nothing; it defines:
#   work         a fresh directory (mode 755, so nginx workers can read it)
#   pids         processes to kill at exit (append with pids+=($!))
#   ok / bad MSG / expect_eq NAME GOT WANT / finish NAME
#   free_port    prints a free loopback TCP port
work=$(mktemp -d)
chmod 755 "$work"
pids=()
e2e_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  rm -rf "$work"
}
trap e2e_cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_eq() { if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi; }
finish() {
  echo "$1: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
