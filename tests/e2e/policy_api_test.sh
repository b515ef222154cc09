#!/usr/bin/env bash
# End-to-end test of the decision API: `bulwark serve` with the ABAC example
# of docs/policy.md, asked by curl for single and batch decisions; the token
# is required, bad requests get 400, and a broken policy file stops the
# server from starting with the file, line and column. With a schema, policies
# that do not validate stop the server too, and requests are read through the
# schema. With policy.store, the admin API changes the policies while the
# server decides, a bad change is refused and changes nothing, and the store
# (a SQLite file) keeps them across a restart.
# Usage: policy_api_test.sh BULWARK_BINARY
set -uo pipefail
bulwark=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

export BULWARK_PDP_TOKEN="e2e-decision-api-token-0123456789abcdef"
cat >"$work/bulwark.yaml" <<YAML
server: {listen: 127.0.0.1:0}
store: {backend: memory}
audit: {file: $work/audit.log}
policy:
  policies_file: $root/examples/policy/abac/policies.cedar
  entities_file: $root/examples/policy/abac/entities.json
  api_token: \${env:BULWARK_PDP_TOKEN}
YAML
start_bulwark "$work/bulwark.yaml" "$work/server.log" || { echo "FAIL: server did not start"; exit 1; }
base="http://127.0.0.1:$bulwark_port"
auth=(-H "Authorization: Bearer $BULWARK_PDP_TOKEN" -H "Content-Type: application/json")

ask() {  # ask BODY [PATH] -> status; the body in $work/body
  curl -s -o "$work/body" -w '%{http_code}' "${auth[@]}" -d "$1" "$base${2:-/v1/authorize}"
}
office='{"source_ip": {"__extn": {"fn": "ip", "arg": "10.20.3.4"}}}'
approve='"principal": "Employee::\"mia\"", "action": "Action::\"approve\"", "resource": "Expense::\"taxi\""'

expect_eq "manager approves from the office" "$(ask "{$approve, \"context\": $office}")" "200"
if grep -q '"decision":"allow","reasons":\["manager-approves"\]' "$work/body"; then ok; else bad "allow body: $(cat "$work/body")"; fi
# The answer and the decision's audit event carry one request id.
pdp_rid=$(curl -s -D - -o /dev/null "${auth[@]}" -d "{$approve, \"context\": $office}" "$base/v1/authorize" |
  tr -d '\r' | sed -n 's/^x-request-id: //Ip')
for _ in $(seq 1 40); do
  grep -q "\"request_id\":\"$pdp_rid\".*\"route\":\"pdp\"" "$work/audit.log" 2>/dev/null && break
  sleep 0.05
done
if [[ "$pdp_rid" =~ ^[0-9a-f-]{36}$ ]] && grep -q "\"request_id\":\"$pdp_rid\".*\"route\":\"pdp\"" "$work/audit.log"; then
  ok
else
  bad "request id $pdp_rid not in the answer and its audit event: $(tail -2 "$work/audit.log")"
fi
expect_eq "from outside" "$(ask "{$approve, \"context\": {\"source_ip\": {\"__extn\": {\"fn\": \"ip\", \"arg\": \"203.0.113.9\"}}}}")" "200"
if grep -q '"decision":"deny"' "$work/body"; then ok; else bad "deny body: $(cat "$work/body")"; fi
expect_eq "no context: the policy errors, deny" "$(ask "{$approve}")" "200"
if grep -q '"policy":"manager-approves"' "$work/body"; then ok; else bad "error body: $(cat "$work/body")"; fi
expect_eq "the normalized path is what counts" "$(ask "{$approve, \"context\": $office}" //v1/./authorize)" "200"
expect_eq "batch" "$(ask "{\"requests\": [{$approve, \"context\": $office}, {$approve}]}" /v1/authorize/batch)" "200"
if grep -q '"results":\[{"decision":"allow".*{"decision":"deny"' "$work/body"; then ok; else bad "batch body: $(cat "$work/body")"; fi
expect_eq "no token" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d "{$approve}" "$base/v1/authorize")" "401"
expect_eq "wrong token" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' -H 'Content-Type: application/json' -d "{$approve}" "$base/v1/authorize")" "401"
# Both refusals are audited, as at the admin API, without what was sent.
for _ in $(seq 1 40); do
  grep -q '"reason":"pdp token invalid"' "$work/audit.log" 2>/dev/null && break
  sleep 0.05
done
expect_eq "refused calls audited" \
  "$(grep -c '"route":"pdp".*"decision":"deny","status":401.*"reason":"pdp token \(missing\|invalid\)"' "$work/audit.log")" 2
expect_eq "without the token sent" "$(grep -c '"Bearer nope\|nope"' "$work/audit.log")" 0
expect_eq "a form post" "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BULWARK_PDP_TOKEN" -d "{$approve}" "$base/v1/authorize")" "415"
expect_eq "malformed" "$(ask '{"principal": 1}')" "400"
if grep -q 'principal' "$work/body"; then ok; else bad "400 body: $(cat "$work/body")"; fi
if grep -q "$BULWARK_PDP_TOKEN" "$work/server.log"; then bad "the token leaked into the log"; else ok; fi

# A policy file with a syntax error: the server refuses to start and says where.
printf 'permit (principal, action, resource)\nwhen { principal.x == };\n' >"$work/broken.cedar"
sed "s|policies_file: .*|policies_file: $work/broken.cedar|" "$work/bulwark.yaml" >"$work/broken.yaml"
"$bulwark" serve --config "$work/broken.yaml" >"$work/broken.log" 2>&1
status=$?
if [ "$status" -ne 0 ] && grep -q 'broken.cedar:2:23: expected an expression' "$work/broken.log"; then ok; else
  bad "broken policy file: exit $status, log: $(cat "$work/broken.log")"
fi

# With a schema: the example's policy reads the optional `manager` without
# `has`, so it does not validate and the server refuses to start.
cat >"$work/schema.cedarschema" <<'SCHEMA'
entity Employee = { department: String, clearance: Long, manager?: Employee };
entity Expense = { submitter: Employee, department: String, level: Long };
action approve appliesTo { principal: Employee, resource: Expense, context: { source_ip: ipaddr } };
SCHEMA
cp "$root/examples/policy/abac/policies.cedar" "$work/abac.cedar"
sed -e "s|policies_file: .*|policies_file: $work/abac.cedar|" \
    -e "s|^policy:|policy:\n  schema_file: $work/schema.cedarschema|" "$work/bulwark.yaml" >"$work/schema.yaml"
"$bulwark" serve --config "$work/schema.yaml" >"$work/invalid.log" 2>&1
status=$?
if [ "$status" -ne 0 ] && grep -q "policy manager-approves: unable to guarantee safety of access to optional attribute .manager." "$work/invalid.log"; then ok; else
  bad "unvalidated policy: exit $status, log: $(cat "$work/invalid.log")"
fi
# Guarded with `has`, it validates; the server starts, reads "10.20.3.4" as
# the ipaddr the schema declares, and refuses requests that do not fit.
sed -i 's|resource.submitter.manager == principal|resource.submitter has manager \&\& resource.submitter.manager == principal|' "$work/abac.cedar"
start_bulwark "$work/schema.yaml" "$work/schema.log" || { echo "FAIL: server with a schema did not start: $(cat "$work/schema.log")"; exit 1; }
base="http://127.0.0.1:$bulwark_port"
expect_eq "schema: plain string read as ipaddr" "$(ask "{$approve, \"context\": {\"source_ip\": \"10.20.3.4\"}}")" "200"
if grep -q '"decision":"allow"' "$work/body"; then ok; else bad "schema allow: $(cat "$work/body")"; fi
expect_eq "schema: missing context attribute" "$(ask "{$approve}")" "400"
if grep -q 'source_ip' "$work/body"; then ok; else bad "schema 400 body: $(cat "$work/body")"; fi
expect_eq "schema: undeclared action" "$(ask '{"principal": "Employee::\"mia\"", "action": "Action::\"pay\"", "resource": "Expense::\"taxi\""}')" "400"

# Policies managed through the store: seeded from the files, then changed
# through the admin API.
export BULWARK_ADMIN_TOKEN="e2e-admin-token-0123456789abcdefghijkl"
cat >"$work/managed.yaml" <<YAML
server: {listen: 127.0.0.1:0}
store: {backend: sqlite, path: $work/bulwark.db}
admin:
  token: \${env:BULWARK_ADMIN_TOKEN}
policy:
  store: true
  policies_file: $root/examples/policy/abac/policies.cedar
  entities_file: $root/examples/policy/abac/entities.json
  api_token: \${env:BULWARK_PDP_TOKEN}
YAML
start_bulwark "$work/managed.yaml" "$work/managed.log" || { echo "FAIL: managed server did not start"; exit 1; }
base="http://127.0.0.1:$bulwark_port"
admin=(-H "Authorization: Bearer $BULWARK_ADMIN_TOKEN" -H "Content-Type: application/json")
put() {  # put PATH BODY -> status; the body in $work/body
  curl -s -o "$work/body" -w '%{http_code}' -X PUT "${admin[@]}" --data-binary "$2" "$base/_bulwark/admin/v1/$1"
}
decision() { ask "{$approve, \"context\": $office}" >/dev/null; python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["decision"])' "$work/body"; }
expect_eq "store: seeded from the files" "$(decision)" "allow"
expect_eq "store: the seed is document main" \
  "$(curl -s "${admin[@]}" "$base/_bulwark/admin/v1/policies" | python3 -c 'import json,sys; print([d["name"] for d in json.load(sys.stdin)["documents"]])')" "['main']"
expect_eq "store: a forbid is added" \
  "$(put policies/freeze '{"text": "@id(\"freeze\")\nforbid (principal, action, resource);"}')" "200"
expect_eq "store: it applies at once" "$(decision)" "deny"
expect_eq "store: a broken document is refused" \
  "$(put policies/broken '{"text": "permit (principal, action, resource) when { 1 + };"}')" "400"
if grep -q 'policies/broken:1:' "$work/body"; then ok; else bad "broken document body: $(cat "$work/body")"; fi
expect_eq "store: a duplicate id is refused" \
  "$(put policies/again '{"text": "@id(\"freeze\")\npermit (principal, action, resource);"}')" "400"
expect_eq "store: no token, no change" \
  "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$base/_bulwark/admin/v1/policies/freeze")" "401"
expect_eq "store: decisions unchanged by refused changes" "$(decision)" "deny"
# A caller without the token is refused on the head: its body is never
# asked for (no 100 Continue) nor waited for, so a stranger cannot make the
# server hold a megabyte per connection. The token's holder is heard.
first_line() {  # first_line TOKEN EXPECT: the first status line of a 1 MB POST's answers
  python3 - "$bulwark_port" "$1" "$2" <<'PY'
import socket, sys
port, token, expect = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "expect"
s = socket.create_connection(("127.0.0.1", port), timeout=3)
head = ("POST /_bulwark/admin/v1/api-keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000000\r\nAuthorization: Bearer %s\r\n%s\r\n" % (token, "Expect: 100-continue\r\n" if expect else ""))
s.sendall(head.encode() + (b"" if expect else b"x" * 100000))
try:
    print(s.recv(4096).split(b"\r\n", 1)[0].decode())
except socket.timeout:
    print("no answer")
PY
}
expect_eq "a stranger's body is not asked for" "$(first_line wrong-token expect)" "HTTP/1.1 401 Unauthorized"
expect_eq "nor waited for" "$(first_line wrong-token no)" "HTTP/1.1 401 Unauthorized"
expect_eq "the token's holder is asked for the body" "$(first_line "$BULWARK_ADMIN_TOKEN" expect)" "HTTP/1.1 100 Continue"
kill "$bulwark_pid"; wait "$bulwark_pid" 2>/dev/null
start_bulwark "$work/managed.yaml" "$work/managed2.log" || { echo "FAIL: managed server did not restart"; exit 1; }
base="http://127.0.0.1:$bulwark_port"
expect_eq "store: the change survives a restart (the seed does not return)" "$(decision)" "deny"
expect_eq "store: delete" \
  "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "${admin[@]}" "$base/_bulwark/admin/v1/policies/freeze")" "200"
expect_eq "store: allowed again" "$(decision)" "allow"

finish policy_api_test
