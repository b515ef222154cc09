#!/usr/bin/env bash
# Runs a Bulwark built with BULWARK_PGO=generate through the traffic a gateway
# serves, so that the optimized build (BULWARK_PGO=use) lays out its code for
# it: proxied requests over plain HTTP and TLS 1.3, with a JWT reused and a
# fresh one each time, TLS to the service, large streamed answers, request
# bodies, refusals (401, 403, 429) and the nginx forward-auth endpoint. The
# service is nginx, the load wrk; every path is checked to answer as it should
# before it is trained, and the servers are stopped cleanly at the end, which
# is when they write the profile.
# Usage: scripts/pgo-train.sh BUILD_DIR   (scripts/build-release.sh runs it;
# BULWARK_PGO_TRAIN_SECONDS, default 2, is the length of each load)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:?usage: scripts/pgo-train.sh BUILD_DIR}")
bulwark="$build/src/cli/bulwark"
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
    echo "missing $tool (scripts/install-deps.sh --test)"; exit 1; }
done
seconds=${BULWARK_PGO_TRAIN_SECONDS:-2}
# As deployed, and as bench/gateway.sh measures: an io thread per core, here
# one, pinned apart from the load.
proxy_cpu=0
load_cpu=1
[ "$(nproc)" -gt 1 ] || load_cpu=0
source "$root/bench/proxy_lib.sh"

make_certificate
mkdir -p "$work/www/public"
head -c $((1024 * 1024)) /dev/urandom >"$work/www/public/large.bin"
back=$(free_port)
back_tls=$(free_port)
start_nginx backend "$load_cpu" <<NGINX
  server { listen 127.0.0.1:$back; listen 127.0.0.1:$back_tls ssl;
    ssl_certificate $work/tls.crt; ssl_certificate_key $work/tls.key; ssl_protocols TLSv1.3;
    location = /public/large.bin { root $work/www; }
    location / { return 200 "ok\n"; } }
NGINX

"$bulwark" keys generate --alg ES256 --kid train >"$work/idp.jwk"
"$bulwark" keys public --key "$work/idp.jwk" >"$work/idp.pub.jwk"
now=$(date +%s)
claims="{\"iss\":\"https://idp.example\",\"sub\":\"train\",\"aud\":\"api\",\"scope\":\"read\",\"iat\":$now,\"exp\":$((now + 3600))}"
token=$("$bulwark" jwt sign --key "$work/idp.jwk" --claims "$claims")
"$bulwark" jwt sign --key "$work/idp.jwk" --claims "$claims" --count 20000 >"$work/tokens.txt"
cat >"$work/fresh.lua" <<LUA
local tokens, n = {}, 0
for line in io.lines("$work/tokens.txt") do tokens[#tokens + 1] = line end
request = function()
  n = n + 1
  return wrk.format("GET", "/api/x", { ["Authorization"] = "Bearer " .. tokens[n % #tokens + 1] })
end
LUA
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = string.rep("x", 4096)
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Authorization"] = "Bearer $token"
LUA

cat >"$work/train.yaml" <<YAML
server: {listen: 127.0.0.1:0, threads: 1}
store: {backend: memory}
gateway:
  audit: {file: audit.jsonl}
  forward_auth: {trusted_proxies: [127.0.0.1/32]}
  upstreams:
    - {name: backend, address: 127.0.0.1:$back}
    - {name: backend-tls, address: 127.0.0.1:$back_tls, tls: {ca_file: tls.crt, server_name: localhost}}
  issuers: [{name: idp, issuer: "https://idp.example", audiences: [api], jwks_file: idp.pub.jwk}]
  routes:
    - {name: public, path_prefix: /public, upstream: backend, authn: {mode: none}}
    - name: api
      path_prefix: /api
      upstream: backend
      authz: {scopes: [read]}
      rate_limit: {key: principal, limit: 1000000000, window_ms: 1000}
    - {name: service-tls, path_prefix: /secure, upstream: backend-tls, authz: {scopes: [read]}}
    - {name: admin, path_prefix: /admin, upstream: backend, authz: {scopes: [admin]}}
    - name: limited
      path_prefix: /limited
      upstream: backend
      authn: {mode: none}
      rate_limit: {key: client_ip, limit: 10, window_ms: 60000}
YAML
with_tls_listener train.yaml train-tls.yaml
start_gateway train.yaml train.log
port=$started_port
plain_pid=$started_pid
start_gateway train-tls.yaml train-tls.log
tls_port=$started_port
tls_pid=$started_pid
plain="http://127.0.0.1:$port"
tls="https://127.0.0.1:$tls_port"

expect() {  # expect STATUS URL [curl options...]: the path answers as it should
  local want=$1 url=$2 got
  shift 2
  got=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/tls.crt" "$@" "$url")
  [ "$got" = "$want" ] || { echo "pgo-train: $url answered $got, not $want"; exit 1; }
}
bearer=(-H "Authorization: Bearer $token")
expect 200 "$plain/api/x" "${bearer[@]}"
expect 200 "$tls/api/x" "${bearer[@]}"
expect 200 "$plain/secure/x" "${bearer[@]}"
expect 200 "$plain/public/large.bin"
expect 200 "$plain/api/x" "${bearer[@]}" --data-binary @"$work/www/public/large.bin"
expect 401 "$plain/api/x"
expect 403 "$plain/admin/x" "${bearer[@]}"
expect 200 "$plain/auth/nginx" "${bearer[@]}" -H "X-Original-Method: GET" -H "X-Original-URI: /api/x" -H "X-Original-Host: api.example"

load() {  # load SECONDS URL [wrk options...]
  local s=$1 url=$2
  shift 2
  taskset -c "$load_cpu" wrk -t1 -c32 -d"${s}s" "$@" "$url" >/dev/null
}
load $((seconds * 2)) "$plain/api/x" "${bearer[@]}"
load "$seconds" "$plain" -s "$work/fresh.lua"
load $((seconds * 2)) "$tls/api/x" "${bearer[@]}"
load "$seconds" "$tls" -s "$work/fresh.lua"
load "$seconds" "$plain/secure/x" "${bearer[@]}"
load "$seconds" "$plain/api/x" -s "$work/post.lua"
load "$seconds" "$plain/public/large.bin"
load "$seconds" "$plain/public/x"
load "$seconds" "$plain/api/x"
load "$seconds" "$plain/admin/x" "${bearer[@]}"
load "$seconds" "$plain/limited/x"
load "$seconds" "$plain/auth/nginx" "${bearer[@]}" -H "X-Original-Method: GET" -H "X-Original-URI: /api/x" -H "X-Original-Host: api.example"

# The profile is written as each server exits.
kill "$plain_pid" "$tls_pid"
wait "$plain_pid" "$tls_pid" || true
echo "pgo-train: profile recorded"
