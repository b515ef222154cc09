#!/usr/bin/env bash
# End-to-end: `bulwark serve` as the reverse proxy in front of a real service
# (nginx, Debian package), driven by curl. The service echoes what it
# received, so the test sees exactly what crossed the gateway.
# Usage: proxy_test.sh BULWARK_BINARY
set -uo pipefail

bulwark=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
require_nginx
cd "$work" || exit 1

back=$(free_port)
flaky=$(free_port)
ident=$(free_port)
checked=$(free_port)
pair_a=$(free_port)
pair_b=$(free_port)
pair_c=$(free_port)
pair_d=$(free_port)
dead_1=$(free_port)   # nothing listens on these two
dead_2=$(free_port)
framing=$(free_port)
python3 "$here/framing_upstream.py" "$framing" &
pids+=($!)
wsport=$(free_port)
node "$here/websocket_upstream.mjs" "$wsport" &
pids+=($!)
start_nginx <<NGINX || { bad "nginx did not start"; exit 1; }
  server { listen 127.0.0.1:$pair_a; location / { return 200 "a\n"; } }
  server { listen 127.0.0.1:$pair_b; location / { return 200 "b\n"; } }
  server { listen 127.0.0.1:$pair_c; location / { return 200 "c\n"; } }
  server { listen 127.0.0.1:$pair_d; location / { return 200 "d\n"; } }
  server {
    listen 127.0.0.1:$ident;
    # A service that echoes the gateway's fields back in its answer.
    add_header X-Bulwark-Identity "\$http_x_bulwark_identity";
    add_header x-bulwark-subject root;
    add_header X-Bulwarkish kept;
    location / { return 200 "\$http_x_bulwark_identity"; }
  }
  server {
    listen 127.0.0.1:$back;
    location = /jwks.json { alias $work/remote.jwks; default_type application/json; }
    location = /public/rid { return 200 "rid=\$http_x_request_id"; }
    location = /public/own { add_header X-Request-Id svc-own; return 200 "own"; }
    location = /public/powered { add_header X-Powered-By php; return 200 "powered"; }
    location = /public/prefix { return 200 "prefix=\$http_x_forwarded_prefix"; }
    location ~ ^/(public|orders|remote)/auth\$ { return 200 "auth=[\$http_authorization]"; }
    location = /public/v1/prefix { return 200 "prefix=\$http_x_forwarded_prefix"; }
    location / {
      return 200 "uri=\$request_uri sub=\$http_x_bulwark_subject scopes=\$http_x_bulwark_scopes xff=\$http_x_forwarded_for secret=\$http_x_secret len=\$content_length\n";
    }
  }
NGINX
ok

"$bulwark" keys generate --alg ES256 --kid idp-1 >idp.jwk
"$bulwark" keys public --key idp.jwk >idp.pub.jwk
"$bulwark" keys generate --alg EdDSA --kid bulwark-id-1 >identity.jwk
# A second identity provider publishes its keys at a URL (nginx serves the file).
"$bulwark" keys generate --alg EdDSA --kid r1 >r1.jwk
"$bulwark" keys generate --alg ES256 --kid r2 >r2.jwk
jwks_of() { printf '{"keys":['; local sep=""; for k in "$@"; do printf '%s' "$sep"; "$bulwark" keys public --key "$k" | tr -d '\n'; sep=","; done; printf ']}'; }
jwks_of r1.jwk >remote.jwks
cat >docs.cedar <<'CEDAR'
@id("owners-read")
permit (principal, action == Action::"read", resource is Document)
when { resource.owner == principal };

@id("loopback-only")
forbid (principal, action, resource)
unless { context.client_ip.isLoopback() };
CEDAR
cat >docs.json <<'JSON'
[{"uid": {"type": "Document", "id": "d1"}, "attrs": {"owner": {"type": "User", "id": "alice"}}, "parents": []},
 {"uid": {"type": "Document", "id": "d2"}, "attrs": {"owner": {"type": "User", "id": "bob"}}, "parents": []}]
JSON
cat >bulwark.yaml <<YAML
server: {listen: 127.0.0.1:0, threads: 2, max_body_bytes: 33554432, drain_timeout_ms: 1000}
store: {backend: memory}
admin: {token: e2e-proxy-admin-token-0123456789abcdef}
policy:
  policies_file: docs.cedar
  entities_file: docs.json
  api_token: e2e-proxy-decision-api-token-0123456789
gateway:
  audit: {file: audit.jsonl}
  identity_token: {key_file: identity.jwk, issuer: "https://bulwark.test", ttl_seconds: 60}
  forward_auth: {trusted_proxies: [127.0.0.1/32]}
  upstreams:
    - {name: ident, address: 127.0.0.1:$ident}
    - name: checked
      address: 127.0.0.1:$checked
      circuit_breaker: {failures: 1000}   # so only the health checks can take it out
      health_check: {path: /healthz, interval_ms: 100, timeout_ms: 200, unhealthy_threshold: 2, healthy_threshold: 2}
    - {name: service, address: 127.0.0.1:$back}
    - name: pair                          # three endpoints, one of them never up
      addresses: [127.0.0.1:$pair_a, 127.0.0.1:$pair_b, 127.0.0.1:1]
      connect_timeout_ms: 500
      health_check: {path: /healthz, interval_ms: 100, timeout_ms: 200, unhealthy_threshold: 1}
    - name: pair-unchecked                # the same without health checks
      addresses: [127.0.0.1:$pair_a, 127.0.0.1:1]
      connect_timeout_ms: 500
      circuit_breaker: {failures: 1, open_ms: 60000}
    - name: hangup-pair                   # one endpoint that takes requests and hangs up
      addresses: [127.0.0.1:$framing, 127.0.0.1:$pair_a]
      circuit_breaker: {failures: 1000}
    - name: least                         # a slow endpoint and a fast one
      addresses: [127.0.0.1:$framing, 127.0.0.1:$pair_a]
      balance: least_request
      circuit_breaker: {failures: 1000}
    - name: weighted                      # three requests to a for each to b
      addresses: [{address: "127.0.0.1:$pair_a", weight: 3}, "127.0.0.1:$pair_b"]
    - name: least-open                    # one never up, one slow, one fast
      addresses: [127.0.0.1:$dead_1, 127.0.0.1:$framing, 127.0.0.1:$pair_a]
      balance: least_request
      circuit_breaker: {failures: 1, open_ms: 60000}
    - name: least-weighted
      addresses: [{address: "127.0.0.1:$pair_a", weight: 3}, "127.0.0.1:$pair_b"]
      balance: least_request
    - name: least-many                    # past four: two drawn, the less loaded taken
      addresses: [127.0.0.1:$framing, 127.0.0.1:$pair_a, 127.0.0.1:$pair_b, 127.0.0.1:$pair_c,
                  127.0.0.1:$pair_d]
      balance: least_request
      circuit_breaker: {failures: 1000}
    - name: twice                         # one service, two ways to it
      addresses: [127.0.0.1:$framing, localhost:$framing]
      response_timeout_ms: 500
      circuit_breaker: {failures: 1000}
    - name: retried                       # a service that fails its first tries
      address: 127.0.0.1:$framing
      retry: {on: [503, timeout], attempts: 3, per_try_timeout_ms: 300, backoff_base_ms: 10}
      circuit_breaker: {failures: 1000}
    - name: retried-pair                  # 503s from one endpoint, the other up
      addresses: [127.0.0.1:$framing, 127.0.0.1:$pair_a]
      retry: {on: [gateway-error]}
      circuit_breaker: {failures: 1000}
    - name: retried-breaker               # a breaker that opens between two tries
      address: 127.0.0.1:$framing
      retry: {on: [503], attempts: 3, backoff_base_ms: 0}
      circuit_breaker: {failures: 2, open_ms: 60000}
    - name: retry-budget                  # at most three retries in flight
      address: 127.0.0.1:$framing
      retry: {on: [timeout], attempts: 3, per_try_timeout_ms: 700, backoff_base_ms: 0}
      circuit_breaker: {failures: 1000}
    - name: conn-budget                   # one endpoint never up, then a slow one
      addresses: [127.0.0.1:$dead_1, 127.0.0.1:$framing]
      retry: {on: [503], backoff_base_ms: 0}
      circuit_breaker: {failures: 1000}
    - name: big-health                    # a health page of 100 kB
      address: 127.0.0.1:$framing
      health_check: {path: /framing/health-page, interval_ms: 100, timeout_ms: 2000, unhealthy_threshold: 1}
    - name: dead-pair                     # two endpoints, neither up
      addresses: [127.0.0.1:$dead_1, 127.0.0.1:$dead_2]
      circuit_breaker: {failures: 2, open_ms: 60000}
    - {name: down, address: 127.0.0.1:1, connect_timeout_ms: 500}
    - {name: flaky, address: 127.0.0.1:$flaky, circuit_breaker: {failures: 2, open_ms: 1000}}
    - {name: framing, address: 127.0.0.1:$framing, circuit_breaker: {failures: 1000}}
    - {name: late, address: 127.0.0.1:$framing, response_timeout_ms: 300, circuit_breaker: {failures: 1000}}
    - {name: ws, address: 127.0.0.1:$wsport}
    - {name: ws-idle, address: 127.0.0.1:$wsport, tunnel_idle_timeout_ms: 1000}
  issuers:
    - {name: idp, issuer: "https://idp.example", audiences: [orders-api], jwks_file: idp.pub.jwk}
    - {name: brief, issuer: "https://brief.example", audiences: [orders-api], jwks_file: idp.pub.jwk,
       leeway_seconds: 0}                 # its tokens end at their exp exactly
    - name: remote
      issuer: "https://remote.example"
      audiences: [orders-api]
      jwks_uri: "http://127.0.0.1:$back/jwks.json"
      jwks_min_refetch_seconds: 1
      forward_token: true                 # its tokens go on to the service
  routes:
    - {name: public, path_prefix: /public, authn: {mode: none}, upstream: service}
    - {name: v1, path_prefix: /api/v1, authn: {mode: none}, upstream: service, prefix_rewrite: /public/v1}
    - {name: strip, path_prefix: /strip, authn: {mode: none}, upstream: service, prefix_rewrite: /}
    - {name: strip2, path_prefix: /strip2/, authn: {mode: none}, upstream: service, prefix_rewrite: /}
    - name: fields                        # fields set and removed each way
      path_prefix: /fields
      authn: {mode: none}
      upstream: service
      prefix_rewrite: /public
      request_headers: {set: {X-Secret: from-bulwark}}
      response_headers: {set: {Strict-Transport-Security: max-age=63072000}, remove: [x-powered-by]}
    - name: fields-removed
      path_prefix: /fields-removed
      authn: {mode: none}
      upstream: service
      prefix_rewrite: /public
      request_headers: {remove: [x-secret]}
    - name: fields-refused
      path_prefix: /fields-refused
      upstream: service
      authz: {scopes: [orders:read]}
      response_headers: {set: {Strict-Transport-Security: max-age=63072000}}
    - {name: whoami, path_prefix: /whoami, upstream: ident}
    - {name: checked, path_prefix: /checked, authn: {mode: none}, upstream: checked}
    - {name: pair-unchecked, path_prefix: /pair-unchecked, authn: {mode: none}, upstream: pair-unchecked}
    - {name: pair, path_prefix: /pair, authn: {mode: none}, upstream: pair}
    - {name: hangup-pair, path_prefix: /hangup, authn: {mode: none}, upstream: hangup-pair}
    - {name: dead-pair, path_prefix: /dead-pair, authn: {mode: none}, upstream: dead-pair}
    - {name: again-pair, path_prefix: /again-pair, authn: {mode: none}, upstream: retried-pair}
    - {name: again-budget, path_prefix: /again-budget, authn: {mode: none}, upstream: retry-budget}
    - {name: again-breaker, path_prefix: /again-breaker, authn: {mode: none}, upstream: retried-breaker}
    - {name: again-plain, path_prefix: /again-plain, authn: {mode: none}, upstream: framing}
    - {name: again, path_prefix: /again, authn: {mode: none}, upstream: retried}
    - name: again-own                     # a policy of the route's, its upstream none
      path_prefix: /again-own
      authn: {mode: none}
      upstream: framing
      retry: {on: [503], attempts: 3, backoff_base_ms: 0}
    - name: again-late                    # 300 ms for all tries
      path_prefix: /again-late
      authn: {mode: none}
      upstream: late
      retry: {on: [503]}
    - name: again-reset                   # resets tried again, two tries in all
      path_prefix: /again-reset
      authn: {mode: none}
      upstream: framing
      retry: {on: [reset], attempts: 2, backoff_base_ms: 0}
    - {name: conn-budget, path_prefix: /conn-budget, authn: {mode: none}, upstream: conn-budget, prefix_rewrite: /again}
    - {name: big-health, path_prefix: /big-health, authn: {mode: none}, upstream: big-health, prefix_rewrite: /again}
    - name: again-once                    # the route turns its upstream's retries off
      path_prefix: /again-once
      authn: {mode: none}
      upstream: retried
      retry: {attempts: 1}
    - {name: least-weighted, path_prefix: /least-weighted, authn: {mode: none}, upstream: least-weighted}
    - {name: least-many, path_prefix: /least-many, authn: {mode: none}, upstream: least-many}
    - {name: least-open, path_prefix: /least-open, authn: {mode: none}, upstream: least-open}
    - {name: least, path_prefix: /least, authn: {mode: none}, upstream: least}
    - {name: twice, path_prefix: /once, authn: {mode: none}, upstream: twice}
    - {name: weighted, path_prefix: /weighted, authn: {mode: none}, upstream: weighted}
    - {name: anonymous-ident, path_prefix: /anon, authn: {mode: none}, upstream: ident}
    - {name: orders, path_prefix: /orders, authz: {scopes: [orders:read]}, upstream: service}
    - name: docs
      path_prefix: /docs
      upstream: service
      authn: {issuers: [idp]}             # policies name callers by subject: one issuer's
      authz: {cedar: {actions: {GET: read}, path: "/docs/{id}", resource: 'Document::"{id}"'}}
    - {name: remote, path_prefix: /remote, authn: {issuers: [remote]}, upstream: service}
    - {name: gone, path_prefix: /gone, authn: {mode: none}, upstream: down}
    - {name: flaky, path_prefix: /flaky, authn: {mode: none}, upstream: flaky}
    - {name: framing, path_prefix: /framing, authn: {mode: none}, upstream: framing}
    - {name: ws101, path_prefix: /ws101, authn: {mode: none}, upstream: framing, websocket: true}
    - {name: secure-upload, path_prefix: /secure, authz: {scopes: [orders:read]}, upstream: framing}
    - name: late-long                     # the route waits longer than its upstream
      path_prefix: /late-long
      authn: {mode: none}
      upstream: late
      response_timeout_ms: 4000
    - name: late-short                    # and shorter
      path_prefix: /late-short
      authn: {mode: none}
      upstream: framing
      response_timeout_ms: 300
    - {name: late, path_prefix: /late, authn: {mode: none}, upstream: late}
    - {name: ws, path_prefix: /ws/, authz: {scopes: [orders:read]}, upstream: ws, websocket: true}
    - {name: ws-idle, path_prefix: /wsidle, authn: {mode: none}, upstream: ws-idle, websocket: true}
    - {name: ws-key, path_prefix: /wskey, authn: {credentials: [api_key]}, upstream: ws, websocket: true}
    - {name: ws-exp, path_prefix: /wsexp, authn: {issuers: [brief]}, upstream: ws, websocket: true}
    - {name: ws-long, path_prefix: /wslong, authn: {issuers: [brief]}, upstream: ws, websocket: true,
       websocket_outlives_token: true}
    - {name: ws-off, path_prefix: /wsoff, authn: {mode: none}, upstream: ws}
    - name: limited
      path_prefix: /limited
      authn: {mode: none}
      upstream: service
      rate_limit: {key: client_ip, limit: 2, window_ms: 60000}
YAML
if start_bulwark bulwark.yaml bulwark.log; then ok; else bad "bulwark did not start"; exit 1; fi
port=$bulwark_port
base="http://127.0.0.1:$port"

now=$(date +%s)
good=$("$bulwark" jwt sign --key idp.jwk --claims \
  "{\"iss\":\"https://idp.example\",\"sub\":\"alice\",\"aud\":\"orders-api\",\"scope\":\"orders:read\",\"iat\":$now,\"exp\":$((now + 600))}")
code() { curl -s -o body -D headers -w '%{http_code}' "$@"; }

expect_eq "public" "$(code "$base/public/x?y=1"):$(cat body)" \
  "200:uri=/public/x?y=1 sub= scopes= xff=127.0.0.1 secret= len="
expect_eq "no token -> 401" "$(code "$base/orders/1")" "401"
if grep -qi '^WWW-Authenticate: Bearer realm="bulwark"' headers; then ok; else bad "challenge"; cat headers; fi
expect_eq "valid token reaches the service with its identity" \
  "$(code -H "Authorization: Bearer $good" "$base/orders/1"):$(cat body)" \
  "200:uri=/orders/1 sub=alice scopes=orders:read xff=127.0.0.1 secret= len="
# Past its 16th verification the issuer's key gets Bulwark's own ES256 tables
# (crypto/p256.h), built on a thread of their own. Distinct tokens, which the
# verification cache cannot answer, still pass after that, and a token that
# carries another token's signature, or one altered byte of it, is refused.
"$bulwark" jwt sign --key idp.jwk --count 60 --claims \
  "{\"iss\":\"https://idp.example\",\"sub\":\"alice\",\"aud\":\"orders-api\",\"scope\":\"orders:read\",\"iat\":$now,\"exp\":$((now + 600))}" >many.jwt
accepted=0
while read -r t; do
  [ "$(code -H "Authorization: Bearer $t" "$base/orders/1")" = 200 ] && accepted=$((accepted + 1))
  [ "$accepted" = 20 ] && sleep 0.5  # let the table build finish
done <many.jwt
expect_eq "60 distinct ES256 tokens, before and after the key's tables" "$accepted" "60"
refused=0
for i in $(seq 21 40); do
  a=$(sed -n "${i}p" many.jwt)
  b=$(sed -n "$((i + 20))p" many.jwt)
  swapped="${a%.*}.${b##*.}"
  sig="${a##*.}"
  c="${sig:20:1}"
  [ "$c" = A ] && r=B || r=A
  altered="${a%.*}.${sig:0:20}$r${sig:21}"
  [ "$(code -H "Authorization: Bearer $swapped" "$base/orders/1")" = 401 ] && refused=$((refused + 1))
  [ "$(code -H "Authorization: Bearer $altered" "$base/orders/1")" = 401 ] && refused=$((refused + 1))
done
expect_eq "signatures of other tokens and altered signatures are refused" "$refused" "40"
# A route decided by Cedar policies: the owner reads her document, not bob's,
# and the path the policies see is the normalized one the service receives.
expect_eq "cedar: owner reads" "$(code -H "Authorization: Bearer $good" "$base/docs/d1"):$(cat body)" \
  "200:uri=/docs/d1 sub=alice scopes=orders:read xff=127.0.0.1 secret= len="
expect_eq "cedar: not the owner" "$(code -H "Authorization: Bearer $good" "$base/docs/d2")" "403"
expect_eq "cedar: dot segments cannot reach another document" \
  "$(code -H "Authorization: Bearer $good" "$base/docs/d1/../d2")" "403"
expect_eq "cedar: dot segments resolve before the policies" \
  "$(code -H "Authorization: Bearer $good" "$base/docs/d2/%2e%2e/d1"):$(cat body)" \
  "200:uri=/docs/d1 sub=alice scopes=orders:read xff=127.0.0.1 secret= len="
expect_eq "cedar: PUT maps to no permitted action" \
  "$(code -X PUT -H "Authorization: Bearer $good" "$base/docs/d1")" "403"
expect_eq "client-sent identity and X-Forwarded-For are replaced" \
  "$(code -H "Authorization: Bearer $good" -H "X-Bulwark-Subject: admin" -H "X-Forwarded-For: 10.9.9.9" "$base/orders/1"):$(cat body)" \
  "200:uri=/orders/1 sub=alice scopes=orders:read xff=127.0.0.1 secret= len="
expect_eq "anonymous forged identity stays forged-free" \
  "$(code -H "X-Bulwark-Subject: admin" "$base/public/x"):$(cat body)" \
  "200:uri=/public/x sub= scopes= xff=127.0.0.1 secret= len="
# Every request gets an id of Bulwark's: the service sees it, the client is
# told it (refused too), and the audit event carries it; a client's own
# X-Request-Id goes no further.
uuid='[0-9a-f]\{8\}-[0-9a-f]\{4\}-4[0-9a-f]\{3\}-[89ab][0-9a-f]\{3\}-[0-9a-f]\{12\}'
expect_eq "request id: a client's is replaced" "$(code -H "X-Request-Id: forged" "$base/public/rid")" "200"
rid=$(sed -n 's/^rid=//p' body)
told=$(tr -d '\r' <headers | sed -n 's/^X-Request-Id: //Ip')
if echo "$rid" | grep -qx "$uuid" && [ "$told" = "$rid" ]; then ok; else bad "request id: service got '$rid', client told '$told'"; fi
code -H "X-Request-Id: forged" "$base/public/rid" >/dev/null
expect_eq "request id: each request its own" "$(sed -n 's/^rid=//p' body | grep -c "$uuid"):$([ "$(sed -n 's/^rid=//p' body)" != "$rid" ] && echo new)" "1:new"
code "$base/public/own" >/dev/null
expect_eq "request id: a service's own is the one the client gets" \
  "$(tr -d '\r' <headers | grep -i '^X-Request-Id:' | tr '\n' '|')" "X-Request-Id: svc-own|"
expect_eq "request id: a refusal tells it" "$(code "$base/orders/1")" "401"
denied_rid=$(tr -d '\r' <headers | sed -n 's/^X-Request-Id: //Ip')
if echo "$denied_rid" | grep -qx "$uuid"; then ok; else bad "request id on a 401: '$denied_rid'"; cat headers; fi
expect_eq "hop-by-hop fields named in Connection are dropped" \
  "$(code -H "Connection: X-Secret" -H "X-Secret: 1" "$base/public/h"):$(cat body)" \
  "200:uri=/public/h sub= scopes= xff=127.0.0.1 secret= len="
expect_eq "the service sees the normalized path" \
  "$(code --path-as-is -H "Authorization: Bearer $good" "$base/orders//a/./b/../1"):$(cat body)" \
  "200:uri=/orders/a/1 sub=alice scopes=orders:read xff=127.0.0.1 secret= len="
expect_eq "dot-dot from public is judged as orders" "$(code --path-as-is "$base/public/../orders/1")" "401"
# Tomcat, Jetty and Spring take /;x/orders/1 for /orders/1: refused, not
# judged by the catch-all.
expect_eq "TRACE, which would echo the identity fields -> 501" "$(code -X TRACE "$base/public/x")" "501"
expect_eq "an empty segment's parameters cannot hide a prefix" "$(code --path-as-is "$base/;x/orders/1")" "400"
# A route's prefix_rewrite: the segments its prefix matched are replaced in
# the path the service gets, after the route was matched and authorized on
# the normalized path; the query goes on as it was.
expect_eq "prefix rewritten" "$(code "$base/api/v1/orders/7?x=1&y=2"):$(cat body)" \
  "200:uri=/public/v1/orders/7?x=1&y=2 sub= scopes= xff=127.0.0.1 secret= len="
expect_eq "prefix rewritten, the prefix alone" "$(code "$base/api/v1"):$(cat body)" \
  "200:uri=/public/v1 sub= scopes= xff=127.0.0.1 secret= len="
expect_eq "prefix stripped" "$(code "$base/strip/a/b?q"):$(cat body)" \
  "200:uri=/a/b?q sub= scopes= xff=127.0.0.1 secret= len="
expect_eq "prefix stripped, the prefix alone" "$(code "$base/strip"):$(cat body)" \
  "200:uri=/ sub= scopes= xff=127.0.0.1 secret= len="
expect_eq "prefix stripped with its segment's parameters" "$(code "$base/strip;v=1/a"):$(cat body)" \
  "200:uri=/a sub= scopes= xff=127.0.0.1 secret= len="
expect_eq "dot-dot under a rewritten prefix is judged where it leads" \
  "$(code --path-as-is "$base/strip/../orders/1")" "401"
expect_eq "an encoded slash cannot make a rewritten path" "$(code "$base/strip%2F..%2Forders")" "400"
expect_eq "a prefix's look-alike is not rewritten" "$(code "$base/stripped/a")" "404"
expect_eq "a stripped prefix is told to the service" \
  "$(code -H "X-Forwarded-Prefix: /evil" "$base/strip/public/prefix"):$(cat body)" "200:prefix=/strip"
expect_eq "a stripped prefix is told without its trailing slash" \
  "$(code "$base/strip2/public/prefix"):$(cat body)" "200:prefix=/strip2"
expect_eq "a prefix rewritten to another is not told" \
  "$(code -H "X-Forwarded-Prefix: /evil" "$base/api/v1/prefix"):$(cat body)" "200:prefix="
expect_eq "a client's X-Forwarded-Prefix goes no further" \
  "$(code -H "X-Forwarded-Prefix: /evil" "$base/public/prefix"):$(cat body)" "200:prefix="
# A route's request_headers and response_headers: a field set replaces the
# client's copy, one removed does not reach the service or the client, and
# a refusal of Bulwark's carries the route's answer fields too.
expect_eq "request field set, the client's copy dropped" \
  "$(code -H "X-Secret: from-client" "$base/fields/x"):$(cat body)" \
  "200:uri=/public/x sub= scopes= xff=127.0.0.1 secret=from-bulwark len="
expect_eq "a client cannot drop a field set (Connection)" \
  "$(code -H "Connection: X-Secret" "$base/fields/x"):$(cat body)" \
  "200:uri=/public/x sub= scopes= xff=127.0.0.1 secret=from-bulwark len="
expect_eq "answer field set" "$(tr -d '\r' <headers | grep -ci '^Strict-Transport-Security: max-age=63072000$')" "1"
expect_eq "answer field removed" "$(code "$base/fields/powered"):$(cat body):$(grep -ci '^X-Powered-By' headers)" \
  "200:powered:0"
code "$base/public/powered" >/dev/null
expect_eq "kept on a route without the rule" "$(grep -ci '^X-Powered-By: php' headers)" "1"
expect_eq "request field removed" "$(code -H "X-Secret: from-client" "$base/fields-removed/x"):$(cat body)" \
  "200:uri=/public/x sub= scopes= xff=127.0.0.1 secret= len="
expect_eq "a refusal carries the route's answer fields" \
  "$(code "$base/fields-refused/x"):$(tr -d '\r' <headers | grep -ci '^Strict-Transport-Security:')" "401:1"
expect_eq "encoded slash -> 400" "$(code "$base/public/..%2Forders")" "400"
expect_eq "a lower-case method -> 400, not the public route" "$(code -X delete "$base/public/x")" "400"
expect_eq "a method override -> 400, not passed on to be run as DELETE" \
  "$(code -X POST -H "X-HTTP-Method-Override: DELETE" "$base/public/x")" "400"
expect_eq "a path override -> 400, not passed on to be served as another path" \
  "$(code -H "X-Original-URL: /orders/1" "$base/public/x")" "400"
expect_eq "body forwarded" "$(code -X POST --data 'hello' "$base/public/p"):$(cat body)" \
  "200:uri=/public/p sub= scopes= xff=127.0.0.1 secret= len=5"
# Keys from a jwks_uri: fetched at start; the first token with a new kid
# after a rotation waits for the refetch it starts and is honoured.
remote_token() {
  "$bulwark" jwt sign --key "$1" --claims "{\"iss\":\"https://remote.example\",\"sub\":\"bob\",\"aud\":\"orders-api\",\"iat\":$now,\"exp\":$((now + 600))}"
}
expect_eq "token of a remote-JWKS issuer" "$(code -H "Authorization: Bearer $(remote_token r1.jwk)" "$base/remote/x")" "200"
jwks_of r1.jwk r2.jwk >remote.jwks
rotated=$(remote_token r2.jwk)
sleep 1.1  # the refetch interval (1 s) since the fetch at start has passed
expect_eq "first token with the rotated kid waits for the refetch" \
  "$(code -H "Authorization: Bearer $rotated" "$base/remote/x")" "200"
if grep -q '"msg":"gateway.jwks_updated","issuer":"remote","keys":2' bulwark.log; then ok; else bad "no refetch logged"; fi
# Right after it, no refetch may start: a made-up kid is refused at once.
"$bulwark" keys generate --alg ES256 --kid made-up >made-up.jwk
started=$(date +%s%N)
expect_eq "a made-up kid within the refetch interval" \
  "$(code -H "Authorization: Bearer $(remote_token made-up.jwk)" "$base/remote/x")" "401"
waited_ms=$((($(date +%s%N) - started) / 1000000))
if [ "$waited_ms" -lt 500 ]; then ok; else bad "a made-up kid was held ${waited_ms} ms"; fi
status=$(code -H "Authorization: Bearer $rotated" "$base/remote/x")
expect_eq "rotated key honoured after the refetch" "$status" "200"
# A verified token goes no further than Bulwark unless its issuer forwards
# tokens; a public route reads no credential and passes the client's on.
expect_eq "verified token kept from the service" \
  "$(code -H "Authorization: Bearer $good" "$base/orders/auth"):$(cat body)" "200:auth=[]"
expect_eq "token of an issuer that forwards tokens" \
  "$(code -H "Authorization: Bearer $rotated" "$base/remote/auth"):$(cat body)" "200:auth=[Bearer $rotated]"
expect_eq "a public route's Authorization passed on" \
  "$(code -H "Authorization: Basic dXNlcjpwdw==" "$base/public/auth"):$(cat body)" \
  "200:auth=[Basic dXNlcjpwdw==]"
# Forward-auth waits for the refetch the same way (Envoy's ext_authz path).
"$bulwark" keys generate --alg ES256 --kid r3 >r3.jwk
sleep 1.1  # the refetch the made-up kid asked for runs (and finds no r3)
jwks_of r1.jwk r2.jwk r3.jwk >remote.jwks
sleep 1.1  # a refetch may start at once again
expect_eq "forward-auth: first token with a newly rotated kid waits for the refetch" \
  "$(code -H "Authorization: Bearer $(remote_token r3.jwk)" "$base/auth/envoy/remote/x")" "200"
# The signed identity token: a service verifies it with node jose against the
# JWKS Bulwark publishes, for its own audience only.
expect_eq "identity token forwarded" "$(code -H "Authorization: Bearer $good" "$base/whoami")" "200"
identity=$(cat body)
expect_eq "a service's X-Bulwark-* answer fields never reach the client" \
  "$(grep -ci '^x-bulwark-' headers):$(grep -ci '^X-Bulwarkish: kept' headers)" "0:1"
verified=$(node "$here/identity_verify.mjs" "$base/_bulwark/identity/jwks.json" https://bulwark.test ident "$identity" 2>&1)
if grep -q '"sub":"alice"' <<<"$verified" && grep -q '"cred":"jwt"' <<<"$verified" &&
  grep -q '"scope":"orders:read"' <<<"$verified"; then ok; else bad "identity token: $verified"; fi
if node "$here/identity_verify.mjs" "$base/_bulwark/identity/jwks.json" https://bulwark.test service "$identity" >/dev/null 2>&1; then
  bad "identity token accepted for another audience"
else
  ok
fi
expect_eq "a client-sent identity token never reaches the service" \
  "$(code -H "X-Bulwark-Identity: $identity" "$base/anon"):$(cat body)" "200:"
# Active health checks: a service that stops answering its checks is taken
# out (503 without a try), and put back once it passes them again.
"$bulwark" demo-upstream --listen "127.0.0.1:$checked" >checked.log 2>&1 &
checked_pid=$!
pids+=("$checked_pid")
wait_status() { # URL WANT: polls for up to 5 s
  local got=""
  for _ in $(seq 1 100); do
    got=$(code "$1")
    [ "$got" = "$2" ] && break
    sleep 0.05
  done
  echo "$got"
}
expect_eq "checked service serves" "$(wait_status "$base/checked/a" 200)" "200"
kill "$checked_pid"
wait "$checked_pid" 2>/dev/null
expect_eq "failing its health checks -> 503" "$(wait_status "$base/checked/a" 503)" "503"
"$bulwark" demo-upstream --listen "127.0.0.1:$checked" >checked2.log 2>&1 &
pids+=($!)
expect_eq "healthy again -> 200" "$(wait_status "$base/checked/a" 200)" "200"
if grep -q '"msg":"gateway.upstream_unhealthy","upstream":"checked"' bulwark.log &&
  grep -q '"msg":"gateway.upstream_healthy","upstream":"checked"' bulwark.log; then ok; else bad "health transitions not logged"; fi
# An upstream of several endpoints: requests take turns over those that
# pass their health checks; the one that never answers gets none.
dead_out=no
for _ in $(seq 1 100); do
  grep -q "bulwark_gateway_upstream_healthy{upstream=\"pair\",endpoint=\"127.0.0.1:1\"} 0" \
    <<<"$(curl -s "$base/metrics")" &&
    dead_out=yes && break
  sleep 0.05
done
expect_eq "the endpoint that never answers fails its health checks" "$dead_out" "yes"
turns=""
for _ in $(seq 1 6); do turns+="$(code "$base/pair/x"):$(cat body) "; done
expect_eq "endpoints take turns, the unhealthy one skipped" \
  "$(printf '%s' "$turns" | tr ' ' '\n' | sort | uniq -c | awk '{print $1, $2}' | tr '\n' ' ')" "3 200:a 3 200:b "
expect_eq "and in turn" "$(echo "$turns" | grep -c -x -e '200:a 200:b 200:a 200:b 200:a 200:b ' \
  -e '200:b 200:a 200:b 200:a 200:b 200:a ')" "1"
turns=""
for _ in $(seq 1 3); do turns+="$(code "$base/pair-unchecked/x"):$(cat body) "; done
turns+="$(code -X POST --data x "$base/pair-unchecked/x"):$(cat body)"
expect_eq "an endpoint that refuses connections passes its turn on, a POST's too" "$turns" \
  "200:a 200:a 200:a 200:a"
# An endpoint that takes a request and hangs up without an answer: an
# idempotent request goes on to the next endpoint; a POST, which may have
# run, is answered 502 and never sent twice.
turns=""
for _ in $(seq 1 4); do turns+="$(code "$base/hangup/x"):$(cat body) "; done
turns+="$(code -X PUT --data x "$base/hangup/x"):$(cat body) "
turns+="$(code -X DELETE "$base/hangup/x"):$(cat body)"
expect_eq "an idempotent request whose connection is lost goes to the next endpoint" "$turns" \
  "200:a 200:a 200:a 200:a 200:a 200:a"
turns=""
for _ in $(seq 1 2); do turns+="$(code -X POST --data x "$base/hangup/x") "; done
expect_eq "a POST whose connection is lost is not sent again" \
  "$(printf '%s' "$turns" | tr ' ' '\n' | sort | tr '\n' ' ')" "200 502 "
# Weights: an endpoint of weight 3 takes three turns to the other's one,
# spread out (smooth weighted round robin).
turns=""
for _ in $(seq 1 8); do turns+="$(code "$base/weighted/x"):$(cat body) "; done
expect_eq "weighted turns" "$turns" "200:a 200:a 200:b 200:a 200:a 200:a 200:b 200:a "
# What is not sent again: an answer begun and cut (the service ran it), a
# timeout (a service too slow is not given the same work twice). A GET that
# got no answer at all is, once to each endpoint.
hits() { curl -s "$base/framing/hits/once/$1"; }
expect_eq "an answer cut short -> 502" "$(code "$base/once/partial")" "502"
expect_eq "and the request went to one endpoint only" "$(hits partial)" "1"
expect_eq "no answer in time -> 504" "$(code "$base/once/slow")" "504"
expect_eq "and the request went to one endpoint only" "$(hits slow)" "1"
expect_eq "no answer from either endpoint -> 502" "$(code "$base/once/hangup")" "502"
expect_eq "after each endpoint had it once" "$(hits hangup)" "2"
expect_eq "sent on once, and counted" \
  "$(curl -s "$base/metrics" | grep '^bulwark_gateway_upstream_retries_total{upstream="twice"}')" \
  'bulwark_gateway_upstream_retries_total{upstream="twice"} 1'
expect_eq "the hung-up GET, PUT and DELETE, sent on six times" \
  "$(curl -s "$base/metrics" | grep '^bulwark_gateway_upstream_retries_total{upstream="hangup-pair"}')" \
  'bulwark_gateway_upstream_retries_total{upstream="hangup-pair"} 6'
# A retry policy: what it names goes again, idempotent requests only, and
# the last try's answer is the client's. /again.../KEY/N/WHAT: the service
# answers the first N requests for KEY with WHAT, the rest 200 "yes HIT".
tries() { curl -s "$base/framing/hits/$1"; }
expect_eq "two 503s, then the third try's answer" "$(code "$base/again/g1/2/503"):$(cat body)" \
  "200:yes 3"
expect_eq "a POST answered 503 is not sent again" \
  "$(code -X POST --data x "$base/again/p1/2/503"):$(cat body):$(tries again/p1/2/503)" "503:no 1:1"
expect_eq "tries run out at three: the last answer is the client's" \
  "$(code "$base/again/g2/5/503"):$(cat body):$(tries again/g2/5/503)" "503:no 3:3"
expect_eq "a status the policy does not name is not retried" \
  "$(code "$base/again/g3/1/500"):$(cat body):$(tries again/g3/1/500)" "500:no 1:1"
expect_eq "without a policy a 503 is the client's" \
  "$(code "$base/again-plain/g4/1/503"):$(cat body):$(tries again-plain/g4/1/503)" "503:no 1:1"
# A route's own policy replaces its upstream's, for that route alone.
retried_framing() {
  curl -s "$base/metrics" | sed -n 's/^bulwark_gateway_upstream_retries_total{upstream="framing"} //p'
}
before=$(retried_framing)
expect_eq "a route's policy on an upstream without one" \
  "$(code "$base/again-own/o1/2/503"):$(cat body):$(tries again-own/o1/2/503)" "200:yes 3:3"
expect_eq "counted under its upstream" "$(($(retried_framing) - before))" "2"
expect_eq "and held to its upstream's budget" \
  "$(curl -s "$base/metrics" | grep -c '^bulwark_gateway_upstream_retries_over_budget_total{upstream="framing"} 0$')" "1"
expect_eq "the upstream's other routes keep theirs (none)" \
  "$(code "$base/again-plain/o2/1/503"):$(cat body):$(tries again-plain/o2/1/503)" "503:no 1:1"
expect_eq "a route's attempts: 1 sends nothing again" \
  "$(code "$base/again-once/o3/1/503"):$(cat body):$(tries again-once/o3/1/503)" "503:no 1:1"
started=$(date +%s%N)
expect_eq "a try slower than its per-try timeout gives way to the next" \
  "$(code "$base/again/t1/1/slow"):$(cat body)" "200:yes 2"
took=$((($(date +%s%N) - started) / 1000000))
[ "$took" -lt 900 ] && ok || bad "the slow try was not cut at 300 ms: the answer took $took ms"
expect_eq "each counted as sent again" \
  "$(curl -s "$base/metrics" | grep '^bulwark_gateway_upstream_retries_total{upstream="retried"}')" \
  'bulwark_gateway_upstream_retries_total{upstream="retried"} 5'
# A request the service read and hung up on, unanswered, on a kept-alive
# connection: without a policy it goes once more on a new connection (the
# service may have closed the connection as it went), as nginx sends it;
# a policy says itself whether and how often. after_warm ROUTE PATH: the
# status of /ROUTE/PATH sent on the client connection that just sent a
# request to ROUTE, so that its io thread has a connection to the service
# kept alive (its body in `body`).
after_warm() {
  curl -s -o /dev/null -o body -w '%{http_code} ' "$base/$1/warm/0/200" "$base/$1/$2" |
    awk '{print $2}'
}
expect_eq "a lost request without a policy: once more on a new connection" \
  "$(after_warm again-plain d1/1/drop):$(cat body):$(tries again-plain/d1/1/drop)" "200:yes 2:2"
expect_eq "attempts: 1 sends nothing again, not even then" \
  "$(after_warm again-once d2/1/drop):$(tries again-once/d2/1/drop)" "502:1"
expect_eq "nor does a policy without reset" \
  "$(after_warm again-own d3/1/drop):$(tries again-own/d3/1/drop)" "502:1"
expect_eq "a policy with reset: one more try" \
  "$(after_warm again-reset d4/1/drop):$(cat body):$(tries again-reset/d4/1/drop)" "200:yes 2:2"
expect_eq "as many as its attempts, no more" \
  "$(after_warm again-reset d5/5/drop):$(tries again-reset/d5/5/drop)" "502:2"
# A try after one that could not connect is not held to the retry budget:
# sixteen requests at once, about half of them sent first to the endpoint
# that is never up, all answered by the other (a second late).
conn_pids=()
for i in $(seq 1 16); do
  curl -s -o /dev/null -w '%{http_code}\n' "$base/conn-budget/cb$i/1/slow" >"conn-budget.$i" &
  conn_pids+=($!)
done
wait "${conn_pids[@]}"
expect_eq "failing over from a refused connection spends no budget" \
  "$(cat conn-budget.* | sort | uniq -c | awk '{printf "%sx%s ", $2, $1}')" "200x16 "
expect_eq "none counted over it" \
  "$(curl -s "$base/metrics" | grep '^bulwark_gateway_upstream_retries_over_budget_total{upstream="conn-budget"}')" \
  'bulwark_gateway_upstream_retries_over_budget_total{upstream="conn-budget"} 0'
# A health check passes on its status: a 200 with a page of 100 kB (past
# what a fetch holds) keeps its endpoint in. Its body is read and dropped,
# so the service sees each check's connection closed, never reset.
sleep 0.5
expect_eq "a long health page keeps its endpoint in" \
  "$(code "$base/big-health/bh/0/200"):$(cat body)" "200:yes 1"
expect_eq "checked with no connection reset" "$(tries reset/framing/health-page)" "0"
# A service that asks to be tried again later (Retry-After, in seconds or
# as a date) is not asked sooner; one that asks for longer than the
# request's time left has its answer passed on at once.
started=$(date +%s%N)
expect_eq "Retry-After: 1 is waited for" "$(code "$base/again/ra1/1/503+1"):$(cat body)" "200:yes 2"
took=$((($(date +%s%N) - started) / 1000000))
[ "$took" -ge 1000 ] && ok || bad "the retry came $took ms after a Retry-After of 1 s"
started=$(date +%s%N)
expect_eq "Retry-After as a date is waited for" "$(code "$base/again/ra2/1/503@2"):$(cat body)" \
  "200:yes 2"
took=$((($(date +%s%N) - started) / 1000000))
[ "$took" -ge 1000 ] && ok || bad "the retry came $took ms after a Retry-After date 2 s ahead"
started=$(date +%s%N)
expect_eq "Retry-After past the time left: the answer is the client's" \
  "$(code "$base/again-late/ra3/1/503+1"):$(cat body):$(tries again-late/ra3/1/503+1)" \
  "503:no 1:1"
took=$((($(date +%s%N) - started) / 1000000))
[ "$took" -lt 900 ] && ok || bad "an answer whose Retry-After is past the time left took $took ms"
expect_eq "with its Retry-After" "$(grep -i '^Retry-After:' headers | tr -d '\r')" "Retry-After: 1"
turns=""
for _ in 1 2 3; do turns+="$(code "$base/again-pair/k/100/503"):$(cat body) "; done
expect_eq "an endpoint's 503s are answered by the other" "$turns" "200:a 200:a 200:a "
expect_eq "each 503 it answered sent on once" \
  "$(curl -s "$base/metrics" | grep '^bulwark_gateway_upstream_retries_total{upstream="retried-pair"}')" \
  "bulwark_gateway_upstream_retries_total{upstream=\"retried-pair\"} $(tries again-pair/k/100/503)"
# Each try's failure reaches its breaker before the next try is let
# through: with two failures to open it, the second 503 opens it, and the
# third try is not sent; the next request is refused untried.
expect_eq "a breaker opened by a try stops the next" \
  "$(code "$base/again-breaker/k/5/503"):$(cat body):$(tries again-breaker/k/5/503)" "503:no 2:2"
expect_eq "and the request after it" \
  "$(code "$base/again-breaker/k/5/503"):$(tries again-breaker/k/5/503)" "503:2"
# A retry storm held back: eight requests whose first two tries time out
# at once. Three retries may be in flight (20 % of eight is less); the
# other five get their first try's 504, and the three their third try's 200.
# All eight go out at once, each on its own connection, from one process
# (eight curl processes started one by one could be spread out on a loaded
# machine, their tries timing out apart, and curl --parallel staggers them).
python3 - "$port" >budget.all <<'PY'
import socket, sys
port = int(sys.argv[1])
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
for i, c in enumerate(conns, 1):
    c.sendall(f"GET /again-budget/b{i}/2/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
for c in conns:
    c.settimeout(30)
    print(c.recv(64).split(b" ")[1].decode())
PY
expect_eq "retries beyond the budget are not sent" \
  "$(sort budget.all | uniq -c | awk '{printf "%sx%s ", $2, $1}')" "200x3 504x5 "
expect_eq "and are counted" \
  "$(curl -s "$base/metrics" | grep '^bulwark_gateway_upstream_retries_over_budget_total{upstream="retry-budget"}')" \
  'bulwark_gateway_upstream_retries_over_budget_total{upstream="retry-budget"} 5'
# least_request. while_busy PATH FILE N [ROUTE]: a request to
# /ROUTE/PATH (its answer to FILE; ROUTE least unless given) keeps an
# endpoint busy while N requests to /ROUTE/x go out; their answers in $turns.
while_busy() {
  local route=${4:-least}
  curl -s -N -o "$2" "$base/$route/$1" &
  local busy=$!
  sleep 0.4
  turns=""
  for _ in $(seq 1 "$3"); do turns+="$(code "$base/$route/x"):$(cat body) "; done
  wait "$busy"
}
# The first request finds both endpoints idle and goes to the first listed
# (ties go in turn), which answers after 1.5 s; while it is busy, every
# other request goes to the idle one, not every other one.
while_busy x least-slow.txt 4
expect_eq "least_request: the busy endpoint gets no request" "$turns" "200:a 200:a 200:a 200:a "
expect_eq "least_request: the slow one answered the first" "$(cat least-slow.txt)" "slow"
turns=""
for _ in $(seq 1 2); do turns+="$(code "$base/least/x"):$(cat body) "; done
expect_eq "least_request: both idle again, in turn" "$turns" "200:slow 200:a "
# A stream counts in flight to its end, not only to its head.
while_busy events least-events.txt 3
expect_eq "least_request: an endpoint streaming gets no new request" "$turns" "200:a 200:a 200:a "
expect_eq "least_request: the stream came whole" "$(grep -c '^data:' least-events.txt)" "2"
# An endpoint whose breaker is open has nothing in flight: it is passed
# over for the least loaded of the rest, not for the next in turn. The
# first request opens the dead one's breaker (and goes on to the slow one),
# the second goes to a; then, the slow one busy and the dead one first in
# turn, every request goes to a.
expect_eq "least_request: a dead endpoint's request goes on" \
  "$(code "$base/least-open/x"):$(cat body)" "200:slow"
expect_eq "least_request: then the next in turn" "$(code "$base/least-open/x"):$(cat body)" "200:a"
while_busy x least-open.txt 3 least-open
expect_eq "least_request: an open breaker's endpoint passed over for the least loaded" \
  "$turns" "200:a 200:a 200:a "
# Past four endpoints two are drawn and the less loaded one taken (of two
# distinct, so one that is busy never wins against one that is idle).
# Requests go out until one lands on the slow endpoint (a fifth of them);
# while it is busy, twenty more all go to the four idle ones.
busy=""
for _ in $(seq 1 40); do
  curl -s -o least-many.txt "$base/least-many/x" &
  pending=$!
  sleep 0.3
  if kill -0 "$pending" 2>/dev/null; then busy=$pending; break; fi
  wait "$pending"
done
if [ -n "$busy" ]; then
  turns=""
  started=$(date +%s%N)
  for _ in $(seq 1 20); do turns+="$(code "$base/least-many/x"):$(cat body) "; done
  took_ms=$((($(date +%s%N) - started) / 1000000))
  wait "$busy"
  expect_eq "least_request past four: the busy endpoint answered its one" "$(cat least-many.txt)" "slow"
  # (It is held eight seconds: on a loaded machine the twenty may take a few.)
  expect_eq "least_request past four: none of twenty to the busy endpoint (they took $took_ms ms: $turns)" \
    "$(echo "$turns" | tr ' ' '\n' | grep -c '^200:[abcd]$')" "20"
  spread=$(echo "$turns" | tr ' ' '\n' | sort -u | grep -c '^200:')
  [ "$spread" -ge 3 ] && ok || bad "least_request past four: twenty went to $spread endpoints: $turns"
else
  bad "least_request past four: no request of forty went to the slow endpoint"
fi
turns=""
for _ in $(seq 1 8); do turns+="$(code "$base/least-weighted/x"):$(cat body) "; done
expect_eq "least_request: idle endpoints take turns by weight" "$turns" \
  "200:a 200:a 200:b 200:a 200:a 200:a 200:b 200:a "
# Breakers count each endpoint's failures once per request: with two
# failures to open, one request that found both endpoints down opens
# neither; the second opens both, and the third is refused untried.
breaker_states() {
  curl -s "$base/metrics" | grep -E "^bulwark_gateway_upstream_circuit_(state|opened_total)\{upstream=\"dead-pair\"" |
    sed -E 's/.*endpoint="[^"]*:([0-9]+)"\} /\1 /' | sed -e "s/^$dead_1 /one /" -e "s/^$dead_2 /two /" | sort | tr '\n' ' '
}
expect_eq "both endpoints down -> 502" "$(code "$base/dead-pair/x")" "502"
expect_eq "one request's failures open no breaker" "$(breaker_states)" "one 0 one 0 two 0 two 0 "
expect_eq "both endpoints down again -> 502" "$(code "$base/dead-pair/x")" "502"
expect_eq "the second request's open both" "$(breaker_states)" "one 1 one 1 two 1 two 1 "
expect_eq "both breakers open -> 503" "$(code "$base/dead-pair/x")" "503"
expect_eq "no route -> 404" "$(code "$base/nowhere")" "404"
expect_eq "upstream down -> 502" "$(code "$base/gone")" "502"
# Circuit breaker: two failures open it (503 without trying), and once the
# service is back a probe after the pause closes it again.
expect_eq "breaker opens after consecutive failures" \
  "$(code "$base/flaky"):$(code "$base/flaky"):$(code "$base/flaky")" "502:502:503"
"$bulwark" demo-upstream --listen "127.0.0.1:$flaky" >demo.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$flaky/" && break; sleep 0.05; done
expect_eq "still open right after the service returns" "$(code "$base/flaky")" "503"
recovered=""
for _ in $(seq 1 60); do
  recovered=$(code "$base/flaky")
  [ "$recovered" = 200 ] && break
  sleep 0.1
done
expect_eq "a probe after the pause closes the breaker" "$recovered:$(code "$base/flaky")" "200:200"
expect_eq "rate limit" "$(code "$base/limited"):$(code "$base/limited"):$(code "$base/limited")" "200:200:429"
if grep -qi '^Retry-After: ' headers; then ok; else bad "429 without Retry-After"; cat headers; fi
raw() {  # raw REQUEST_BYTES (printf format): the answer, without CRs
  printf "$1" | timeout 5 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read())
s.settimeout(3)
data = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
except socket.timeout:
    pass
sys.stdout.write(data.decode("latin-1").replace("\r", ""))
' "$port"
}
# Request smuggling shape: both Content-Length and Transfer-Encoding.
smuggle=$(raw 'POST /public/s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /orders/1 HTTP/1.1\r\nHost: x\r\n\r\n')
expect_eq "CL+TE is refused and the smuggled request never runs" \
  "$(head -1 <<<"$smuggle") $(grep -c '^HTTP/1.1 ' <<<"$smuggle")" "HTTP/1.1 400 Bad Request 1"
# The service gets one Host, the one the route was matched and authorized on,
# whatever the client tries; no field named with '_' (which CGI-style readers
# take for the '-' one: X_Bulwark_Subject, Transfer_Encoding) reaches it.
sent_fields() { sed '1,/^$/d' | grep -i "^$1:" | tr '\n' '|'; }  # the service's echo of its fields
answer=$(raw 'GET http://Other.Example:8080/framing/head HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
expect_eq "absolute-form: Host is the target's host" "$(sent_fields host <<<"$answer")" "Host: other.example:8080|"
expect_eq "absolute-form: X-Forwarded-Host too" "$(sent_fields x-forwarded-host <<<"$answer")" \
  "X-Forwarded-Host: other.example:8080|"
answer=$(raw 'GET /framing/head HTTP/1.1\r\nHost: svc.example\r\nConnection: close, Host\r\nX_Bulwark_Subject: root\r\nTransfer_Encoding: chunked\r\nX-App: 1\r\n\r\n')
expect_eq "Connection: Host does not drop Host" "$(sent_fields host <<<"$answer")" "Host: svc.example|"
expect_eq "fields named with '_' stay here" "$(sed '1,/^$/d' <<<"$answer" | grep -c _)" "0"
expect_eq "other fields go on" "$(sent_fields x-app <<<"$answer")" "X-App: 1|"
answer=$(raw 'GET /framing/head HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n')
expect_eq "an empty Host is replaced, not doubled" "$(sent_fields host <<<"$answer")" \
  "Host: 127.0.0.1:$framing|"
for host in 'a/orders/1?' 'u:p@evil' 'a b' '[::1'; do
  expect_eq "Host '$host' -> 400" \
    "$(raw "GET /framing/head HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n" | head -1)" \
    "HTTP/1.1 400 Bad Request"
done
# Every way a service may frame its response reaches the client whole, with
# the gateway's own framing; request bodies arrive whole either way.
expect_eq "chunked response" "$(code "$base/framing/chunked"):$(cat body)" "200:chunked!"
expect_eq "close-delimited response" "$(code "$base/framing/close"):$(cat body)" "200:until close"
expect_eq "response split across writes" "$(code "$base/framing/split"):$(cat body)" "200:split"
expect_eq "204 from the service" "$(code "$base/framing/no-content")" "204"
# The service's fields reach the client in their order, trimmed, repeated
# ones each once; those of its hop (hop-by-hop, named by Connection) and its
# framing and Date do not: the gateway frames and dates its own answer.
for kind in fields fields-chunked; do
  got=$(curl -s -D - -o /dev/null "$base/framing/$kind" | tr -d '\r' | sed 1d |
    grep -iv '^\(ratelimit\|x-request-id\|content-length\|date\|connection\):' | grep -v '^$' | tr '\n' '|')
  expect_eq "service fields passed on, this hop's dropped ($kind)" "$got" \
    "X-App: kept|Set-Cookie: a=1|Set-Cookie: b=2|x-tail: v|"
  expect_eq "one Date, the gateway's ($kind)" \
    "$(curl -s -D - -o /dev/null "$base/framing/$kind" | grep -ic '^date: ' )" "1"
done
expect_eq "malformed response head -> 502" "$(code "$base/framing/malformed")" "502"
expect_eq "a body coded but chunked -> 502" "$(code "$base/framing/gzip-coded")" "502"
expect_eq "status 999 -> 502" "$(code "$base/framing/status-999")" "502"
# A head of 300 fields is more than a service may send (256): each costs
# the io thread work. Connection may name thousands of fields (sorted once,
# then searched per field), each dropped in any case.
expect_eq "too many response fields -> 502" "$(code "$base/framing/many-fields")" "502"
expect_eq "thousands of names in Connection: all dropped, in any case" \
  "$(curl -s -D - -o /dev/null "$base/framing/many-named" | tr -d '\r' | grep -i '^x-n' | tr '\n' '|')" \
  "X-N: kept|"
expect_eq "a head of bare LFs -> 502 at once" \
  "$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$base/framing/bare-lf" |
    awk '{print $1, ($2 < 2 ? "at once" : "waited " $2)}')" "502 at once"
# Bodies too large to hold, or that come over time, stream through: 20 MiB
# with its length and chunked, whole; each server-sent event as it comes;
# a body cut short by the service is cut short for the client too.
python3 -c 'import sys; n = 20 * 1024 * 1024; sys.stdout.buffer.write(bytes(range(251)) * (n // 251) + bytes(range(n % 251)))' >big.expected
expect_eq "20 MiB with Content-Length streams whole" \
  "$(code "$base/framing/big"):$(grep -i '^content-length:' headers | tr -d '\r'):$(cmp -s body big.expected && echo same)" \
  "200:Content-Length: 20971520:same"
expect_eq "20 MiB chunked streams whole" \
  "$(code "$base/framing/big-chunked"):$(grep -ic '^transfer-encoding: chunked' headers):$(cmp -s body big.expected && echo same)" \
  "200:1:same"
expect_eq "HEAD keeps the length of the body GET would get" \
  "$(curl -sI "$base/framing/big" | tr -d '\r' | grep -i '^content-length:')" "Content-Length: 20971520"
curl -sI "$base/framing/big-chunked" | tr -d '\r' >head-answer
expect_eq "HEAD of a chunked answer claims no length, and names the coding" \
  "$(grep -ci '^content-length:' head-answer):$(grep -ci '^transfer-encoding: chunked$' head-answer)" "0:1"
curl -sN "$base/framing/events" | while IFS= read -r line; do
  [ -n "$line" ] && echo "$(date +%s%N) $line"
done >events.txt
if awk 'NR == 1 { t = $1; a = $3 } NR == 2 { b = $3; gap = ($1 - t) / 1e6 } END { exit !(a == "one" && b == "two" && gap > 700) }' events.txt; then
  ok
else
  bad "server-sent events did not arrive as they were sent: $(cat events.txt)"
fi
framing_errors() {
  curl -s "$base/metrics" | awk '/^bulwark_gateway_upstream_errors_total\{upstream="framing"\}/ {n = $2} END {print n + 0}'
}
errors_before=$(framing_errors)
curl -s -o body "$base/framing/cut"
expect_eq "a body the service cut short is cut for the client (curl: connection reset)" \
  "$?:$(($(stat -c %s body) < 1000000))" "56:1"
# To HTTP/1.0 the body ends with the connection: only the reset tells
# curl the body is not whole (an orderly close would be exit 0).
curl -s -0 -o body "$base/framing/cut"
expect_eq "a body cut short to an HTTP/1.0 client ends in a reset" \
  "$?:$(($(stat -c %s body) < 1000000))" "56:1"
expect_eq "a streamed body cut short counts as an upstream error" \
  "$(($(framing_errors) - errors_before))" "2"
# A service slower than response_timeout_ms: 504 on time, and the client's
# connection still serves its next request.
late=$(curl -s -w '%{http_code} %{time_total} %{num_connects}\n' -o /dev/null "$base/late/x" -o /dev/null "$base/framing/echo")
expect_eq "slow service -> 504, then the connection serves on" "$(awk '{print $1, $3}' <<<"$late" | tr '\n' ' ')" "504 1 200 0 "
if awk 'NR == 1 && $2 < 1.5 {ok = 1} END {exit !ok}' <<<"$late"; then ok; else bad "504 came late: $late"; fi
# A route's own response_timeout_ms, longer or shorter than its upstream's.
expect_eq "a route that waits longer than its upstream gets the late answer" \
  "$(code "$base/late-long/x"):$(cat body)" "200:late"
late=$(curl -s -w '%{http_code} %{time_total}' -o /dev/null "$base/late-short/x")
expect_eq "a route that waits less than its upstream: 504" "${late% *}" "504"
if awk '$2 < 1.5 {ok = 1} END {exit !ok}' <<<"$late"; then ok; else bad "the route's 504 came late: $late"; fi
# Bytes after a response are never read as the answer to the next request on
# that connection: both requests ride one client connection, so one io
# thread and one pool.
expect_eq "bytes beyond a response are not the next answer" \
  "$(curl -s "$base/framing/extra" "$base/framing/next")" "$(printf 'ok\nGET 0 ')"
expect_eq "bytes beyond a body read to its length are not the next answer" \
  "$(curl -s "$base/framing/long-then-more" "$base/framing/next" | tail -c 8)" "$(printf 'x\nGET 0 ')"
expect_eq "interim 100 and 103 are skipped, the final answer is the client's" \
  "$(curl -s "$base/framing/interim" "$base/framing/next")" "$(printf 'final\nGET 0 ')"
# The stray body arrives after the 204 was passed on; the next request, a
# third of a second later on the same connections, must get its own answer.
expect_eq "bytes after a response without a body are not the next answer" \
  "$(curl -s --rate 3/s -w '%{http_code};' "$base/framing/no-content-then-more" "$base/framing/next")" \
  "204;GET 0 200;"
expect_eq "body with Content-Length" "$(code --data-binary "hello" "$base/framing/echo"):$(cat body)" \
  "200:POST 5 hello"
expect_eq "chunked request body" \
  "$(code -H "Transfer-Encoding: chunked" --data-binary "hello chunks" "$base/framing/echo"):$(cat body)" \
  "200:POST 12 hello chunks"
head -c 300000 /dev/urandom | base64 -w0 >big.txt
expect_eq "a 400 KB body across many reads" \
  "$(code --data-binary @big.txt "$base/framing/echo"):$(cut -c1-11 body):$(tail -c +13 body | cmp -s - big.txt && echo same)" \
  "200:POST 400000:same"
# server.max_body_bytes (32 MiB here) raises the 1 MiB default; beyond it, 413.
head -c 3000000 /dev/urandom >upload.bin
expect_eq "a 3 MB upload under a raised limit" \
  "$(code --data-binary @upload.bin "$base/framing/echo"):$(head -c 12 body)" "200:POST 3000000"
head -c 40000000 /dev/urandom >upload.bin
expect_eq "a 40 MB upload over it -> 413" "$(code --data-binary @upload.bin "$base/framing/echo")" "413"
# Body bytes by upstream, each way: held bodies and streamed ones (the
# chunked upload is read piece by piece, the 20 MiB answer passed on so).
body_bytes() {
  curl -s "$base/metrics" |
    sed -n "s/^bulwark_gateway_upstream_$1_body_bytes_total{upstream=\"framing\"} //p"
}
sent_before=$(body_bytes request)
got_before=$(body_bytes response)
code --data-binary "hello" "$base/framing/echo" >/dev/null                     # "POST 5 hello"
code -H "Transfer-Encoding: chunked" --data-binary "hello chunks" "$base/framing/echo" >/dev/null
code "$base/framing/chunked" >/dev/null                                        # "chunked!\n"
code "$base/framing/big-chunked" >/dev/null                                    # 20 MiB, streamed
expect_eq "request body bytes counted" "$(($(body_bytes request) - sent_before))" "$((5 + 12))"
expect_eq "response body bytes counted" "$(($(body_bytes response) - got_before))" \
  "$((12 + 20 + 9 + 20 * 1024 * 1024))"
# Bodies over 64 KiB (server.max_held_body_bytes) stream to the service as
# the client sends them, once the request is allowed: by their length, or in
# chunks when they came chunked and run past 64 KiB; a small chunked body is
# gathered and goes with its length, for services that read no chunks.
head -c 20000000 /dev/urandom >upload.bin
digest=$(sha256sum upload.bin | cut -d' ' -f1)
expect_eq "a 20 MB upload streams through whole" \
  "$(code --data-binary @upload.bin "$base/framing/upload"):$(cat body)" "200:POST 20000000 length $digest"
expect_eq "a 20 MB chunked upload streams through in chunks" \
  "$(code -H "Transfer-Encoding: chunked" --data-binary @upload.bin "$base/framing/upload"):$(cat body)" \
  "200:POST 20000000 chunked $digest"
expect_eq "a 100 Continue the service writes in two pieces is skipped, and the body goes on" \
  "$(code --data-binary @upload.bin "$base/framing/upload-split-interim"):$(cat body)" \
  "200:POST 20000000 length $digest"
expect_eq "a small chunked body goes on with its length" \
  "$(code -X PUT -H "Transfer-Encoding: chunked" --data-binary "hello chunks" "$base/framing/upload"):$(cat body)" \
  "200:PUT 12 length $(printf 'hello chunks' | sha256sum | cut -d' ' -f1)"
# The decision comes before the body: a client that waits for 100 Continue
# is refused without sending a byte of it, and an allowed one is told to go on.
expect_eq "an upload refused before its body is sent" \
  "$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' -H "Expect: 100-continue" \
    --data-binary @upload.bin "$base/secure/upload")" "401 0"
expect_eq "an allowed upload is told to go on" \
  "$(curl -s -o body -w '%{http_code} ' -H "Expect: 100-continue" -H "Authorization: Bearer $good" \
    --data-binary @upload.bin "$base/secure/upload"):$(cat body)" "200 :POST 20000000 length $digest"
# A body small enough to be held whole waits for the decision too when its
# client waits for 100 Continue (as .NET's clients do for every POST).
expect_eq "a small upload refused before its body is sent" \
  "$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' -H "Expect: 100-continue" \
    --data-binary "a small body" "$base/secure/upload")" "401 0"
expect_eq "an allowed small upload is told to go on" \
  "$(curl -s -o body -w '%{http_code} %{size_upload} ' -H "Expect: 100-continue" \
    -H "Authorization: Bearer $good" --data-binary "a small body" "$base/secure/upload"):$(cat body)" \
  "200 12 :POST 12 length $(printf 'a small body' | sha256sum | cut -d' ' -f1)"
expect_eq "a service that refuses an upload on its head is answered, not a 502" \
  "$(code --data-binary @upload.bin "$base/framing/refuse-upload"):$(cat body)" "413:too big!"
# A client that sends its whole upload before it reads (as curl may, busy
# sending) still gets that answer: the close waits while the client sends,
# instead of resetting the connection and the answer with it.
refused=$(python3 - "$port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
size = 20 * 1000 * 1000
s.sendall(b"POST /framing/refuse-upload HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % size)
try:
    s.sendall(b"x" * size)
except OSError as e:
    print("upload cut:", e.strerror)
s.settimeout(10)
answer = b""
while not answer.endswith(b"too big!\n"):
    try:
        piece = s.recv(4096)
    except OSError as e:
        print("answer lost:", e.strerror)
        break
    if not piece:
        break
    answer += piece
print(answer.split(b"\r\n")[0].decode()[:12], answer.split(b"\r\n\r\n")[-1].decode().strip())
PY
)
expect_eq "a client that uploads all before it reads still gets the refusal" "$refused" \
  "HTTP/1.1 413 too big!"
# An upload trickled below server.min_body_bytes_per_second (240 by
# default) is cut once its five seconds' grace are over, though no piece of
# it is late by the 30 s body timeout.
trickle=$(python3 - "$port" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /framing/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
s.settimeout(0.1)
start = time.time()
while time.time() - start < 25:
    try:
        s.send(b"x")  # ten bytes a second
        answer = s.recv(100)
        print(answer.split(b" ")[1].decode(), "within 8 s" if time.time() - start < 8 else "late")
        break
    except socket.timeout:
        pass
    except OSError as e:
        print("cut", e)
        break
PY
)
expect_eq "an upload trickled at 10 bytes a second is cut after its grace -> 408" "$trickle" "408 within 8 s"
# Only Bulwark's APIs that take bodies read one whole (up to 16 MiB); its
# other endpoints, and paths that merely look like an API's, answer an
# upload without its body.
expect_eq "an endpoint that takes no body answers an upload without it" \
  "$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' -H "Expect: 100-continue" \
    --data-binary @upload.bin "$base/healthz")" "405 0"
expect_eq "a path like an API's is the proxy's: refused before the body" \
  "$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' -H "Expect: 100-continue" \
    --data-binary @upload.bin "$base/v1/authorizations")" "404 0"
expect_eq "the decision API reads its caller's body up to 16 MiB, no more" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer e2e-proxy-decision-api-token-0123456789" \
    -H "Content-Type: application/json" --data-binary @upload.bin "$base/v1/authorize")" "413"
expect_eq "and refuses a stranger before the body" \
  "$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' -H "Expect: 100-continue" \
    --data-binary @upload.bin "$base/v1/authorize")" "401 0"
head -c 40000000 /dev/urandom >upload.bin
expect_eq "a chunked upload past the limit is cut -> 413" \
  "$(code -H "Transfer-Encoding: chunked" --data-binary @upload.bin "$base/framing/upload"):$(cat body)" \
  "413:content too large"
rm -f upload.bin
# Keep-alive to the client and pooled connections to the service.
args=()
for i in $(seq 1 20); do args+=(-o /dev/null "$base/public/$i"); done
expect_eq "20 requests over one client connection" \
  "$(curl -s -w '%{http_code} %{num_connects}\n' "${args[@]}" | sort | uniq -c | tr -s ' ')" \
  "$(printf ' 19 200 0\n 1 200 1')"

# WebSockets: an authorized handshake on a route that allows them becomes a
# tunnel to the service (the real `ws` package at both ends), which gets the
# identity; text and a 1 MiB binary message go both ways. No token, no
# tunnel; a route without `websocket` passes the handshake on as a plain GET;
# a tunnel idle past tunnel_idle_timeout_ms is closed.
ws() { node "$here/websocket_client.mjs" "$@"; }
expect_eq "websocket through the gateway" \
  "$(ws "ws://127.0.0.1:$port/ws/chat?room=1" "$good" | sed 's/,"seconds":[0-9.]*//')" \
  '{"greeting":{"subject":"alice","path":"/ws/chat?room=1"},"text":"hello through the gateway","binary":true,"close":1000}'
expect_eq "websocket without a token -> 401" "$(ws "ws://127.0.0.1:$port/ws/chat")" '{"status":401}'
expect_eq "websocket to a route without it: a plain GET" \
  "$(code -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$base/wsoff/x"):$(cat body)" "426:plain GET upgrade="
expect_eq "websocket with a malformed key: a plain GET" \
  "$(code -H "Authorization: Bearer $good" -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: not-sixteen-bytes' "$base/ws/x"):$(cat body)" \
  "426:plain GET upgrade="
# A service that switches without answering the client's key (RFC 6455
# section 4.1) took no part in the handshake: no tunnel to it.
ws101() {
  curl -s -o body -w '%{http_code}' -m 5 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$base/ws101/$1"
}
expect_eq "a 101 that answers another key -> 502" "$(ws101 wrong)" 502
expect_eq "a 101 that answers the key: a tunnel" "$(ws101 right):$(cat body)" "101:tunnelled"
# h2c smuggling: an Upgrade to another protocol is never passed on, even on
# a WebSocket route, so no service can be talked into a protocol that
# carries further requests past the gateway's checks.
expect_eq "Upgrade: h2c on a websocket route: a plain GET" \
  "$(code -H "Authorization: Bearer $good" -H 'Connection: Upgrade, HTTP2-Settings' -H 'Upgrade: h2c' \
    -H 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA' "$base/ws/x"):$(cat body)" "426:plain GET upgrade="
# A WebSocket opened with an API key ends within a second or so of the
# key's revocation, as a request with it would be refused; it would
# otherwise run until it idles out (five minutes here).
admin=(-H "Authorization: Bearer e2e-proxy-admin-token-0123456789abcdef")
made=$(curl -s -D admin-headers -X POST "${admin[@]}" -H 'Content-Type: application/json' \
  --data '{"name": "ws", "subject": "svc-ws"}' "$base/_bulwark/admin/v1/api-keys")
# The admin API's answer carries the request id its audit event records.
admin_rid=$(tr -d '\r' <admin-headers | sed -n 's/^x-request-id: //Ip')
if [[ "$admin_rid" =~ ^[0-9a-f-]{36}$ ]]; then ok; else bad "admin answer's request id: $(cat admin-headers)"; fi
ws_key=$(sed -n 's/.*"key":"\([^"]*\)".*/\1/p' <<<"$made")
ws "ws://127.0.0.1:$port/wskey/x" "$ws_key" idle >wskey.out &
ws_pid=$!
sleep 1
curl -s -o /dev/null -X DELETE "${admin[@]}" "$base/_bulwark/admin/v1/api-keys/${ws_key:4:16}"
wait "$ws_pid"
if grep -q '"subject":"svc-ws"' wskey.out && grep -q '"close":1006' wskey.out &&
  awk -F'"seconds":' '{split($2, a, "}"); exit !(a[1] < 4)}' wskey.out; then
  ok
else
  bad "the API key's tunnel outlived its revocation: $(cat wskey.out)"
fi
expect_eq "the cut is logged naming the API key" \
  "$(grep -c '"msg":"net.http.tunnel_credential_ended","credential":"API key"' bulwark.log)" 1
expect_eq "and the key opens none again" "$(ws "ws://127.0.0.1:$port/wskey/x" "$ws_key")" '{"status":401}'
# One opened with a JWT ends within a second or so of the token's exp (its
# issuer allows no leeway), unless its route lets it outlive the token.
now=$(date +%s)
brief=$("$bulwark" jwt sign --key idp.jwk --claims \
  "{\"iss\":\"https://brief.example\",\"sub\":\"carol\",\"aud\":\"orders-api\",\"iat\":$now,\"exp\":$((now + 4))}")
ws "ws://127.0.0.1:$port/wsexp/x" "$brief" idle >wsexp.out &
exp_pid=$!
ws "ws://127.0.0.1:$port/wslong/x" "$brief" idle 8 >wslong.out &
long_pid=$!
wait "$exp_pid" "$long_pid"
if grep -q '"subject":"carol"' wsexp.out && grep -q '"close":1006' wsexp.out &&
  awk -F'"seconds":' '{split($2, a, "}"); exit !(a[1] >= 1 && a[1] < 7)}' wsexp.out; then
  ok
else
  bad "the JWT's tunnel outlived its exp: $(cat wsexp.out)"
fi
expect_eq "the cut is logged naming the token" \
  "$(grep -c '"msg":"net.http.tunnel_credential_ended","credential":"token"' bulwark.log)" 1
# (Beside the one above: without the cut both would run on.)
expect_eq "a route's tunnels may outlive their token" \
  "$(cat wslong.out)" '{"greeting":{"subject":"carol","path":"/wslong/x"},"error":"timed out"}'
expect_eq "and the expired token opens none again" "$(ws "ws://127.0.0.1:$port/wslong/x" "$brief")" '{"status":401}'
idle=$(ws "ws://127.0.0.1:$port/wsidle/x" "" idle)
if grep -q '"close":1006' <<<"$idle" && awk -F'"seconds":' '{split($2, a, "}"); exit !(a[1] >= 0.8 && a[1] < 5)}' <<<"$idle"; then
  ok
else
  bad "idle tunnel was not closed after its timeout: $idle"
fi

# Metrics: valid Prometheus text that counts what happened.
curl -s "$base/metrics" >metrics.txt
if command -v promtool >/dev/null; then
  if promtool check metrics <metrics.txt >promtool.out 2>&1; then ok; else bad "promtool"; cat promtool.out; fi
elif [ "${CI:-}" = true ]; then
  bad "promtool is not installed"
fi
if grep -q 'bulwark_gateway_requests_total{frontend="proxy",route="orders",code="200"} [1-9]' metrics.txt; then ok; else bad "requests metric"; grep requests_total metrics.txt; fi
if grep -q 'bulwark_gateway_rate_limited_total{route="limited"} 1' metrics.txt; then ok; else bad "rate-limited metric"; fi
if grep -q 'bulwark_gateway_upstream_errors_total{upstream="down"} 1' metrics.txt; then ok; else bad "upstream error metric"; fi
if grep -q 'bulwark_gateway_requests_total{frontend="proxy",route="flaky",code="503"} [1-9]' metrics.txt; then ok; else bad "breaker metric"; fi
if grep -q "bulwark_gateway_upstream_healthy{upstream=\"checked\",endpoint=\"127.0.0.1:$checked\"} 1" metrics.txt &&
  grep -q "bulwark_gateway_upstream_healthy{upstream=\"pair\",endpoint=\"127.0.0.1:$pair_b\"} 1" metrics.txt; then ok; else bad "health metric"; grep upstream_healthy metrics.txt; fi
# Four tunnels to ws (one on a token, one on an API key, two on a brief
# token) and one to ws-idle (the refused and plain-GET handshakes opened
# none), all closed by now.
if grep -q '^bulwark_gateway_tunnels_total{upstream="ws"} 4$' metrics.txt &&
  grep -q '^bulwark_gateway_tunnels_total{upstream="ws-idle"} 1$' metrics.txt &&
  grep -q '^bulwark_gateway_tunnels_open{upstream="ws"} 0$' metrics.txt &&
  grep -q '^bulwark_gateway_tunnels_open{upstream="ws-idle"} 0$' metrics.txt; then
  ok
else
  bad "tunnel metrics"; grep tunnels metrics.txt
fi

# A target refused before it normalized is audited by its path alone: its
# query may carry a credential.
expect_eq "a refused target with a token in its query -> 400" \
  "$(code "$base/orders%2F?access_token=audit-secret-1"):$(code "$base/auth/envoy/x%2F?api_key=audit-secret-2")" "400:400"
expect_eq "a refused absolute-form target with a password -> 400" \
  "$(raw 'GET http://u:audit-secret-3@x/orders HTTP/1.1\r\nHost: x\r\n\r\n' | head -c 12)" "HTTP/1.1 400"

# A request the listener refuses (a smuggling shape, a head too large) is a
# decision too: audited, with its path alone, and counted.
expect_eq "a request with Content-Length and Transfer-Encoding -> 400" \
  "$(raw 'POST /smuggle?token=audit-secret-4 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' | head -c 12)" "HTTP/1.1 400"
expect_eq "a header section over the limit -> 431" \
  "$(code -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' a)" "$base/public/x")" "431"
curl -s "$base/metrics" >metrics.txt
if grep -q '^bulwark_gateway_requests_total{frontend="listener",route="",code="400"} [1-9]' metrics.txt &&
  grep -q '^bulwark_gateway_requests_total{frontend="listener",route="",code="431"} [1-9]' metrics.txt; then
  ok
else
  bad "listener refusals counted"; grep listener metrics.txt
fi

# A request still waiting on its service when the drain timeout passes is
# cut, and audited as one that got no answer.
curl -s -o /dev/null -w '%{http_code}' "$base/framing/stall" >stall.code &
stall_pid=$!
sleep 0.5
# Audit: SIGTERM drains the queue; every decision is a JSON line, and no
# credential ever reaches the file.
kill -TERM "$bulwark_pid"
wait "$bulwark_pid"
expect_eq "clean exit" "$?" "0"
wait "$stall_pid"
expect_eq "the request cut at the drain timeout got no answer" "$(cat stall.code)" "000"
expect_eq "audit file is owner-only" "$(stat -c '%a' audit.jsonl)" "600"
if python3 - "$good" "$rid" "$denied_rid" "$admin_rid" <<'PY'; then ok; else bad "audit records"; fi
import json, sys
token, rid, denied_rid, admin_rid = sys.argv[1:5]
text = open("audit.jsonl").read()
assert token not in text and token.split(".")[2] not in text, "token in audit log"
events = [json.loads(line) for line in text.splitlines()]
allow = [e for e in events if e["subject"] == "alice" and e["decision"] == "allow"]
assert allow and allow[0]["resource"] == "/orders/1" and allow[0]["status"] == 200, allow[:1]
deny = [e for e in events if e["status"] == 401]
assert deny and deny[0]["decision"] == "deny" and deny[0]["route"] == "orders"
assert any(e["status"] == 429 and e["route"] == "limited" for e in events)
assert any(e["status"] == 502 and e["route"] == "gone" for e in events)
# An absolute-form request is recorded with the host it was routed on.
framed = [e for e in events if e["resource"] == "/framing/head" and e["status"] == 200]
assert any(e["host"] == "other.example:8080" for e in framed), framed
assert not any(e["host"] == "x" for e in framed), framed
cedar = [e for e in events if e["route"] == "docs"]
assert any(e["decision"] == "allow" and e["reason"] == "permitted by owners-read" for e in cedar), cedar
assert any(e["status"] == 403 and e["reason"] == "denied (no policy permits)" for e in cedar), cedar
# The ids the service and the client were given are the audit events' ids.
assert [e["resource"] for e in events if e["request_id"] == rid] == ["/public/rid"], rid
assert [e["status"] for e in events if e["request_id"] == denied_rid] == [401], denied_rid
made = [e for e in events if e["route"] == "admin" and e["reason"].startswith("api key created")]
assert [e["request_id"] for e in made] == [admin_rid], (made, admin_rid)
assert all(e["request_id"] for e in events), [e for e in events if not e["request_id"]][:1]
assert "forged" not in text
assert "audit-secret" not in text, "a query's credential in the audit log"
assert any(e["resource"] == "/orders%2F" and e["status"] == 400 for e in events)
assert any(e["resource"] == "/x%2F" and e["status"] == 400 for e in events)
assert any(e["resource"] == "/orders" and e["status"] == 400 and e["reason"].startswith("bad request target") for e in events)
listener = [e for e in events if e["reason"].startswith("refused by the listener")]
assert any(e["resource"] == "/smuggle" and e["action"] == "POST" and e["status"] == 400 and e["decision"] == "deny" for e in listener), listener
assert any(e["status"] == 431 for e in listener), listener
cut = [e for e in events if e["resource"] == "/framing/stall"]
assert len(cut) == 1 and cut[0]["status"] == 0 and cut[0]["decision"] == "allow", cut
assert cut[0]["reason"].endswith("no answer: the server stopped first"), cut
assert cut[0]["latency_us"] >= 900000, cut
PY

finish "proxy e2e"
