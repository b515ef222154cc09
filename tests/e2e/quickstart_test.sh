#!/usr/bin/env bash
# The README's quickstart walk-through, run for real: examples/quickstart.yaml
# (on free ports), the demo upstream, and each curl the README shows with the
# status it promises: 200 public, 401, 200 with a token, 403 for a missing
# scope, 429 past the limit; an API key made through the admin API, used and
# revoked; then metrics and the audit file.
# Usage: quickstart_test.sh BULWARK_BINARY
set -uo pipefail

bulwark=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$(dirname "$0")/lib.sh"
cd "$work" || exit 1
port=$(free_port)
demo_port=$(free_port)
sed -e "s/127.0.0.1:8080/127.0.0.1:$port/" -e "s/127.0.0.1:8081/127.0.0.1:$demo_port/" \
  "$here/../../examples/quickstart.yaml" >quickstart.yaml
"$bulwark" keys generate --alg ES256 --kid demo-idp >quickstart-idp.jwk
"$bulwark" keys public --key quickstart-idp.jwk >quickstart-idp.pub.jwk
BULWARK_ADMIN_TOKEN=$(openssl rand -hex 32)
export BULWARK_ADMIN_TOKEN
"$bulwark" demo-upstream --listen "127.0.0.1:$demo_port" >demo.log 2>&1 &
pids+=($!)
"$bulwark" serve --config quickstart.yaml >server.log 2>&1 &
server=$!
pids+=("$server")
base="http://127.0.0.1:$port"
for _ in $(seq 1 200); do
  [ "$(curl -s "$base/readyz")" = ready ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/public/x")" = 200 ] && break
  sleep 0.05
done

now=$(date +%s)
sign() {
  "$bulwark" jwt sign --key quickstart-idp.jwk --claims \
    "{\"iss\":\"https://idp.quickstart.example\",\"sub\":\"alice\",\"aud\":\"orders-api\",\"scope\":\"$1\",\"iat\":$now,\"exp\":$((now + 3600))}"
}
code() { curl -s -o body -D headers -w '%{http_code}' "$@"; }

expect_eq "readyz" "$(curl -s "$base/readyz")" "ready"
expect_eq "public" "$(code "$base/public/hello")" "200"
if grep -q '"service":"demo-upstream","method":"GET","path":"/public/hello"' body; then ok; else bad "demo body"; cat body; fi
# A public route reads no credential: the service's own check gets it.
code -H "Authorization: Basic dXNlcjpwdw==" "$base/public/hello" >/dev/null
if grep -q '"credentials_received":"Authorization"' body; then ok; else bad "public Authorization"; cat body; fi
expect_eq "no token" "$(code "$base/orders/1")" "401"
if grep -qi '^WWW-Authenticate: Bearer realm="bulwark"' headers; then ok; else bad "challenge"; fi
reader=$(sign orders:read)
expect_eq "token with the scope" "$(code -H "Authorization: Bearer $reader" "$base/orders/1")" "200"
if grep -q '"X-Bulwark-Subject":"alice"' body; then ok; else bad "identity"; cat body; fi
if grep -q '"credentials_received":""' body; then ok; else bad "the token was forwarded to the service"; cat body; fi
expect_eq "token without the scope" "$(code -H "Authorization: Bearer $(sign profile)" "$base/orders/1")" "403"
if grep -qi 'insufficient_scope' headers; then ok; else bad "insufficient_scope"; fi
statuses=""
for _ in 1 2 3 4 5; do statuses+="$(code -H "Authorization: Bearer $reader" "$base/orders/1") "; done
expect_eq "the limit of 5 a minute (one already used)" "$statuses" "200 200 200 200 429 "
if grep -qi '^Retry-After: ' headers; then ok; else bad "Retry-After"; fi
admin=(-H "Authorization: Bearer $BULWARK_ADMIN_TOKEN")
expect_eq "admin API without the token" "$(code "$base/_bulwark/admin/v1/api-keys")" "401"
expect_eq "API key created" "$(code -X POST "${admin[@]}" -H 'Content-Type: application/json' \
  -d '{"name":"quickstart","subject":"report-bot","scopes":["reports:read"],"ttl_seconds":86400}' \
  "$base/_bulwark/admin/v1/api-keys")" "201"
api_key=$(sed -n 's/.*"key":"\([^"]*\)".*/\1/p' body)
key_id=${api_key:4:16}
expect_eq "API key reaches the service" "$(code -H "X-Api-Key: $api_key" "$base/reports/q3")" "200"
if grep -q '"X-Bulwark-Subject":"report-bot"' body && grep -q '"X-Bulwark-Credential":"api_key"' body; then ok; else bad "api key identity"; cat body; fi
if grep -q '"credentials_received":""' body; then ok; else bad "the API key was forwarded to the service"; cat body; fi
expect_eq "API key as a bearer credential" "$(code -H "Authorization: Bearer $api_key" "$base/reports/q3")" "200"
if grep -q "$api_key" body; then bad "the bearer API key was forwarded to the service"; else ok; fi
expect_eq "wrong API key" "$(code -H "X-Api-Key: bwk_${key_id}_$(printf 'A%.0s' $(seq 43))" "$base/reports/q3")" "401"
expect_eq "listed without its secret" "$(code "${admin[@]}" "$base/_bulwark/admin/v1/api-keys"):$(grep -c "$api_key" body)" "200:0"
expect_eq "revoked" "$(code -X DELETE "${admin[@]}" "$base/_bulwark/admin/v1/api-keys/$key_id")" "200"
statuses=""
for _ in $(seq 1 40); do
  statuses=$(code -H "X-Api-Key: $api_key" "$base/reports/q3")
  [ "$statuses" = 401 ] && break
  sleep 0.05
done
expect_eq "a revoked key is refused" "$statuses" "401"
if grep -q "$api_key" server.log quickstart-audit.jsonl bulwark-quickstart.db* 2>/dev/null; then bad "the API key leaked into logs, audit or store"; else ok; fi
# Read whole before grep looks (grep -q leaving a pipe early would fail
# curl's write, and the pipeline with it).
metrics=$(curl -s "$base/metrics")
if grep -q 'bulwark_gateway_requests_total{frontend="proxy",route="orders",code="429"} 1' <<<"$metrics"; then ok; else bad "metrics"; fi
kill -TERM "$server"
wait "$server"
expect_eq "clean stop" "$?" "0"
expect_eq "one audit line per orders decision" "$(grep -c '"route":"orders"' quickstart-audit.jsonl)" "8"
expect_eq "admin changes audited" "$(grep '"route":"admin"' quickstart-audit.jsonl | grep -c '"reason":"api key \(created\|revoked\): ')" "2"
expect_eq "refused admin calls audited" "$(grep '"route":"admin"' quickstart-audit.jsonl | grep -c '"reason":"admin token missing"')" "1"

finish "quickstart e2e"
