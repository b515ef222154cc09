# Sourced by the proxy benchmarks (gateway.sh, streams.sh) once `bulwark`
# (the binary) and `proxy_cpu` are set: a work directory that is removed,
# with every process started from it, at exit; free_port; the nginx config
# every nginx of theirs shares and start_nginx; make_certificate; start_gateway
# and with_tls_listener; cpu_ticks, median and ratio.
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# A port free now and not handed out before in this run.
free_port() { python3 "$(dirname "${BASH_SOURCE[0]}")/../scripts/free_port.py" "$work/.ports"; }
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"
mkdir -p "$work/tmp"
nginx_common="pid PIDFILE; error_log $work/nginx-ERR.log warn; events { worker_connections 4096; }"
temp_paths="client_body_temp_path $work/tmp/b; proxy_temp_path $work/tmp/p; fastcgi_temp_path $work/tmp/f; uwsgi_temp_path $work/tmp/u; scgi_temp_path $work/tmp/s;"
# start_nginx NAME CPU, the inside of its `http` block on stdin: one worker
# pinned to CPU, NAME.conf and NAME.pid in the work directory.
start_nginx() {
  {
    echo "$user_line"
    echo "worker_processes 1;"
    echo "${nginx_common//PIDFILE/$work/$1.pid}"
    echo "http { access_log off; $temp_paths"
    cat
    echo "}"
  } >"$work/$1.conf"
  taskset -c "$2" nginx -p "$work" -c "$work/$1.conf"
}
# tls.key and tls.crt in the work directory: a P-256 certificate for
# localhost and 127.0.0.1, for every TLS listener and service of the run.
make_certificate() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
}
# with_tls_listener CONFIG OUT: the gateway config CONFIG (whose listener is
# `server: {listen: 127.0.0.1:0, threads: 1}`) with a TLS listener on that
# certificate and an audit file of its own (audit-tls.jsonl), written to OUT.
with_tls_listener() {
  sed -e 's|server: {listen: 127.0.0.1:0, threads: 1}|server: {listen: 127.0.0.1:0, threads: 1, tls: {cert_file: tls.crt, key_file: tls.key}}|' \
    -e 's|audit.jsonl|audit-tls.jsonl|' "$work/$1" >"$work/$2"
}
start_gateway() {  # start_gateway CONFIG LOG: sets started_port and started_pid
  (cd "$work" && exec taskset -c "$proxy_cpu" "$bulwark" serve --config "$1" >"$work/$2" 2>&1) &
  started_pid=$!
  pids+=("$started_pid")
  started_port=""
  for _ in $(seq 1 200); do
    started_port=$(sed -n 's/.*"msg":"server.listening".*"port":\([0-9]*\).*/\1/p' "$work/$2" | head -1)
    [ -n "$started_port" ] && return 0
    sleep 0.05
  done
  cat "$work/$2"
  exit 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
