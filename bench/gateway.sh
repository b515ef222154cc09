#!/usr/bin/env bash
# Gateway benchmark: on loopback, the proxy under test pinned to one core and
# wrk plus the backend on the other, same backend and connections for all:
#   direct       wrk -> backend (nginx returning a small body)
#   nginx        nginx as a plain reverse proxy, one worker
#   haproxy_jwt  HAProxy verifying an ES256 JWT with jwt_verify, one thread
#   bulwark      Bulwark's full chain: JWT ES256 verify, route authorization
#                (scope), rate limit, audit to a file, reverse proxy, one io thread
#   nginx_fields nginx as a plain proxy that passes on and answers the same
#                fields Bulwark does (X-Forwarded-*, X-Request-Id, the
#                identity's X-Bulwark-* as fixed values, RateLimit), verifying
#                nothing: what those fields cost the backend and wrk, apart
#                from the work of checking the caller
# with the token reused as real clients reuse it, and again (HAProxy and
# Bulwark) with a fresh token on every request, more tokens than the
# verification cache holds, so every signature is checked. Then the same
# proxies again with TLS 1.3 on the client side (wrk over https, keep-alive
# connections; each proxy terminates TLS with the same P-256 certificate),
# and nginx and Bulwark once more with plain clients and TLS 1.3 to the
# service (the backend's second listener; keep-alive connections to it, its
# certificate verified).
# Prints requests/s, p50/p99, the proxy's CPU time per request (from
# /proc/<pid>/stat) and the backend's (on the load generator's core, so a
# proxy that makes it work harder leaves less of that core to wrk) and the
# times the backend went to sleep and was woken per 1000 requests (its
# voluntary context switches: a proxy whose sends to it come spread out wakes
# it more often, and each wake-up costs that core, and preempts wrk, where
# switching tasks is dear, as in a virtual machine) and the
# time a virtual machine's host took from its cores meanwhile (steal) for each
# of 3 rounds (BULWARK_BENCH_ROUNDS) in which the systems take turns (a run
# with reused tokens that lost more than 10 ms per second of it to the host,
# BULWARK_BENCH_MAX_STEAL_MS, is run again up to twice,
# BULWARK_BENCH_STEAL_RETRIES, and the least stolen attempt kept), their
# medians, then `name: value unit` lines (`..._tls` for TLS, `..._tls_upstream`
# for TLS to the service) from the medians.
# With BULWARK_BENCH_CALLGRIND=1 it also counts the instructions Bulwark
# executes per proxied request (all its threads, user space, under
# valgrind's callgrind, reused token): unlike times, the count repeats from
# run to run on a shared machine, so it shows what a change to the request
# path saves (`gateway_instructions_per_req`, and
# `gateway_uncached_instructions_per_req` with fresh tokens), and the same
# for nginx as the plain proxy (`nginx_instructions_per_req`, the ratio in
# `gateway_instructions_ratio_vs_nginx`), and both again over TLS 1.3 (the
# `_tls` twins), and again with TLS to the service (`_tls_upstream`). With
# BULWARK_BENCH_CALLGRIND_KEEP=DIR the seven profiles are kept there.
# Usage: bench/gateway.sh [BUILD_DIR]   (BULWARK_BENCH_QUICK=1 for a smoke run)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:-$root/build}")
bulwark="$build/src/cli/bulwark"
for tool in wrk nginx haproxy node; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
    echo "missing $tool (scripts/install-deps.sh --test)"; exit 1; }
done
if [ "${BULWARK_BENCH_QUICK:-0}" = 1 ]; then
  duration=1; conns=8; fresh_tokens=6000; rounds=1; steal_retries=${BULWARK_BENCH_STEAL_RETRIES:-0}
else
  duration=5; conns=32
  # A run (reused tokens) the host took more than this from is run again, up
  # to this many times, keeping the attempt it took least from.
  steal_retries=${BULWARK_BENCH_STEAL_RETRIES:-2}
  rounds=${BULWARK_BENCH_ROUNDS:-3}
  # Each round's fresh runs start 100,000 tokens further on, so no run meets
  # a token an earlier one left in the 65,536-entry verification cache.
  fresh_tokens=$((rounds > 2 ? rounds * 100000 : 200000))
fi
max_steal_ms=${BULWARK_BENCH_MAX_STEAL_MS:-$((duration * 10))}
proxy_cpu=0
load_cpu=1
[ "$(nproc)" -gt 1 ] || load_cpu=0

source "$root/bench/proxy_lib.sh"

# One certificate for every TLS listener.
make_certificate
cat "$work/tls.crt" "$work/tls.key" >"$work/tls.pem"

back=$(free_port)
back_tls=$(free_port)
start_nginx backend "$load_cpu" <<NGINX
  server { listen 127.0.0.1:$back; listen 127.0.0.1:$back_tls ssl;
    ssl_certificate $work/tls.crt; ssl_certificate_key $work/tls.key; ssl_protocols TLSv1.3;
    location / { return 200 "ok\n"; } location = /status { stub_status; } }
NGINX

nginx_port=$(free_port)
nginx_tls_port=$(free_port)
nginx_up_port=$(free_port)
nginx_fields_port=$(free_port)
start_nginx proxy "$proxy_cpu" <<NGINX
  upstream backend { server 127.0.0.1:$back; keepalive 64; }
  upstream backend_tls { server 127.0.0.1:$back_tls; keepalive 64; }
  server { listen 127.0.0.1:$nginx_port;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:$nginx_tls_port ssl;
    ssl_certificate $work/tls.crt; ssl_certificate_key $work/tls.key; ssl_protocols TLSv1.3;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:$nginx_up_port;
    location / { proxy_pass https://backend_tls; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_ssl_protocols TLSv1.3; proxy_ssl_verify on; proxy_ssl_trusted_certificate $work/tls.crt;
      proxy_ssl_name localhost; } }
  server { listen 127.0.0.1:$nginx_fields_port;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host \$http_host; proxy_set_header Authorization "";
      proxy_set_header X-Forwarded-For \$remote_addr; proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$http_host; proxy_set_header X-Request-Id \$request_id;
      proxy_set_header X-Bulwark-Subject bench; proxy_set_header X-Bulwark-Issuer idp;
      proxy_set_header X-Bulwark-Scopes read; proxy_set_header X-Bulwark-Credential jwt;
      add_header X-Request-Id \$request_id; add_header RateLimit-Policy '"api";q=1000000000;w=1';
      add_header RateLimit '"api";r=999999999;t=1'; } }
NGINX

"$bulwark" keys generate --alg ES256 --kid bench >"$work/idp.jwk"
"$bulwark" keys public --key "$work/idp.jwk" >"$work/idp.pub.jwk"
node "$root/bench/node/jwk_to_pem.mjs" "$work/idp.pub.jwk" >"$work/idp.pub.pem"
now=$(date +%s)
claims="{\"iss\":\"https://idp.example\",\"sub\":\"bench\",\"aud\":\"api\",\"scope\":\"read\",\"iat\":$now,\"exp\":$((now + 3600))}"
token=$("$bulwark" jwt sign --key "$work/idp.jwk" --claims "$claims")
"$bulwark" jwt sign --key "$work/idp.jwk" --claims "$claims" --count "$fresh_tokens" >"$work/tokens.txt"
cat >"$work/fresh.lua" <<LUA
local tokens = {}
for line in io.lines("$work/tokens.txt") do tokens[#tokens + 1] = line end
-- Arguments: the first token's index (from 0) and, optionally, how many to
-- cycle through from there (else all, wrapping round the list).
local first, span, n = 0, nil, 0
init = function(args)
  first = tonumber(args[1] or "0")
  span = args[2] and tonumber(args[2]) or #tokens
end
request = function()
  local i = (first + n % span) % #tokens + 1
  n = n + 1
  return wrk.format("GET", "/x", { ["Authorization"] = "Bearer " .. tokens[i] })
end
LUA

haproxy_port=$(free_port)
haproxy_tls_port=$(free_port)
cat >"$work/haproxy.cfg" <<CFG
global
  nbthread 1
  pidfile $work/haproxy.pid
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:$haproxy_port
  bind 127.0.0.1:$haproxy_tls_port ssl crt $work/tls.pem ssl-min-ver TLSv1.3
  http-request set-var(txn.bearer) http_auth_bearer
  http-request deny deny_status 401 unless { var(txn.bearer) -m found }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify("ES256","$work/idp.pub.pem") -m int 1 }
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:$back
CFG
taskset -c "$proxy_cpu" haproxy -D -f "$work/haproxy.cfg"

cat >"$work/bulwark.yaml" <<YAML
server: {listen: 127.0.0.1:0, threads: 1}
store: {backend: memory}
gateway:
  audit: {file: audit.jsonl}
  upstreams: [{name: backend, address: 127.0.0.1:$back}]
  issuers: [{name: idp, issuer: "https://idp.example", audiences: [api], jwks_file: idp.pub.jwk}]
  routes:
    - name: api
      path_prefix: /
      upstream: backend
      authz: {scopes: [read]}
      rate_limit: {key: principal, limit: 1000000000, window_ms: 1000}
YAML
# The same gateway with a TLS listener, as a second process on the same core.
with_tls_listener bulwark.yaml bulwark-tls.yaml
start_gateway bulwark.yaml bulwark.log
bulwark_port=$started_port
bulwark_pid=$started_pid
start_gateway bulwark-tls.yaml bulwark-tls.log
bulwark_tls_port=$started_port
bulwark_tls_pid=$started_pid
# And a third whose service is reached over TLS 1.3 (plain clients), its
# certificate verified as nginx verifies it above.
sed -e "s|address: 127.0.0.1:$back}|address: 127.0.0.1:$back_tls, tls: {ca_file: tls.crt, server_name: localhost}}|" \
  -e 's|audit.jsonl|audit-up.jsonl|' "$work/bulwark.yaml" >"$work/bulwark-up.yaml"
start_gateway bulwark-up.yaml bulwark-up.log
bulwark_up_port=$started_port
bulwark_up_pid=$started_pid
[ -n "${BULWARK_BENCH_HOLD:-}" ] && { echo "bulwark on $bulwark_port (tls $bulwark_tls_port), token $token"; sleep "$BULWARK_BENCH_HOLD"; }

check() {  # the proxy must really pass the request through: check URL NAME
  local got
  got=$(curl -s --cacert "$work/tls.crt" -H "Authorization: Bearer $token" "$1/x")
  [ "$got" = "ok" ] || { echo "$2 did not proxy: '$got'"; exit 1; }
}
check "http://127.0.0.1:$back" direct
check "http://127.0.0.1:$nginx_port" nginx
check "http://127.0.0.1:$haproxy_port" haproxy
check "http://127.0.0.1:$bulwark_port" bulwark
check "http://127.0.0.1:$nginx_fields_port" nginx_fields
check "https://127.0.0.1:$nginx_tls_port" nginx_tls
check "https://127.0.0.1:$haproxy_tls_port" haproxy_tls
check "https://127.0.0.1:$bulwark_tls_port" bulwark_tls
check "http://127.0.0.1:$nginx_up_port" nginx_tls_upstream
check "http://127.0.0.1:$bulwark_up_port" bulwark_tls_upstream
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$haproxy_port/x")" = 401 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$bulwark_port/x")" = 401 ]

# Time the host took from this virtual machine's cores while they had work
# (steal, in ticks, both cores): a run with tens of milliseconds of it fell in
# a slow spell of the host, whichever system ran then.
steal_ticks() { awk '$1 == "cpu" {print $9}' /proc/stat; }
# Times the process `pid` (one thread) went to sleep.
sleeps() { awk '$1 == "voluntary_ctxt_switches:" {print $2}' "/proc/$1/status"; }
per_kilo_request() {  # per_kilo_request COUNT REQUESTS
  awk -v c="$1" -v n="$2" 'BEGIN { printf "%.0f", c * 1000 / n }'
}
us_per_request() {  # us_per_request TICKS REQUESTS
  awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }'
}
declare -A rps p50 p99 cpu_us backend_us wakeups rounds_rps rounds_cpu rounds_backend \
  rounds_wakeups rounds_latency
run() {  # run NAME URL PID [fresh]: one round's figures for NAME
  local name=$1 url=$2 pid=${3:-} before=0 after out requests r c="-" l50 l99 b0 b1 b s0 s1 w0 w1 w
  local how=(-H "Authorization: Bearer $token")
  local script_args=() attempt=0 stolen kept="" kept_stolen=0 tries=$((steal_retries + 1))
  # Fresh tokens are spent once: a second attempt would meet the first's in
  # the verification cache.
  [ "${4:-}" = fresh ] && how=(-s "$work/fresh.lua") && script_args=(-- $(((round - 1) * 100000))) &&
    tries=1
  while [ "$attempt" -lt "$tries" ]; do
    attempt=$((attempt + 1))
    [ -n "$pid" ] && before=$(cpu_ticks "$pid")
    b0=$(cpu_ticks "$backend_pid")
    w0=$(sleeps "$backend_pid")
    s0=$(steal_ticks)
    out=$(taskset -c "$load_cpu" wrk -t1 -c"$conns" -d"${duration}s" --latency \
      "${how[@]}" "$url/x" "${script_args[@]}")
    [ -n "$pid" ] && after=$(cpu_ticks "$pid")
    b1=$(cpu_ticks "$backend_pid")
    w1=$(sleeps "$backend_pid")
    s1=$(steal_ticks)
    stolen=$(((s1 - s0) * 1000 / $(getconf CLK_TCK)))
    r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    l50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    l99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    [ -n "$pid" ] && c=$(us_per_request $((after - before)) "$requests")
    b=$(us_per_request $((b1 - b0)) "$requests")
    w=$(per_kilo_request $((w1 - w0)) "$requests")
    # Bulwark's audit records (tens of MB a run) go to disk before the next
    # run: left to the kernel, they are written back some 30 s later, in
    # bursts on either core that would fall on whichever system runs then.
    sync
    # Of the attempts, the one the host took least from (not the fastest).
    if [ -z "$kept" ] || [ "$stolen" -lt "$kept_stolen" ]; then
      kept="$r $l50 $l99 $c $b $w"
      kept_stolen=$stolen
    fi
    [ "$stolen" -le "$max_steal_ms" ] && break
  done
  read -r r l50 l99 c b w <<<"$kept"
  rounds_rps[$name]+="$r "
  rounds_cpu[$name]+="$c "
  rounds_backend[$name]+="$b "
  rounds_wakeups[$name]+="$w "
  rounds_latency[$name]+="$r,$l50,$l99 "
  printf '%-12s %10s req/s  p50 %8s  p99 %8s  proxy cpu %6s us/req  backend %5s (%4s wakes/kreq)  steal %4s ms%s\n' \
    "$name" "$r" "$l50" "$l99" "$c" "$b" "$w" "$kept_stolen" \
    "$([ "$attempt" -gt 1 ] && echo " (least stolen of $attempt)")"
}
# nginx and HAProxy work in a child of the process their pid file names.
nginx_pid=$(pgrep -P "$(cat "$work/proxy.pid")" | head -1)
backend_pid=$(pgrep -P "$(cat "$work/backend.pid")" | head -1)
haproxy_pid=$(pgrep -P "$(cat "$work/haproxy.pid")" | head -1 || cat "$work/haproxy.pid")
# The systems take turns, round after round, so that a slow spell of this
# shared machine falls on all of them; each figure is the median over rounds.
for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds:"
  run direct "http://127.0.0.1:$back"
  run nginx "http://127.0.0.1:$nginx_port" "$nginx_pid"
  run haproxy_jwt "http://127.0.0.1:$haproxy_port" "$haproxy_pid"
  run bulwark "http://127.0.0.1:$bulwark_port" "$bulwark_pid"
  run nginx_fields "http://127.0.0.1:$nginx_fields_port" "$nginx_pid"
  run haproxy_jwt_fresh "http://127.0.0.1:$haproxy_port" "$haproxy_pid" fresh
  run bulwark_fresh "http://127.0.0.1:$bulwark_port" "$bulwark_pid" fresh
  run nginx_tls "https://127.0.0.1:$nginx_tls_port" "$nginx_pid"
  run haproxy_jwt_tls "https://127.0.0.1:$haproxy_tls_port" "$haproxy_pid"
  run bulwark_tls "https://127.0.0.1:$bulwark_tls_port" "$bulwark_tls_pid"
  run haproxy_jwt_fresh_tls "https://127.0.0.1:$haproxy_tls_port" "$haproxy_pid" fresh
  run bulwark_fresh_tls "https://127.0.0.1:$bulwark_tls_port" "$bulwark_tls_pid" fresh
  run nginx_tls_upstream "http://127.0.0.1:$nginx_up_port" "$nginx_pid"
  run bulwark_tls_upstream "http://127.0.0.1:$bulwark_up_port" "$bulwark_up_pid"
done
echo
echo "medians over $rounds rounds (p50 and p99 from the round with the median req/s):"
for name in direct nginx haproxy_jwt bulwark nginx_fields haproxy_jwt_fresh bulwark_fresh nginx_tls \
  haproxy_jwt_tls bulwark_tls haproxy_jwt_fresh_tls bulwark_fresh_tls nginx_tls_upstream \
  bulwark_tls_upstream; do
  rps[$name]=$(median "${rounds_rps[$name]}")
  cpu_us[$name]=$(median "${rounds_cpu[$name]}")
  backend_us[$name]=$(median "${rounds_backend[$name]}")
  wakeups[$name]=$(median "${rounds_wakeups[$name]}")
  [ "${cpu_us[$name]}" = "" ] && cpu_us[$name]="-"
  for entry in ${rounds_latency[$name]}; do
    IFS=, read -r r l50 l99 <<<"$entry"
    [ "$r" = "${rps[$name]}" ] && { p50[$name]=$l50; p99[$name]=$l99; }
  done
  printf '%-12s %10s req/s  p50 %8s  p99 %8s  proxy cpu %6s us/req  backend %5s (%4s wakes/kreq)\n' \
    "$name" "${rps[$name]}" "${p50[$name]}" "${p99[$name]}" "${cpu_us[$name]}" "${backend_us[$name]}" \
    "${wakeups[$name]}"
done

echo
# The summary lines, plain (suffix ""), over TLS (_tls) and with TLS to the
# service (_tls_upstream, which has no HAProxy or fresh-token rows).
summary() {
  local t=$1 haproxy=${rps[haproxy_jwt$1]:+yes}
  echo "gateway_rps$t: ${rps[bulwark$t]} req/s"
  echo "nginx_rps$t: ${rps[nginx$t]} req/s"
  [ -n "$haproxy" ] && echo "haproxy_jwt_rps$t: ${rps[haproxy_jwt$t]} req/s"
  echo "gateway_rps_ratio_vs_nginx$t: $(ratio "${rps[bulwark$t]}" "${rps[nginx$t]}") ratio"
  if [ -n "$haproxy" ]; then
    echo "gateway_rps_ratio_vs_haproxy_jwt$t: $(ratio "${rps[bulwark$t]}" "${rps[haproxy_jwt$t]}") ratio"
    echo "gateway_uncached_rps_ratio_vs_haproxy_jwt$t: $(ratio "${rps[bulwark_fresh$t]}" "${rps[haproxy_jwt_fresh$t]}") ratio"
  fi
  echo "gateway_cpu_us_per_req$t: ${cpu_us[bulwark$t]} us"
  [ -n "$haproxy" ] && echo "gateway_uncached_cpu_us_per_req$t: ${cpu_us[bulwark_fresh$t]} us"
  echo "nginx_cpu_us_per_req$t: ${cpu_us[nginx$t]} us"
  [ -n "$haproxy" ] && echo "haproxy_jwt_cpu_us_per_req$t: ${cpu_us[haproxy_jwt$t]} us"
  echo "gateway_backend_cpu_us_per_req$t: ${backend_us[bulwark$t]} us"
  echo "nginx_backend_cpu_us_per_req$t: ${backend_us[nginx$t]} us"
  echo "gateway_backend_wakeups_per_kreq$t: ${wakeups[bulwark$t]}"
  echo "nginx_backend_wakeups_per_kreq$t: ${wakeups[nginx$t]}"
  echo "gateway_p99$t: ${p99[bulwark$t]}"
  echo "nginx_p99$t: ${p99[nginx$t]}"
}
summary ""
echo "nginx_fields_rps: ${rps[nginx_fields]} req/s"
echo "gateway_rps_ratio_vs_nginx_fields: $(ratio "${rps[bulwark]}" "${rps[nginx_fields]}") ratio"
echo "nginx_fields_cpu_us_per_req: ${cpu_us[nginx_fields]} us"
echo "nginx_fields_backend_cpu_us_per_req: ${backend_us[nginx_fields]} us"
summary _tls
summary _tls_upstream

if [ "${BULWARK_BENCH_CALLGRIND:-0}" = 1 ]; then
  command -v valgrind >/dev/null || { echo "missing valgrind (scripts/install-deps.sh --test)"; exit 1; }
  # Bulwark, and nginx as the plain proxy (one process: no master), each
  # under callgrind with its own profile.
  sed -e 's|audit.jsonl|audit-callgrind.jsonl|' "$work/bulwark.yaml" >"$work/bulwark-callgrind.yaml"
  sed -e 's|audit-tls.jsonl|audit-callgrind-tls.jsonl|' "$work/bulwark-tls.yaml" >"$work/bulwark-callgrind-tls.yaml"
  (cd "$work" && exec valgrind --tool=callgrind --callgrind-out-file="$work/callgrind-bulwark.out" \
    "$bulwark" serve --config bulwark-callgrind.yaml >"$work/callgrind.log" 2>&1) &
  bulwark_cg_pid=$!
  pids+=("$bulwark_cg_pid")
  (cd "$work" && exec valgrind --tool=callgrind --callgrind-out-file="$work/callgrind-bulwark-tls.out" \
    "$bulwark" serve --config bulwark-callgrind-tls.yaml >"$work/callgrind-tls.log" 2>&1) &
  bulwark_cg_tls_pid=$!
  pids+=("$bulwark_cg_tls_pid")
  sed -e 's|audit-up.jsonl|audit-callgrind-up.jsonl|' "$work/bulwark-up.yaml" >"$work/bulwark-callgrind-up.yaml"
  (cd "$work" && exec valgrind --tool=callgrind --callgrind-out-file="$work/callgrind-bulwark-up.out" \
    "$bulwark" serve --config bulwark-callgrind-up.yaml >"$work/callgrind-up.log" 2>&1) &
  bulwark_cg_up_pid=$!
  pids+=("$bulwark_cg_up_pid")
  nginx_cg_port=$(free_port)
  nginx_cg_tls_port=$(free_port)
  nginx_cg_up_port=$(free_port)
  cat >"$work/proxy-callgrind.conf" <<NGINX
$user_line
worker_processes 1; master_process off; daemon off;
${nginx_common//PIDFILE/$work/proxy-callgrind.pid}
http { access_log off; $temp_paths
  upstream backend { server 127.0.0.1:$back; keepalive 64; }
  upstream backend_tls { server 127.0.0.1:$back_tls; keepalive 64; }
  server { listen 127.0.0.1:$nginx_cg_port;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:$nginx_cg_tls_port ssl;
    ssl_certificate $work/tls.crt; ssl_certificate_key $work/tls.key; ssl_protocols TLSv1.3;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:$nginx_cg_up_port;
    location / { proxy_pass https://backend_tls; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_ssl_protocols TLSv1.3; proxy_ssl_verify on; proxy_ssl_trusted_certificate $work/tls.crt;
      proxy_ssl_name localhost; } } }
NGINX
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind-nginx.out" \
    nginx -p "$work" -c "$work/proxy-callgrind.conf" >"$work/callgrind-nginx.log" 2>&1 &
  nginx_cg_pid=$!
  pids+=("$nginx_cg_pid")
  bulwark_cg_port=""
  bulwark_cg_tls_port=""
  bulwark_cg_up_port=""
  for _ in $(seq 1 300); do
    bulwark_cg_port=$(sed -n 's/.*"msg":"server.listening".*"port":\([0-9]*\).*/\1/p' "$work/callgrind.log" | head -1)
    bulwark_cg_tls_port=$(sed -n 's/.*"msg":"server.listening".*"port":\([0-9]*\).*/\1/p' "$work/callgrind-tls.log" | head -1)
    bulwark_cg_up_port=$(sed -n 's/.*"msg":"server.listening".*"port":\([0-9]*\).*/\1/p' "$work/callgrind-up.log" | head -1)
    [ -n "$bulwark_cg_port" ] && [ -n "$bulwark_cg_tls_port" ] && [ -n "$bulwark_cg_up_port" ] &&
      curl -s -o /dev/null "http://127.0.0.1:$nginx_cg_port/x" && break
    sleep 0.1
  done
  [ -n "$bulwark_cg_port" ] || { cat "$work/callgrind.log"; exit 1; }
  [ -n "$bulwark_cg_tls_port" ] || { cat "$work/callgrind-tls.log"; exit 1; }
  [ -n "$bulwark_cg_up_port" ] || { cat "$work/callgrind-up.log"; exit 1; }
  check "http://127.0.0.1:$nginx_cg_port" nginx_callgrind
  check "https://127.0.0.1:$nginx_cg_tls_port" nginx_callgrind_tls
  check "https://127.0.0.1:$bulwark_cg_tls_port" bulwark_callgrind_tls
  check "http://127.0.0.1:$nginx_cg_up_port" nginx_callgrind_tls_upstream
  check "http://127.0.0.1:$bulwark_cg_up_port" bulwark_callgrind_tls_upstream
  # served: the requests the backend has answered so far (its stub_status).
  served() { curl -s "http://127.0.0.1:$back/status" | awk 'NR == 3 { print $3 }'; }
  # count_instructions PID URL NAME WRK_ARGS...: instructions per request,
  # after a warm-up (pools, caches; the issuer key's tables) with the wrk
  # options in the array `warm` and the script's arguments in `warm_args`;
  # the counted run's script arguments are in `count_args`. The count starts
  # once the counted run's connections are up, so it holds no handshake (a
  # TLS handshake costs as much as hundreds of requests), and its requests
  # are those the backend answered meanwhile.
  count_instructions() {
    local pid=$1 url=$2 name=$3 seconds=$((duration > 5 ? 5 : duration)) load first requests dump
    local instructions
    shift 3
    wrk -t1 -c8 -d2s "${warm[@]}" "$url" "${warm_args[@]}" >/dev/null
    wrk -t1 -c8 -d"$((seconds + 4))s" "$@" "$url" "${count_args[@]}" >/dev/null &
    load=$!
    sleep 2
    callgrind_control -z "$pid" >/dev/null 2>&1
    first=$(served)
    sleep "$seconds"
    callgrind_control -d "$name" "$pid" >/dev/null 2>&1
    requests=$(($(served) - first - 1))
    wait "$load"
    sleep 1
    dump=$(ls -t "$work"/callgrind-*.out.* | head -1)
    [ -n "${BULWARK_BENCH_CALLGRIND_KEEP:-}" ] && cp "$dump" "$BULWARK_BENCH_CALLGRIND_KEEP/callgrind.$name"
    instructions=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    echo $((instructions / requests))
  }
  # compare SUFFIX BULWARK_PID BULWARK_URL NGINX_URL: Bulwark and nginx
  # counted on the same requests (the reused token, which nginx parses and
  # passes on too), and the ratio. Over TLS wrk keeps its connections, so
  # the count holds the records' work, not handshakes (those fall in the
  # warm-up); to a TLS service the pools' connections are made in it.
  compare() {
    local t=$1 gateway nginx
    warm=(-H "Authorization: Bearer $token")
    gateway=$(count_instructions "$2" "$3" "reused$t" "${warm[@]}")
    nginx=$(count_instructions "$nginx_cg_pid" "$4" "nginx$t" "${warm[@]}")
    echo "gateway_instructions_per_req$t: $gateway instructions"
    echo "nginx_instructions_per_req$t: $nginx instructions"
    echo "gateway_instructions_ratio_vs_nginx$t: $(ratio "$gateway" "$nginx") ratio"
  }
  warm_args=()
  count_args=()
  bulwark_url="http://127.0.0.1:$bulwark_cg_port/x"
  compare "" "$bulwark_cg_pid" "$bulwark_url" "http://127.0.0.1:$nginx_cg_port/x"
  # Fresh tokens warm up on the second half of the list and are counted on
  # the first (fewer requests than that under callgrind), so the counted run
  # meets none the warm-up left in the verification cache.
  warm=(-s "$work/fresh.lua")
  warm_args=(-- $((fresh_tokens / 2)) $((fresh_tokens / 2)))
  count_args=(-- 0 $((fresh_tokens / 2)))
  fresh=$(count_instructions "$bulwark_cg_pid" "$bulwark_url" fresh -s "$work/fresh.lua")
  echo "gateway_uncached_instructions_per_req: $fresh instructions"
  warm_args=()
  count_args=()
  compare _tls "$bulwark_cg_tls_pid" "https://127.0.0.1:$bulwark_cg_tls_port/x" \
    "https://127.0.0.1:$nginx_cg_tls_port/x"
  compare _tls_upstream "$bulwark_cg_up_pid" "http://127.0.0.1:$bulwark_cg_up_port/x" \
    "http://127.0.0.1:$nginx_cg_up_port/x"
fi
