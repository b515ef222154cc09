#!/usr/bin/env bash
# Starts Bulwark's quickstart: creates the demo identity provider's key (once),
# starts the demo service, and runs `bulwark serve` on examples/quickstart.yaml
# in the foreground (Ctrl-C stops both). Prints the curl commands to try.
# Usage: scripts/quickstart.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bulwark="$(realpath "${1:-$root/build}")/src/cli/bulwark"
config="$root/examples/quickstart.yaml"
key="$root/examples/quickstart-idp.jwk"

if [ ! -f "$key" ]; then
  (umask 077 && "$bulwark" keys generate --alg ES256 --kid demo-idp >"$key")
  "$bulwark" keys public --key "$key" >"${key%.jwk}.pub.jwk"
fi
"$bulwark" demo-upstream --listen 127.0.0.1:8081 &
demo=$!
trap 'kill "$demo" 2>/dev/null' EXIT

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
  curl -s localhost:8080/metrics | grep bulwark_gateway_requests_total
  tail -f examples/quickstart-audit.jsonl
TXT
"$bulwark" serve --config "$config"
