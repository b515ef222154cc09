#!/usr/bin/env bash
# End-to-end: gateway routes that require a relation. `bulwark serve` proxies
# /docs/{id} to a real service (nginx) only for callers with `viewer` (GET)
# or `editor` (PUT) on document:{id}, as the relations say; a share written
# through the relations API takes effect on the next request and a
# revocation too, and ends a WebSocket tunnel opened under the share.
# Driven by curl and a node WebSocket client with JWTs from `bulwark jwt sign`.
# Usage: relations_gateway_test.sh BULWARK_BINARY
set -uo pipefail

bulwark=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
require_nginx
cd "$work" || exit 1

back=$(free_port)
start_nginx <<NGINX || { bad "nginx did not start"; exit 1; }
  server {
    listen 127.0.0.1:$back;
    location / { return 200 "service saw \$request_method \$request_uri\n"; }
  }
NGINX
ok
wsport=$(free_port)
node "$here/websocket_upstream.mjs" "$wsport" &
pids+=($!)

"$bulwark" keys generate --alg ES256 --kid idp-1 >idp.jwk
"$bulwark" keys public --key idp.jwk >idp.pub.jwk
export BULWARK_RELATIONS_TOKEN="e2e-relations-gateway-token-0123456789"
# config MODEL RELATION: a server whose one route, /docs/, requires the
# RELATION section's relation under MODEL, and /live/, WebSockets to a
# document's viewers.
config() {
  cat <<YAML
server: {listen: 127.0.0.1:0}
store: {backend: memory}
audit: {file: audit.jsonl}
relations:
  model_file: $1
  api_token: \${env:BULWARK_RELATIONS_TOKEN}
gateway:
  upstreams:
    - {name: service, address: 127.0.0.1:$back}
    - {name: live, address: 127.0.0.1:$wsport}
  issuers:
    - {name: idp, issuer: "https://idp.example", audiences: [docs-api], jwks_file: idp.pub.jwk}
  routes:
    - name: docs
      path_prefix: /docs/
      authn: {issuers: [idp]}
      authz: {relation: $2}
      upstream: service
    - name: live
      path_prefix: /live/
      authn: {issuers: [idp]}
      authz: {relation: {relations: {GET: viewer}, path: "/live/{id}", object: "document:{id}"}}
      upstream: live
      websocket: true
YAML
}
config "$root/examples/relations/drive/model.fga" \
  '{relations: {GET: viewer, PUT: editor}, path: "/docs/{id}", object: "document:{id}"}' >bulwark.yaml
start_bulwark bulwark.yaml server.log || { echo "FAIL: server did not start"; exit 1; }
base="http://127.0.0.1:$bulwark_port"
now=$(date +%s)
token() { "$bulwark" jwt sign --key idp.jwk --claims "{\"iss\":\"https://idp.example\",\"sub\":\"$1\",\"aud\":\"docs-api\",\"iat\":$now,\"exp\":$((now + 600))}"; }
alice=$(token alice)
bob=$(token bob)
code() { curl -s -o body -w '%{http_code}' "$@"; }
write() {
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BULWARK_RELATIONS_TOKEN" \
    -H "Content-Type: application/json" -d "$1" "$base/v1/relations/write"
}

expect_eq "share: alice owns the plans folder; the roadmap is in it" \
  "$(write '{"writes": [{"user": "user:alice", "relation": "owner", "object": "folder:plans"},
                        {"user": "folder:plans", "relation": "parent", "object": "document:roadmap"}]}')" "200"
expect_eq "alice reads the roadmap" "$(code -H "Authorization: Bearer $alice" "$base/docs/roadmap")" "200"
if grep -q 'service saw GET /docs/roadmap' body; then ok; else bad "upstream body: $(cat body)"; fi
expect_eq "alice edits it (owner of the folder)" "$(code -X PUT -H "Authorization: Bearer $alice" "$base/docs/roadmap")" "200"
expect_eq "bob may not" "$(code -H "Authorization: Bearer $bob" "$base/docs/roadmap")" "403"
expect_eq "a method without a relation" "$(code -X DELETE -H "Authorization: Bearer $alice" "$base/docs/roadmap")" "403"
expect_eq "no credentials" "$(code "$base/docs/roadmap")" "401"
expect_eq "dot segments cannot reach another document" \
  "$(code --path-as-is -H "Authorization: Bearer $bob" "$base/docs/other/../roadmap")" "403"

expect_eq "share with bob's team" \
  "$(write '{"writes": [{"user": "user:bob", "relation": "member", "object": "group:eng"},
                        {"user": "group:eng#member", "relation": "viewer", "object": "document:roadmap"}]}')" "200"
expect_eq "bob reads it now" "$(code -H "Authorization: Bearer $bob" "$base/docs/roadmap")" "200"
expect_eq "but does not edit" "$(code -X PUT -H "Authorization: Bearer $bob" "$base/docs/roadmap")" "403"
# A WebSocket bob opens under the share runs while it stands.
node "$here/websocket_client.mjs" "ws://127.0.0.1:$bulwark_port/live/roadmap" "$bob" idle 8 >live.out &
live_pid=$!
sleep 1.5
expect_eq "revoke: bob leaves the team" \
  "$(write '{"deletes": [{"user": "user:bob", "relation": "member", "object": "group:eng"}]}')" "200"
expect_eq "bob is refused at once" "$(code -H "Authorization: Bearer $bob" "$base/docs/roadmap")" "403"
# His tunnel ends within a second or so, as a request on it would be
# refused; it would otherwise run on (until the client's 8 s here).
wait "$live_pid"
if grep -q '"subject":"bob"' live.out && grep -q '"close":1006' live.out &&
  awk -F'"seconds":' '{split($2, a, "}"); exit !(a[1] >= 1.5 && a[1] < 5)}' live.out; then
  ok
else
  bad "bob's tunnel outlived the revoked share: $(cat live.out)"
fi
expect_eq "the cut is logged naming the authorization" \
  "$(grep -c '"msg":"net.http.tunnel_credential_ended","credential":"authorization"' server.log)" 1
expect_eq "and no tunnel opens again" \
  "$(node "$here/websocket_client.mjs" "ws://127.0.0.1:$bulwark_port/live/roadmap" "$bob")" '{"status":403}'

# The audit records say why.
if grep -q '"route":"docs".*"decision":"allow".*relation granted:.*document:roadmap#parent@folder:plans' audit.jsonl; then ok; else
  bad "allow reason: $(grep '"route":"docs"' audit.jsonl | head -2)"
fi
if grep -q '"route":"docs".*"status":403.*relation document:roadmap#viewer@user:bob: no such relation' audit.jsonl; then ok; else
  bad "deny reason: $(grep '"status":403' audit.jsonl | head -2)"
fi

# A condition on the path sees it as the service resolves it, without
# segment parameters: `/docs/secret;v=1/plan` is `/docs/secret/plan` to a
# Tomcat or Spring service, so a share that excludes /docs/secret/ must
# exclude it too.
kill -TERM "$bulwark_pid"
wait "$bulwark_pid"
cat >paths.fga <<'FGA'
model
  schema 1.1

type user

type document
  relations
    define viewer: [user with outside_secret]

condition outside_secret(path: string) {
  !path.startsWith("/docs/secret/")
}
FGA
config paths.fga \
  '{relations: {GET: viewer}, path: "/docs/{section}/{id}", object: "document:{id}"}' >paths.yaml
start_bulwark paths.yaml paths.log || { echo "FAIL: second server did not start"; cat paths.log; exit 1; }
base="http://127.0.0.1:$bulwark_port"
expect_eq "share the plan with alice outside /docs/secret/" \
  "$(write '{"writes": [{"user": "user:alice", "relation": "viewer", "object": "document:plan",
                         "condition": {"name": "outside_secret"}}]}')" "200"
expect_eq "alice reads it under /docs/open/" "$(code -H "Authorization: Bearer $alice" "$base/docs/open/plan")" "200"
expect_eq "not under /docs/secret/" "$(code -H "Authorization: Bearer $alice" "$base/docs/secret/plan")" "403"
expect_eq "nor under /docs/secret;v=1/, which the service resolves to it" \
  "$(code -H "Authorization: Bearer $alice" "$base/docs/secret;v=1/plan")" "403"

finish relations_gateway_test
