#!/usr/bin/env bash
# End-to-end: real nginx (Debian package) in front of a service, with
# `auth_request` delegating every request to `bulwark serve`'s forward-auth
# endpoint. Checks the good path, each refusal (401 with its challenge, 403,
# the real 404/400 status carried through X-Bulwark-Status), path tricks, and
# that with docs/gateway.md's recipe a client cannot forge the identity
# fields the service trusts, a token Bulwark verified does not reach the
# service (one whose issuer forwards tokens does, as do a public route's
# credentials), and the service gets Bulwark's signed identity, which it
# verifies with node jose.
# Usage: forward_auth_nginx_test.sh BULWARK_BINARY
set -uo pipefail

bulwark=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$(dirname "$0")/lib.sh"
require_nginx
cd "$work" || exit 1

# The identity providers' keys, Bulwark's identity key, and its config.
"$bulwark" keys generate --alg ES256 --kid idp-1 >idp.jwk
"$bulwark" keys public --key idp.jwk >idp.pub.jwk
"$bulwark" keys generate --alg ES256 --kid partner-1 >partner.jwk
"$bulwark" keys public --key partner.jwk >partner.pub.jwk
"$bulwark" keys generate --alg EdDSA --kid bulwark-id-1 >identity.jwk
# The AuthZEN API is on too: its metadata answers 200 to anyone, so a
# forward-auth check that reached it would allow.
export BULWARK_RELATIONS_TOKEN="e2e-relations-token-0123456789abcdef"
export BULWARK_AUTHZEN_TOKEN="e2e-authzen-token-0123456789abcdef"
cat >bulwark.yaml <<YAML
server: {listen: 127.0.0.1:0, threads: 1}
store: {backend: memory}
relations:
  model_file: $here/../../examples/relations/drive/model.fga
  api_token: \${env:BULWARK_RELATIONS_TOKEN}
authzen:
  engine: relations
  api_token: \${env:BULWARK_AUTHZEN_TOKEN}
  policy_decision_point: https://pdp.example.com
gateway:
  issuers:
    - {name: idp, issuer: "https://idp.example", audiences: [orders-api], jwks_file: idp.pub.jwk}
    - {name: partner, issuer: "https://partner.example", audiences: [orders-api],
       jwks_file: partner.pub.jwk, forward_token: true}
  identity_token: {key_file: identity.jwk, issuer: "https://bulwark.test", ttl_seconds: 60}
  forward_auth: {trusted_proxies: [127.0.0.1/32]}
  routes:
    - name: admin-host
      host: admin.example
      path_prefix: /public
      authz: {roles: [admin]}
    - name: public
      path_prefix: /public
      authn: {mode: none}
    - name: orders
      path_prefix: /orders
      authz: {scopes: [orders:read]}
    - name: limited
      path_prefix: /limited
      authn: {mode: none}
      rate_limit: {key: client_ip, limit: 2, window_ms: 60000}
YAML
if start_bulwark bulwark.yaml bulwark.log; then ok; else bad "bulwark did not start"; exit 1; fi
bport=$bulwark_port

front=$(free_port)
back=$(free_port)
start_nginx <<NGINX || { bad "nginx did not start"; exit 1; }

  # The protected service: it trusts the X-Bulwark-* fields because only
  # the gateway can set them, and names what it got of them and of the
  # client's credential.
  server {
    listen 127.0.0.1:$back;
    location / {
      return 200 "service: subject=\$http_x_bulwark_subject roles=\$http_x_bulwark_roles spiffe=\$http_x_bulwark_spiffe_id authorization=\$http_authorization api_key=\$http_x_api_key uri=\$request_uri\n";
    }
    location ~ /whoami\$ { return 200 "\$http_x_bulwark_identity"; }
    location ~ /forwarded\$ {
      return 200 "host=\$http_host xff=\$http_x_forwarded_for real=\$http_x_real_ip xfh=\$http_x_forwarded_host prefix=\$http_x_forwarded_prefix uri=\$http_x_forwarded_uri forwarded=\$http_forwarded";
    }
  }

  server {
    listen 127.0.0.1:$front;
    location / {
      auth_request /_bulwark;
      auth_request_set \$bulwark_subject \$upstream_http_x_bulwark_subject;
      auth_request_set \$bulwark_issuer \$upstream_http_x_bulwark_issuer;
      auth_request_set \$bulwark_scopes \$upstream_http_x_bulwark_scopes;
      auth_request_set \$bulwark_roles \$upstream_http_x_bulwark_roles;
      auth_request_set \$bulwark_spiffe_id \$upstream_http_x_bulwark_spiffe_id;
      auth_request_set \$bulwark_credential \$upstream_http_x_bulwark_credential;
      auth_request_set \$bulwark_key_id \$upstream_http_x_bulwark_key_id;
      auth_request_set \$bulwark_identity \$upstream_http_x_bulwark_identity;
      auth_request_set \$bulwark_authorization \$upstream_http_authorization;
      auth_request_set \$bulwark_api_key \$upstream_http_x_api_key;
      auth_request_set \$bulwark_status \$upstream_http_x_bulwark_status;
      auth_request_set \$bulwark_retry_after \$upstream_http_retry_after;
      auth_request_set \$bulwark_ratelimit \$upstream_http_ratelimit;
      auth_request_set \$bulwark_ratelimit_policy \$upstream_http_ratelimit_policy;
      # docs/gateway.md's recipe: each replaces the client's copy, and one
      # left empty is not sent at all.
      proxy_set_header X-Bulwark-Subject \$bulwark_subject;
      proxy_set_header X-Bulwark-Issuer \$bulwark_issuer;
      proxy_set_header X-Bulwark-Scopes \$bulwark_scopes;
      proxy_set_header X-Bulwark-Roles \$bulwark_roles;
      proxy_set_header X-Bulwark-Spiffe-Id \$bulwark_spiffe_id;
      proxy_set_header X-Bulwark-Credential \$bulwark_credential;
      proxy_set_header X-Bulwark-Key-Id \$bulwark_key_id;
      proxy_set_header X-Bulwark-Identity \$bulwark_identity;
      proxy_set_header Authorization \$bulwark_authorization;
      proxy_set_header X-Api-Key \$bulwark_api_key;
      # What the service learns of the client and its host comes from nginx,
      # as Bulwark decided on it, never from the client.
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
      proxy_set_header X-Real-IP \$remote_addr;
      proxy_set_header X-Forwarded-Host \$host;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Port "";
      proxy_set_header X-Forwarded-Prefix "";
      proxy_set_header X-Forwarded-Uri "";
      proxy_set_header Forwarded "";
      proxy_pass http://127.0.0.1:$back;
      error_page 403 = @denied;
    }
    location = /_bulwark {
      internal;
      proxy_pass http://127.0.0.1:$bport/auth/nginx;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI \$request_uri;
      proxy_set_header X-Original-Method \$request_method;
      proxy_set_header X-Original-Host \$host;
      proxy_set_header X-Real-IP \$remote_addr;
      proxy_buffer_size 16k;
      proxy_busy_buffers_size 16k;
    }
    # nginx turns any auth status but 401/403 into 500; Bulwark answers 403
    # and names the real one in X-Bulwark-Status.
    location @denied {
      # What a client over a limit needs to know of it (none is empty otherwise).
      add_header Retry-After \$bulwark_retry_after always;
      add_header RateLimit-Policy \$bulwark_ratelimit_policy always;
      add_header RateLimit \$bulwark_ratelimit always;
      if (\$bulwark_status = 400) { return 400 "bad request\n"; }
      if (\$bulwark_status = 404) { return 404 "not found\n"; }
      if (\$bulwark_status = 429) { return 429 "too many requests\n"; }
      if (\$bulwark_status = 503) { return 503 "unavailable\n"; }
      return 403 "forbidden\n";
    }
  }
NGINX
ok
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$front/public" && break
  sleep 0.05
done
base="http://127.0.0.1:$front"

now=$(date +%s)
token() {  # token SCOPE [EXP_OFFSET] [AUD] [IDP]
  "$bulwark" jwt sign --key "${4:-idp}.jwk" --claims \
    "{\"iss\":\"https://${4:-idp}.example\",\"sub\":\"alice\",\"aud\":\"${3:-orders-api}\",\"scope\":\"$1\",\"iat\":$now,\"exp\":$((now + ${2:-600}))}"
}
good=$(token "orders:read")

code() { curl -s -o body -D headers -w '%{http_code}' "$@"; }

expect_eq "public route, no token" "$(code "$base/public/x")" "200"
expect_eq "no token -> 401" "$(code "$base/orders/1")" "401"
if grep -qi '^WWW-Authenticate: Bearer realm="bulwark"' headers; then ok; else bad "401 challenge"; cat headers; fi
expect_eq "valid token -> 200" "$(code -H "Authorization: Bearer $good" "$base/orders/1")" "200"
expect_eq "service sees the verified subject, not the token" "$(cat body)" \
  "service: subject=alice roles= spiffe= authorization= api_key= uri=/orders/1"
expect_eq "forged identity fields are replaced or removed" \
  "$(code -H "Authorization: Bearer $good" -H "X-Bulwark-Subject: admin" -H "X-Bulwark-Roles: admin" \
    -H "X-Bulwark-Spiffe-Id: spiffe://example.org/admin" \
    "$base/orders/1"):$(cat body)" \
  "200:service: subject=alice roles= spiffe= authorization= api_key= uri=/orders/1"
partner=$(token "orders:read" 600 orders-api partner)
expect_eq "a token whose issuer forwards tokens reaches the service" \
  "$(code -H "Authorization: Bearer $partner" "$base/orders/1"):$(cat body)" \
  "200:service: subject=alice roles= spiffe= authorization=Bearer $partner api_key= uri=/orders/1"
# A large token (here 5 KB of claims) and the signed identity come back in
# the answer's head, which outgrows nginx's default buffer for it.
pad=$(printf '%5000s' '' | tr ' ' a)
big=$("$bulwark" jwt sign --key partner.jwk --claims \
  "{\"iss\":\"https://partner.example\",\"sub\":\"alice\",\"aud\":\"orders-api\",\"scope\":\"orders:read\",\"pad\":\"$pad\",\"iat\":$now,\"exp\":$((now + 600))}")
expect_eq "a large forwarded token fits the answer" \
  "$(code -H "Authorization: Bearer $big" "$base/orders/1"):$(grep -c "authorization=Bearer $big" body)" "200:1"
expect_eq "a public route's credentials are the service's" \
  "$(code -H "Authorization: Basic dXNlcjpwYXNz" -H "X-Api-Key: svc-key" "$base/public/x"):$(cat body)" \
  "200:service: subject= roles= spiffe= authorization=Basic dXNlcjpwYXNz api_key=svc-key uri=/public/x"

# The signed identity: the service verifies it with node jose against the
# keys Bulwark publishes, for the route's name (it names no upstream).
expect_eq "signed identity forwarded" \
  "$(code -H "Authorization: Bearer $good" -H "X-Bulwark-Identity: forged" "$base/orders/whoami")" "200"
identity=$(cat body)
jwks="http://127.0.0.1:$bport/_bulwark/identity/jwks.json"
verified=$(node "$here/identity_verify.mjs" "$jwks" https://bulwark.test orders "$identity" 2>&1)
if [ $? -eq 0 ] && grep -q '"sub":"alice"' <<<"$verified" &&
  grep -q '"scope":"orders:read"' <<<"$verified"; then ok; else bad "identity: $verified"; fi
if node "$here/identity_verify.mjs" "$jwks" https://bulwark.test billing "$identity" >/dev/null 2>&1; then
  bad "identity accepted for another audience"
else ok; fi
expect_eq "a client's identity never reaches the service" \
  "$(code -H "X-Bulwark-Identity: forged" "$base/public/whoami"):$(cat body)" "200:"
expect_eq "missing scope -> 403" "$(code -H "Authorization: Bearer $(token orders:write)" "$base/orders/1")" "403"
expect_eq "expired -> 401" "$(code -H "Authorization: Bearer $(token orders:read -3600)" "$base/orders/1")" "401"
expect_eq "wrong audience -> 401" \
  "$(code -H "Authorization: Bearer $(token orders:read 600 billing)" "$base/orders/1")" "401"
tampered="${good%?????}AAAAA"
expect_eq "bad signature -> 401" "$(code -H "Authorization: Bearer $tampered" "$base/orders/1")" "401"
header=$(printf '{"alg":"none","kid":"idp-1"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
payload=$(echo "$good" | cut -d. -f2)
expect_eq "alg none -> 401" "$(code -H "Authorization: Bearer $header.$payload." "$base/orders/1")" "401"
expect_eq "unknown path -> 404 carried through" "$(code -H "Authorization: Bearer $good" "$base/admin")" "404"
# nginx passes the path on as the client sent it (\$request_uri), so one
# that resolving would change is refused, not judged on its resolved form:
# the service might resolve it otherwise, or not at all.
expect_eq "dot-dot from public into orders -> 400" \
  "$(code --path-as-is "$base/public/../orders/1")" "400"
expect_eq "encoded dot-dot -> 400" "$(code --path-as-is "$base/public/%2e%2e/orders/1")" "400"
expect_eq "dot-dot from orders out to public -> 400, never the service" \
  "$(code --path-as-is "$base/orders/../public/x")" "400"
expect_eq "an empty segment -> 400" "$(code --path-as-is "$base/orders//../public/x")" "400"
expect_eq "what every service decodes alike is judged as usual" "$(code "$base/%70ublic/x")" "200"
# nginx copies the client's fields into its call; what its default buffers
# take (three cookies of 7.9 KiB) Bulwark takes too, else nginx would turn
# the 431 into 500.
c7=$(head -c 7900 /dev/zero | tr '\0' c)
expect_eq "large cookies nginx accepts are decided, not refused" \
  "$(code -H "Cookie: a=$c7" -H "Cookie: b=$c7" -H "Cookie: d=$c7" "$base/public/x")" "200"
# A check of Envoy's names the path after /auth/envoy; one that resolves
# out of it is that check, refused, not a call of the API it resolves to.
expect_eq "an Envoy check that climbs out of its prefix -> 400" \
  "$(code --path-as-is "http://127.0.0.1:$bport/auth/envoy/public/../../../.well-known/authzen-configuration")" "400"
expect_eq "the API itself still answers there" \
  "$(code "http://127.0.0.1:$bport/.well-known/authzen-configuration")" "200"
# A check is decided on its head, so its body is never asked for (no 100
# Continue), though its path resolves to an API that reads one.
expect_eq "a check whose path resolves to an API is not read as the API's call" "$(python3 - "$bport" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"POST /auth/envoy/x/../../../access/v1/evaluation HTTP/1.1\r\nHost: api.example\r\n"
          b"Content-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
print(s.recv(4096).split(b"\r\n", 1)[0].decode())
PY
)" "HTTP/1.1 400 Bad Request"
# nginx decodes the path it passes on with a URI part in proxy_pass (and in
# \$uri and rewrites): an encoded ';' becomes the parameter mark that Tomcat,
# Jetty and Spring strip, so /orders%3B/1 would be their /orders/1 and
# /public/..%3B/orders/1 their /orders/1, while Bulwark saw neither under
# /orders. Refused.
expect_eq "encoded semicolon after a protected prefix -> 400" "$(code "$base/orders%3B/1")" "400"
expect_eq "encoded semicolon on a dot-dot -> 400" "$(code --path-as-is "$base/public/..%3B/orders/1")" "400"
# The host decided on is the one the service gets: for an absolute-form
# target nginx's \$host is the target's authority, not the Host field, so
# a recipe passing \$http_host would serve admin.example's public path as
# www.example's. And a client's forwarding fields are replaced or dropped.
expect_eq "the service gets the host decided on, and nginx's forwarding fields" \
  "$(code --request-target "http://www.example/public/forwarded" -H "Host: admin.example" \
    -H "X-Forwarded-For: 10.0.0.1" -H "X-Real-IP: 10.0.0.2" -H "X-Forwarded-Host: admin.example" \
    -H "X-Forwarded-Prefix: /admin" -H "X-Forwarded-Uri: /admin" -H "Forwarded: for=10.0.0.3" \
    "$base"):$(cat body)" \
  "200:host=www.example xff=127.0.0.1 real=127.0.0.1 xfh=www.example prefix= uri= forwarded="
expect_eq "the same host in origin form is admin.example's, which takes a role" \
  "$(code -H "Host: admin.example" "$base/public/forwarded")" "401"
expect_eq "encoded slash -> 400 carried through" "$(code "$base/public%2F..%2Forders")" "400"
expect_eq "a path override -> 400 carried through" \
  "$(code -H "X-Rewrite-URL: /orders/1" "$base/public/x")" "400"

expect_eq "within the limit" "$(code "$base/limited"):$(code "$base/limited")" "200:200"
expect_eq "over the limit -> 429 carried through" "$(code "$base/limited")" "429"
expect_eq "the 429 says when to come back, and the limit" \
  "$(grep -ciE '^(Retry-After: [1-9][0-9]*|RateLimit-Policy: "limited";q=2;w=60|RateLimit: "limited";r=0;t=[1-9][0-9]*)'$'\r''$' headers)" "3"

# The subrequest's own Host is Bulwark's address: the host decided on is the
# request's, which the recipe sends as X-Original-Host, so a host's route
# is not passed over for the catch-all behind it.
expect_eq "a host's route is decided for that host" \
  "$(code -H "Host: admin.example" "$base/public/x"):$(code -H "Host: www.example" "$base/public/x")" "401:200"

kill -TERM "$bulwark_pid"
wait "$bulwark_pid" 2>/dev/null
expect_eq "bulwark down -> nginx fails closed" "$(code "$base/public/x")" "500"

finish "forward-auth nginx e2e"
