#!/usr/bin/env bash
# Streams through the gateway, on loopback, the proxy under test pinned to
# one core and the load and the services on the other (as bench/gateway.sh):
#   download   a 64 MiB body through the proxy (wrk, 4 keep-alive
#              connections): MB/s and the proxy's CPU per GiB
#   upload     the same body POSTed through the proxy to a service (node)
#              that reads it to its end before it answers: MB/s and the
#              proxy's CPU per GiB
#   websocket  echo round trips of 128-byte messages over 32 WebSockets
#              through the proxy (node `ws` at both ends): messages/s and the
#              proxy's CPU per message
# for nginx as a plain reverse proxy (proxy_pass, its buffers in memory only
# rather than spilling a body the client is slower for to a temporary file,
# and uploads streamed with proxy_request_buffering off, as Bulwark streams
# them, rather than written to a temporary file first;
# Upgrade passed on for /ws, as nginx's documentation shows) and for Bulwark with its full chain on
# both routes (ES256 JWT, scope, rate limit, audit): the body streams, the
# WebSocket is a tunnel. Each system runs in turn, 3 rounds
# (BULWARK_BENCH_ROUNDS); the medians end in `name: value unit` lines.
# Usage: bench/streams.sh [BUILD_DIR]   (BULWARK_BENCH_QUICK=1 for a smoke run)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:-$root/build}")
bulwark="$build/src/cli/bulwark"
for tool in wrk nginx node; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
    echo "missing $tool (scripts/install-deps.sh --test)"; exit 1; }
done
if [ "${BULWARK_BENCH_QUICK:-0}" = 1 ]; then
  duration=1; rounds=1; size_mib=8
else
  duration=5; rounds=${BULWARK_BENCH_ROUNDS:-3}; size_mib=64
fi
proxy_cpu=0
load_cpu=1
[ "$(nproc)" -gt 1 ] || load_cpu=0

source "$root/bench/proxy_lib.sh"
head -c $((size_mib << 20)) /dev/urandom >"$work/big.bin"

back=$(free_port)
ws_back=$(free_port)
start_nginx backend "$load_cpu" <<NGINX
  server { listen 127.0.0.1:$back; location = /big { alias $work/big.bin; } }
NGINX
(exec taskset -c "$load_cpu" node "$root/bench/node/ws_echo.mjs" serve "$ws_back") &
pids+=($!)

nginx_port=$(free_port)
start_nginx proxy "$proxy_cpu" <<NGINX
  upstream backend { server 127.0.0.1:$back; keepalive 64; }
  upstream ws_backend { server 127.0.0.1:$ws_back; }
  upstream sink { server 127.0.0.1:$ws_back; keepalive 64; }
  server { listen 127.0.0.1:$nginx_port;
    location /big { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_max_temp_file_size 0; }
    location /upload { proxy_pass http://sink; proxy_http_version 1.1; proxy_set_header Connection "";
      client_max_body_size 0; proxy_request_buffering off; }
    location /ws { proxy_pass http://ws_backend; proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade; proxy_set_header Connection "upgrade";
      proxy_read_timeout 300s; } }
NGINX

"$bulwark" keys generate --alg ES256 --kid bench >"$work/idp.jwk"
"$bulwark" keys public --key "$work/idp.jwk" >"$work/idp.pub.jwk"
now=$(date +%s)
token=$("$bulwark" jwt sign --key "$work/idp.jwk" --claims \
  "{\"iss\":\"https://idp.example\",\"sub\":\"bench\",\"aud\":\"api\",\"scope\":\"read\",\"iat\":$now,\"exp\":$((now + 3600))}")
cat >"$work/bulwark.yaml" <<YAML
server: {listen: 127.0.0.1:0, threads: 1, max_body_bytes: $((size_mib << 21))}
store: {backend: memory}
gateway:
  audit: {file: audit.jsonl}
  upstreams:
    - {name: backend, address: 127.0.0.1:$back}
    - {name: ws, address: 127.0.0.1:$ws_back}
  issuers: [{name: idp, issuer: "https://idp.example", audiences: [api], jwks_file: idp.pub.jwk}]
  routes:
    - name: big
      path_prefix: /big
      upstream: backend
      authz: {scopes: [read]}
      rate_limit: {key: principal, limit: 1000000000, window_ms: 1000}
    - name: upload
      path_prefix: /upload
      upstream: ws
      authz: {scopes: [read]}
      rate_limit: {key: principal, limit: 1000000000, window_ms: 1000}
    - name: ws
      path_prefix: /ws
      upstream: ws
      websocket: true
      authz: {scopes: [read]}
      rate_limit: {key: principal, limit: 1000000000, window_ms: 1000}
YAML
start_gateway bulwark.yaml bulwark.log
bulwark_port=$started_port
bulwark_pid=$started_pid

cat >"$work/upload.lua" <<LUA
local file = io.open("$work/big.bin", "rb")
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Authorization"] = "Bearer $token"
LUA

# Each proxy must really pass the bodies and the messages through.
for port in "$nginx_port" "$bulwark_port"; do
  curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/big" | cmp -s - "$work/big.bin" ||
    { echo "the download through port $port is not the file"; exit 1; }
  [ "$(curl -s -H "Authorization: Bearer $token" --data-binary @"$work/big.bin" \
    -w ' %{size_upload}' "http://127.0.0.1:$port/upload")" = "taken $((size_mib << 20))
 $((size_mib << 20))" ] || { echo "the upload through port $port was not taken whole"; exit 1; }
  taskset -c "$load_cpu" node "$root/bench/node/ws_echo.mjs" load "ws://127.0.0.1:$port/ws" "$token" 1 0.2 128 |
    grep -q '^messages [1-9]' || { echo "no WebSocket echo through port $port"; exit 1; }
done

nginx_pid=$(pgrep -P "$(cat "$work/proxy.pid")" | head -1)
hz=$(getconf CLK_TCK)
declare -A rounds_rate rounds_cpu rate cpu
download() {  # download NAME PORT PID [upload]: MB/s and CPU ms per GiB
  local before after out bytes seconds requests
  before=$(cpu_ticks "$3")
  if [ "${4:-}" = upload ]; then
    out=$(taskset -c "$load_cpu" wrk -t1 -c4 -d"${duration}s" -s "$work/upload.lua" \
      "http://127.0.0.1:$2/upload")
  else
    out=$(taskset -c "$load_cpu" wrk -t1 -c4 -d"${duration}s" -H "Authorization: Bearer $token" \
      "http://127.0.0.1:$2/big")
  fi
  after=$(cpu_ticks "$3")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  seconds=$(awk '/requests in/ {sub(/s,/, "", $4); print $4}' <<<"$out")
  bytes=$((requests * (size_mib << 20)))
  local rate cpu
  rate=$(awk -v b="$bytes" -v s="$seconds" 'BEGIN { printf "%.0f", b / s / 1e6 }')
  cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v b="$bytes" 'BEGIN { printf "%.1f", t / hz * 1e3 / (b / 1073741824) }')
  rounds_rate[$1]+="$rate "
  rounds_cpu[$1]+="$cpu "
  printf '%-18s %8s MB/s  proxy cpu %7s ms/GiB  (%s bodies)\n' "$1" "$rate" "$cpu" "$requests"
}
websocket() {  # websocket NAME PORT PID: messages/s and CPU us per message
  local before after out messages seconds rate cpu
  before=$(cpu_ticks "$3")
  out=$(taskset -c "$load_cpu" node "$root/bench/node/ws_echo.mjs" load "ws://127.0.0.1:$2/ws" "$token" 32 "$duration" 128)
  after=$(cpu_ticks "$3")
  read -r _ messages _ seconds <<<"$out"
  rate=$(awk -v m="$messages" -v s="$seconds" 'BEGIN { printf "%.0f", m / s }')
  # Each echoed message crosses the proxy twice (there and back).
  cpu=$(awk -v t=$((after - before)) -v hz="$hz" -v m="$messages" 'BEGIN { printf "%.2f", t / hz * 1e6 / m }')
  rounds_rate[$1]+="$rate "
  rounds_cpu[$1]+="$cpu "
  printf '%-18s %8s msg/s  proxy cpu %7s us/msg\n' "$1" "$rate" "$cpu"
}
for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds:"
  download nginx_download "$nginx_port" "$nginx_pid"
  download bulwark_download "$bulwark_port" "$bulwark_pid"
  download nginx_upload "$nginx_port" "$nginx_pid" upload
  download bulwark_upload "$bulwark_port" "$bulwark_pid" upload
  websocket nginx_websocket "$nginx_port" "$nginx_pid"
  websocket bulwark_websocket "$bulwark_port" "$bulwark_pid"
done
for name in nginx_download bulwark_download nginx_upload bulwark_upload nginx_websocket \
  bulwark_websocket; do
  rate[$name]=$(median "${rounds_rate[$name]}")
  cpu[$name]=$(median "${rounds_cpu[$name]}")
done
echo
echo "gateway_download_mb_per_s: ${rate[bulwark_download]} MB/s"
echo "nginx_download_mb_per_s: ${rate[nginx_download]} MB/s"
echo "gateway_download_ratio_vs_nginx: $(ratio "${rate[bulwark_download]}" "${rate[nginx_download]}")"
echo "gateway_download_cpu_ms_per_gib: ${cpu[bulwark_download]} ms"
echo "nginx_download_cpu_ms_per_gib: ${cpu[nginx_download]} ms"
echo "gateway_upload_mb_per_s: ${rate[bulwark_upload]} MB/s"
echo "nginx_upload_mb_per_s: ${rate[nginx_upload]} MB/s"
echo "gateway_upload_ratio_vs_nginx: $(ratio "${rate[bulwark_upload]}" "${rate[nginx_upload]}")"
echo "gateway_upload_cpu_ms_per_gib: ${cpu[bulwark_upload]} ms"
echo "nginx_upload_cpu_ms_per_gib: ${cpu[nginx_upload]} ms"
echo "gateway_websocket_msgs_per_s: ${rate[bulwark_websocket]} msg/s"
echo "nginx_websocket_msgs_per_s: ${rate[nginx_websocket]} msg/s"
echo "gateway_websocket_ratio_vs_nginx: $(ratio "${rate[bulwark_websocket]}" "${rate[nginx_websocket]}")"
echo "gateway_websocket_cpu_us_per_msg: ${cpu[bulwark_websocket]} us"
echo "nginx_websocket_cpu_us_per_msg: ${cpu[nginx_websocket]} us"
