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
bulwark_wrapper=()
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
# A port free now and not handed out before in this test.
free_port() { python3 "$(dirname "${BASH_SOURCE[0]}")/../../scripts/free_port.py" "$work/.ports"; }

# require_nginx: sets nginx_bin; without nginx the test fails under CI and is
# skipped (exit 0 with a note) elsewhere.
require_nginx() {
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  if [ ! -x "$nginx_bin" ]; then
    if [ "${CI:-}" = true ]; then echo "FAIL: nginx is not installed"; exit 1; fi
    echo "note: nginx not installed; skipped (scripts/install-deps.sh --test)"; exit 0
  fi
}

# start_nginx: reads the server blocks of the http context on stdin, wraps
# them in a config that keeps every file in $work, and starts nginx.
start_nginx() {
  local servers user_line=""
  servers=$(cat)
  mkdir -p "$work/tmp"
  [ "$(id -u)" -eq 0 ] && user_line="user root;"
  cat >"$work/nginx.conf" <<NGINX
$user_line
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $work/tmp/body;
  proxy_temp_path $work/tmp/proxy;
  fastcgi_temp_path $work/tmp/fastcgi;
  uwsgi_temp_path $work/tmp/uwsgi;
  scgi_temp_path $work/tmp/scgi;
$servers
}
NGINX
  "$nginx_bin" -p "$work" -c "$work/nginx.conf" 2>"$work/nginx-start.err" ||
    { cat "$work/nginx-start.err"; return 1; }
}

# start_bulwark CONFIG LOG: runs `$bulwark serve` in the background and waits
# (with a deadline) for its server.listening line; sets bulwark_pid and
# bulwark_port. Fails if it does not start. A command set in the array
# bulwark_wrapper runs it (given the command line to exec).
start_bulwark() {
  "${bulwark_wrapper[@]}" "$bulwark" serve --config "$1" >"$2" 2>&1 &
  bulwark_pid=$!
  pids+=("$bulwark_pid")
  bulwark_port=""
  for _ in $(seq 1 200); do
    bulwark_port=$(sed -n 's/.*"msg":"server.listening".*"port":\([0-9]*\).*/\1/p' "$2" | head -1)
    [ -n "$bulwark_port" ] && return 0
    kill -0 "$bulwark_pid" 2>/dev/null || break
    sleep 0.05
  done
  cat "$2"
  return 1
}
