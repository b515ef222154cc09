#!/usr/bin/env bash
# End-to-end test of relationship-based access: `bulwark serve` with the
# Drive model of docs/relations.md on a SQLite store, driven by curl and by
# `bulwark relations`. Writes return consistency tokens that later checks
# honour (a revocation is seen at once); bad writes are refused with the
# reason and change nothing; the tuples survive a restart; the AuthZEN API
# answers from the relations and, in a second server, from Cedar policies.
# Usage: relations_api_test.sh BULWARK_BINARY
set -uo pipefail
bulwark=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

export BULWARK_RELATIONS_TOKEN="e2e-relations-token-0123456789abcdef"
export BULWARK_AUTHZEN_TOKEN="e2e-authzen-token-0123456789abcdef"
cat >"$work/bulwark.yaml" <<YAML
server: {listen: 127.0.0.1:0}
store: {backend: sqlite, path: $work/bulwark.db}
audit: {file: $work/audit.log}
relations:
  model_file: $root/examples/relations/drive/model.fga
  api_token: \${env:BULWARK_RELATIONS_TOKEN}
authzen:
  engine: relations
  api_token: \${env:BULWARK_AUTHZEN_TOKEN}
  policy_decision_point: https://pdp.example.com
YAML
start_bulwark "$work/bulwark.yaml" "$work/server.log" || { echo "FAIL: server did not start"; exit 1; }
base="http://127.0.0.1:$bulwark_port"
auth=(-H "Authorization: Bearer $BULWARK_RELATIONS_TOKEN" -H "Content-Type: application/json")
call() {  # call OP BODY -> status; the body in $work/body
  curl -s -o "$work/body" -w '%{http_code}' "${auth[@]}" -d "$2" "$base/v1/relations/$1"
}
body_has() { if grep -q -- "$1" "$work/body"; then ok; else bad "$2: $(cat "$work/body")"; fi; }
token_of() { sed -n 's/.*"consistency_token":"\([0-9]*\)".*/\1/p' "$work/body"; }

# The model came from the file.
expect_eq "read the model" "$(curl -s -o "$work/body" -w '%{http_code}' "${auth[@]}" "$base/v1/relations/model")" "200"
body_has 'define can_share: owner or editor' "model body"

# Share: Bob is in eng, eng in all, all edits Plans, Plans holds the roadmap.
expect_eq "write" "$(call write '{"writes": [
  {"user": "user:bob", "relation": "member", "object": "group:eng"},
  {"user": "group:eng#member", "relation": "member", "object": "group:all"},
  {"user": "group:all#member", "relation": "editor", "object": "folder:plans"},
  {"user": "folder:plans", "relation": "parent", "object": "document:roadmap"}]}')" "200"
token=$(token_of)
[ -n "$token" ] && ok || bad "no consistency token: $(cat "$work/body")"
expect_eq "check with the token" "$(call check "{\"tuple_key\": {\"user\": \"user:bob\", \"relation\": \"viewer\", \"object\": \"document:roadmap\"}, \"consistency_token\": \"$token\"}")" "200"
body_has '"allowed":true' "bob views"
body_has 'document:roadmap#editor <- folder:plans#editor (editor from parent)' "the path says why"
body_has 'group:eng#member@user:bob' "the path names the tuple"
expect_eq "a stranger" "$(call check '{"tuple_key": {"user": "user:eve", "relation": "viewer", "object": "document:roadmap"}}')" "200"
body_has '"allowed":false' "eve does not view"
expect_eq "contextual tuple" "$(call check '{"tuple_key": {"user": "user:dave", "relation": "editor", "object": "document:roadmap"}, "contextual_tuples": {"tuple_keys": [{"user": "user:dave", "relation": "member", "object": "group:eng"}]}}')" "200"
body_has '"allowed":true' "dave, for this request"

# Bad input: refused with the reason, nothing written.
expect_eq "an existing tuple" "$(call write '{"writes": [{"user": "user:eve", "relation": "member", "object": "group:eng"}, {"user": "user:bob", "relation": "member", "object": "group:eng"}]}')" "409"
body_has 'already exists' "409 body"
expect_eq "eve was not written with it" "$(call check '{"tuple_key": {"user": "user:eve", "relation": "member", "object": "group:eng"}}')" "200"
body_has '"allowed":false' "atomic write"
expect_eq "an undefined relation" "$(call write '{"writes": [{"user": "user:eve", "relation": "admin", "object": "document:roadmap"}]}')" "400"
body_has 'no relation `admin`' "400 body"
expect_eq "a type the relation does not allow" "$(call write '{"writes": [{"user": "folder:x", "relation": "owner", "object": "document:roadmap"}]}')" "400"
expect_eq "a malformed user" "$(call write '{"writes": [{"user": "bob", "relation": "owner", "object": "document:roadmap"}]}')" "400"
expect_eq "deleting what is not there" "$(call write '{"deletes": [{"user": "user:zed", "relation": "owner", "object": "document:roadmap"}]}')" "404"
expect_eq "a bad model" "$(curl -s -o "$work/body" -w '%{http_code}' -X PUT -H "Authorization: Bearer $BULWARK_RELATIONS_TOKEN" --data-binary $'model\n  schema 1.1\ntype document\n  relations\n    define viewer: [nobody]\n' "$base/v1/relations/model")" "400"
body_has 'relation `document#viewer`: type `nobody` is not defined' "the model error names the place"
expect_eq "no token" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' "$base/v1/relations/check")" "401"
expect_eq "a future token" "$(call check "{\"tuple_key\": {\"user\": \"user:bob\", \"relation\": \"viewer\", \"object\": \"document:roadmap\"}, \"consistency_token\": \"$((token + 100000))\"}")" "503"

# Lists and the tree.
expect_eq "list objects" "$(call list-objects '{"user": "user:bob", "relation": "editor", "type": "document"}')" "200"
body_has '"objects":\["document:roadmap"\]' "bob edits the roadmap"
expect_eq "list users" "$(call list-users '{"object": "document:roadmap", "relation": "viewer", "user_filters": [{"type": "user"}]}')" "200"
body_has '"users":\["user:bob"\]' "the roadmap's viewers"
expect_eq "expand" "$(call expand '{"tuple_key": {"object": "folder:plans", "relation": "editor"}}')" "200"
body_has '"users":\["group:all#member"\]' "the tree lists the direct users"

# The CLI against the server: write with a condition, check, list.
cli=("$bulwark" relations)
srv=(--server "$base")
out=$("${cli[@]}" write "${srv[@]}" user:carol viewer document:budget --condition link_not_expired --condition-context '{"expires_at": "2030-01-01T00:00:00Z"}')
expect_eq "cli write" "$?" "0"
"${cli[@]}" check "${srv[@]}" --consistency-token "$out" --context '{"current_time": "2029-06-01T00:00:00Z"}' user:carol viewer document:budget >"$work/cli.out"
expect_eq "cli check before expiry" "$?" "0"
if grep -q 'document:budget#viewer@user:carol \[if link_not_expired\]' "$work/cli.out"; then ok; else bad "cli path: $(cat "$work/cli.out")"; fi
"${cli[@]}" check "${srv[@]}" --context '{"current_time": "2031-01-01T00:00:00Z"}' user:carol viewer document:budget >/dev/null
expect_eq "cli check after expiry" "$?" "1"
"${cli[@]}" check "${srv[@]}" user:carol viewer document:budget >/dev/null 2>"$work/cli.err"
expect_eq "cli check without the time: an error, not a grant" "$?" "2"
if grep -q 'missing context parameter `current_time`' "$work/cli.err"; then ok; else bad "cli error: $(cat "$work/cli.err")"; fi
expect_eq "cli list-objects" "$("${cli[@]}" list-objects "${srv[@]}" user:bob viewer document)" "document:roadmap"
expect_eq "cli list-users (nested groups too)" "$("${cli[@]}" list-users "${srv[@]}" group#member editor folder:plans | tr '\n' ' ')" "group:all#member group:eng#member "
"${cli[@]}" model get "${srv[@]}" >"$work/model.out"
if cmp -s "$work/model.out" "$root/examples/relations/drive/model.fga"; then ok; else bad "cli model get: $(head -3 "$work/model.out")"; fi
printf 'model\n  schema 1.1\ntype user\ntype document\n  relations\n    define viewer: [nobody]\n' >"$work/bad.fga"
"${cli[@]}" model put "${srv[@]}" "$work/bad.fga" >/dev/null 2>"$work/cli.err"
expect_eq "cli model put refuses a bad model" "$?" "2"
if grep -q 'type `nobody` is not defined' "$work/cli.err"; then ok; else bad "cli model error: $(cat "$work/cli.err")"; fi
BULWARK_RELATIONS_TOKEN=wrong "${cli[@]}" check "${srv[@]}" user:bob viewer document:roadmap >/dev/null 2>&1
expect_eq "cli with a wrong token" "$?" "2"

# AuthZEN from the relations.
az=(-H "Authorization: Bearer $BULWARK_AUTHZEN_TOKEN" -H "Content-Type: application/json")
azcall() { curl -s -o "$work/body" -D "$work/headers" -w '%{http_code}' "${az[@]}" -H 'X-Request-ID: req-42' -d "$2" "$base/access/v1/$1"; }
bob='"subject": {"type": "user", "id": "bob"}'
expect_eq "authzen evaluation" "$(azcall evaluation "{$bob, \"action\": {\"name\": \"can_share\"}, \"resource\": {\"type\": \"document\", \"id\": \"roadmap\"}}")" "200"
body_has '"decision":true' "bob can share"
if grep -qi '^x-request-id: req-42' "$work/headers"; then ok; else bad "X-Request-ID not echoed"; fi
expect_eq "authzen deny" "$(azcall evaluation "{$bob, \"action\": {\"name\": \"owner\"}, \"resource\": {\"type\": \"document\", \"id\": \"roadmap\"}}")" "200"
body_has '"decision":false' "bob does not own"
expect_eq "authzen unknown relation: a deny that says why" "$(azcall evaluation "{$bob, \"action\": {\"name\": \"delete\"}, \"resource\": {\"type\": \"document\", \"id\": \"roadmap\"}}")" "200"
body_has '"decision":false,"context":{"error":{"status":400' "deny with the reason"
expect_eq "authzen missing subject" "$(azcall evaluation '{"action": {"name": "viewer"}, "resource": {"type": "document", "id": "roadmap"}}')" "400"
expect_eq "authzen evaluations" "$(azcall evaluations "{$bob, \"action\": {\"name\": \"viewer\"}, \"evaluations\": [{\"resource\": {\"type\": \"document\", \"id\": \"roadmap\"}}, {\"resource\": {\"type\": \"document\", \"id\": \"secret\"}}, {\"resource\": {\"type\": \"folder\", \"id\": \"plans\"}}]}")" "200"
body_has '"evaluations":\[{"decision":true.*},{"decision":false},{"decision":true' "execute_all"
azcall evaluations "{$bob, \"action\": {\"name\": \"viewer\"}, \"options\": {\"evaluations_semantic\": \"deny_on_first_deny\"}, \"evaluations\": [{\"resource\": {\"type\": \"document\", \"id\": \"roadmap\"}}, {\"resource\": {\"type\": \"document\", \"id\": \"secret\"}}, {\"resource\": {\"type\": \"folder\", \"id\": \"plans\"}}]}" >/dev/null
if [ "$(grep -o '"decision"' "$work/body" | wc -l)" -eq 2 ]; then ok; else bad "deny_on_first_deny: $(cat "$work/body")"; fi
expect_eq "authzen without its token" "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" -d "{$bob}" "$base/access/v1/evaluation")" "401"
expect_eq "authzen metadata" "$(curl -s -o "$work/body" -w '%{http_code}' "$base/.well-known/authzen-configuration")" "200"
body_has '"access_evaluations_endpoint":"https://pdp.example.com/access/v1/evaluations"' "metadata"
body_has '"search_resource_endpoint":"https://pdp.example.com/access/v1/search/resource"' "metadata lists the searches"

# AuthZEN searches over the relations.
expect_eq "resource search" "$(azcall search/resource "{$bob, \"action\": {\"name\": \"editor\"}, \"resource\": {\"type\": \"document\"}}")" "200"
body_has '"results":\[{"type":"document","id":"roadmap"}\]' "bob edits the roadmap"
expect_eq "subject search" "$(azcall search/subject '{"subject": {"type": "user"}, "action": {"name": "viewer"}, "resource": {"type": "document", "id": "roadmap"}}')" "200"
body_has '"results":\[{"type":"user","id":"bob"}\]' "the roadmap's viewers"
expect_eq "action search" "$(azcall search/action "{$bob, \"resource\": {\"type\": \"document\", \"id\": \"roadmap\"}}")" "200"
body_has '"results":\[{"name":"editor"},{"name":"viewer"},{"name":"can_share"}\]' "what bob may do"
expect_eq "paged search" "$(azcall search/action "{$bob, \"resource\": {\"type\": \"document\", \"id\": \"roadmap\"}, \"page\": {\"limit\": 2}}")" "200"
body_has '"page":{"next_token":"2","count":2,"total":3},"results":\[{"name":"editor"},{"name":"viewer"}\]' "first page"
azcall search/action "{$bob, \"resource\": {\"type\": \"document\", \"id\": \"roadmap\"}, \"page\": {\"limit\": 2, \"token\": \"2\"}}" >/dev/null
body_has '"page":{"next_token":"","count":1,"total":3},"results":\[{"name":"can_share"}\]' "last page"
expect_eq "search for an unknown type" "$(azcall search/resource "{$bob, \"action\": {\"name\": \"viewer\"}, \"resource\": {\"type\": \"spaceship\"}}")" "400"

# The official OpenFGA SDK, unchanged, against the OpenFGA-compatible paths.
if [ -d "$root/tests/e2e/node_modules/@openfga/sdk" ]; then
  node "$root/tests/e2e/openfga_sdk_client.mjs" "$base" >"$work/sdk.out" 2>&1
  if grep -q "^openfga sdk: ok" "$work/sdk.out"; then ok; else bad "openfga sdk: $(cat "$work/sdk.out")"; fi
elif [ "${CI:-}" = true ]; then
  bad "tests/e2e/node_modules lacks @openfga/sdk (npm ci --prefix tests/e2e)"
fi

# Revoke: Bob leaves eng; a check with the new token sees it at once.
expect_eq "revoke" "$(call write '{"deletes": [{"user": "user:bob", "relation": "member", "object": "group:eng"}]}')" "200"
token=$(token_of)
call check "{\"tuple_key\": {\"user\": \"user:bob\", \"relation\": \"viewer\", \"object\": \"document:roadmap\"}, \"consistency_token\": \"$token\"}" >/dev/null
body_has '"allowed":false' "revoked at once"

# A restart reads everything back from the SQLite file.
kill "$bulwark_pid"; wait "$bulwark_pid" 2>/dev/null
start_bulwark "$work/bulwark.yaml" "$work/server2.log" || { echo "FAIL: restart"; exit 1; }
base="http://127.0.0.1:$bulwark_port"
call check '{"tuple_key": {"user": "user:alice", "relation": "viewer", "object": "document:roadmap"}}' >/dev/null
body_has '"allowed":false' "alice still not a viewer"
call read '{"tuple_key": {"object": "document:roadmap"}}' >/dev/null
body_has '"user":"folder:plans","relation":"parent","object":"document:roadmap"' "tuples survived"
call check '{"tuple_key": {"user": "user:carol", "relation": "viewer", "object": "document:budget"}, "context": {"current_time": "2029-06-01T00:00:00Z"}}' >/dev/null
body_has '"allowed":true' "the condition's context survived"

# The audit log has the checks with their paths; no token is logged anywhere.
if grep -q '"route":"relations".*"decision":"allow".*granted: document:roadmap#viewer' "$work/audit.log"; then ok; else bad "audit: $(head -3 "$work/audit.log")"; fi
if grep -q '"route":"authzen"' "$work/audit.log"; then ok; else bad "authzen not audited"; fi
# Each relations event carries a request id (it comes before the route).
if grep -q '"route":"relations"' "$work/audit.log" && ! grep -q '"request_id":"".*"route":"relations"' "$work/audit.log"; then
  ok
else
  bad "a relations event without a request id: $(grep -m1 '"request_id":"".*"route":"relations"' "$work/audit.log")"
fi
if grep -q '"action":"tuples.write".*"decision":"allow".*4 written, 0 deleted; +group:eng#member@user:bob' "$work/audit.log"; then ok; else bad "write not audited: $(grep tuples.write "$work/audit.log" | head -2)"; fi
if grep -q '"action":"tuples.write".*"status":409.*refused: tuple group:eng#member@user:bob already exists' "$work/audit.log"; then ok; else bad "refused write not audited"; fi
if grep -q '"action":"model.put".*"status":400' "$work/audit.log"; then ok; else bad "refused model not audited"; fi
if grep -q -e "$BULWARK_RELATIONS_TOKEN" -e "$BULWARK_AUTHZEN_TOKEN" "$work"/*.log; then bad "a token leaked"; else ok; fi

# AuthZEN from Cedar policies (the ABAC example of docs/policy.md).
kill "$bulwark_pid"; wait "$bulwark_pid" 2>/dev/null
cat >"$work/cedar.yaml" <<YAML
server: {listen: 127.0.0.1:0}
store: {backend: memory}
policy:
  policies_file: $root/examples/policy/abac/policies.cedar
  entities_file: $root/examples/policy/abac/entities.json
  api_token: \${env:BULWARK_AUTHZEN_TOKEN}
authzen:
  engine: cedar
  api_token: \${env:BULWARK_AUTHZEN_TOKEN}
YAML
start_bulwark "$work/cedar.yaml" "$work/cedar.log" || { echo "FAIL: cedar server"; exit 1; }
base="http://127.0.0.1:$bulwark_port"
mia='"subject": {"type": "Employee", "id": "mia"}, "action": {"name": "approve"}, "resource": {"type": "Expense", "id": "taxi"}'
expect_eq "authzen over cedar" "$(azcall evaluation "{$mia, \"context\": {\"source_ip\": {\"__extn\": {\"fn\": \"ip\", \"arg\": \"10.20.3.4\"}}}}")" "200"
body_has '"decision":true,"context":{"reason":\["manager-approves"\]}' "cedar allows with its reason"
expect_eq "authzen over cedar, outside" "$(azcall evaluation "{$mia, \"context\": {\"source_ip\": {\"__extn\": {\"fn\": \"ip\", \"arg\": \"203.0.113.9\"}}}}")" "200"
body_has '"decision":false' "cedar denies"
expect_eq "no metadata without a configured PDP URL" "$(curl -s -o /dev/null -w '%{http_code}' "$base/.well-known/authzen-configuration")" "404"
expect_eq "no searches over cedar" "$(azcall search/resource "{$mia}")" "404"

finish relations_api_test
