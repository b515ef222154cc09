#!/usr/bin/env bash
# Starts Bulwark's quickstart: creates the demo identity provider's key and
# the admin token (once), starts the demo service and `bulwark serve` on
# examples/quickstart.yaml, creates an API key through the admin API, and
# prints the curl commands to try. Ctrl-C stops everything.
# Usage: scripts/quickstart.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bulwark="$(realpath "${1:-$root/build}")/src/cli/bulwark"
config="$root/examples/quickstart.yaml"
key="$root/examples/quickstart-idp.jwk"
admin_token_file="$root/examples/quickstart-admin.token"

if [ ! -f "$key" ]; then
  (umask 077 && "$bulwark" keys generate --alg ES256 --kid demo-idp >"$key")
  "$bulwark" keys public --key "$key" >"${key%.jwk}.pub.jwk"
fi
if [ ! -f "$admin_token_file" ]; then
  (umask 077 && openssl rand -hex 32 >"$admin_token_file")
fi
BULWARK_ADMIN_TOKEN=$(cat "$admin_token_file")
export BULWARK_ADMIN_TOKEN
"$bulwark" demo-upstream --listen 127.0.0.1:8081 &
demo=$!
"$bulwark" serve --config "$config" &
server=$!
trap 'kill "$demo" "$server" 2>/dev/null' EXIT
for _ in $(seq 1 100); do
  [ "$(curl -s localhost:8080/readyz)" = ready ] && break
  kill -0 "$server" 2>/dev/null || exit 1
  sleep 0.1
done
api_key=$(curl -s -X POST localhost:8080/_bulwark/admin/v1/api-keys \
  -H "Authorization: Bearer $BULWARK_ADMIN_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"quickstart","subject":"report-bot","scopes":["reports:read"],"ttl_seconds":86400}' |
  sed -n 's/.*"key":"\([^"]*\)".*/\1/p')

now=$(date +%s)
sign() {
  "$bulwark" jwt sign --key "$key" --claims \
    "{\"iss\":\"https://idp.quickstart.example\",\"sub\":\"alice\",\"aud\":\"orders-api\",\"scope\":\"$1\",\"iat\":$now,\"exp\":$((now + 3600))}"
}
cat <<TXT
Bulwark quickstart on http://127.0.0.1:8080 (Ctrl-C to stop). Try:
  curl -s localhost:8080/readyz                                   # ready
  curl -s localhost:8080/public/hello                             # 200, anonymous
  curl -si localhost:8080/orders/1                                # 401 + WWW-Authenticate
  curl -s -H "Authorization: Bearer $(sign orders:read)" localhost:8080/orders/1     # 200 as alice
  curl -si -H "Authorization: Bearer $(sign profile)" localhost:8080/orders/1        # 403 insufficient_scope
  (the orders route allows 5 requests a minute per principal: the 6th gets 429 + Retry-After)
  curl -s -H "X-Api-Key: $api_key" localhost:8080/reports/q3   # 200 as report-bot
  curl -si -H "X-Api-Key: bwk_0000000000000000_wrong" localhost:8080/reports/q3     # 401
  curl -s -H "Authorization: Bearer \$(cat examples/quickstart-admin.token)" localhost:8080/_bulwark/admin/v1/api-keys   # list keys
  curl -s -X DELETE -H "Authorization: Bearer \$(cat examples/quickstart-admin.token)" localhost:8080/_bulwark/admin/v1/api-keys/${api_key:4:16}   # revoke: then 401
  curl -s localhost:8080/metrics | grep bulwark_gateway_requests_total
  tail -f examples/quickstart-audit.jsonl
TXT
wait "$server"
