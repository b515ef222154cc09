#!/usr/bin/env bash
# End-to-end tests of the `bulwark` command: key generation, signing and
# verification with the documented exit codes, attacks refused, and interop
# with node `jose` in both directions for every algorithm.
# Usage: cli_test.sh BULWARK_BINARY
set -uo pipefail

bulwark=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0

check() {  # check NAME EXPECTED_EXIT COMMAND...
  local name=$1 want=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $name: exit $got, want $want"
    sed 's/^/  stdout: /' "$work/out"
    sed 's/^/  stderr: /' "$work/err"
  fi
}

expect_stderr() {  # expect_stderr NAME TEXT
  if grep -q -- "$2" "$work/err"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $1: stderr lacks '$2'"
    sed 's/^/  stderr: /' "$work/err"
  fi
}

if [ ! -d "$here/node_modules/jose" ]; then
  if [ "${CI:-}" = true ]; then
    echo "FAIL: node jose is not installed (npm ci --prefix tests/e2e)"; exit 1
  fi
  echo "note: node jose not installed; interop checks skipped (npm ci --prefix tests/e2e)"
fi

now=$(date +%s)
claims="{\"iss\":\"https://idp.example\",\"sub\":\"alice\",\"aud\":\"api\",\"iat\":$now,\"exp\":$((now + 600))}"

check "version" 0 "$bulwark" version
check "no subcommand is a usage error" 2 "$bulwark"
check "unknown algorithm is a usage error" 2 "$bulwark" keys generate --alg none

for alg in EdDSA ES256 ES384 ES512 RS256 RS384 RS512 PS256 PS384 PS512 HS256 HS384 HS512; do
  check "$alg generate" 0 "$bulwark" keys generate --alg "$alg" --kid "k-$alg"
  cp "$work/out" "$work/$alg.jwk"
  if [[ $alg == HS* ]]; then
    cp "$work/$alg.jwk" "$work/$alg.pub"
  else
    check "$alg public" 0 "$bulwark" keys public --key "$work/$alg.jwk"
    cp "$work/out" "$work/$alg.pub"
    if grep -q '"d"' "$work/$alg.pub"; then
      fail=$((fail + 1)); echo "FAIL: $alg public JWK has a private member"
    fi
  fi
  check "$alg sign" 0 "$bulwark" jwt sign --key "$work/$alg.jwk" --claims "$claims"
  token=$(cat "$work/out")
  check "$alg verify" 0 "$bulwark" jwt verify --jwks "$work/$alg.pub" --iss https://idp.example --aud api "$token"
  check "$alg jws verify" 0 "$bulwark" jws verify --jwk "$work/$alg.pub" "$token"
  check "$alg wrong audience" 1 "$bulwark" jwt verify --jwks "$work/$alg.pub" --aud other "$token"
  expect_stderr "$alg wrong audience reason" "audience not allowed"
  tampered="${token%.*}.$(echo "${token##*.}" | tr 'A-Za-z' 'B-ZAb-za')"
  check "$alg tampered signature" 1 "$bulwark" jwt verify --jwks "$work/$alg.pub" "$tampered"

  if [ -d "$here/node_modules/jose" ]; then
    check "$alg node jose verifies bulwark token" 0 node "$here/jose_interop.mjs" verify "$alg" "$work/$alg.pub" "$token"
    check "$alg node jose signs" 0 node "$here/jose_interop.mjs" sign "$alg" "$work/$alg.jwk" "$claims"
    check "$alg bulwark verifies node jose token" 0 "$bulwark" jwt verify --jwks "$work/$alg.pub" --aud api "$(cat "$work/out")"
  fi
done

# A JWKS file with several keys: the kid selects.
printf '{"keys":[%s,%s]}' "$(cat "$work/ES256.pub")" "$(cat "$work/EdDSA.pub")" > "$work/set.jwks"
check "jwks sign" 0 "$bulwark" jwt sign --key "$work/EdDSA.jwk" --claims "$claims"
check "jwks verify by kid" 0 "$bulwark" jwt verify --jwks "$work/set.jwks" "$(cat "$work/out")"

# Expired token.
old="{\"sub\":\"alice\",\"iat\":$((now - 7200)),\"exp\":$((now - 3600))}"
"$bulwark" jwt sign --key "$work/ES256.jwk" --claims "$old" > "$work/expired"
check "expired" 1 "$bulwark" jwt verify --jwks "$work/ES256.pub" "$(cat "$work/expired")"
expect_stderr "expired reason" "expired"

# HS256 token forged with an RSA public key as the HMAC secret (algorithm confusion).
token=$("$bulwark" jwt sign --key "$work/RS256.jwk" --claims "$claims")
header=$(printf '{"alg":"HS256","kid":"k-RS256"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
body=${token#*.}; body=${body%%.*}
mac=$(printf '%s' "$header.$body" | openssl dgst -sha256 -mac HMAC -macopt "key:$(cat "$work/RS256.pub")" -binary | base64 -w0 | tr '+/' '-_' | tr -d '=')
check "hs256 with rsa key" 1 "$bulwark" jwt verify --jwks "$work/RS256.pub" "$header.$body.$mac"
expect_stderr "hs256 with rsa key reason" "algorithm not allowed for key"

# alg none.
none_header=$(printf '{"alg":"none"}' | base64 -w0 | tr '+/' '-_' | tr -d '=')
check "alg none" 1 "$bulwark" jwt verify --jwks "$work/ES256.pub" "$none_header.$body."

# Usage errors.
check "missing jwks file" 2 "$bulwark" jwt verify --jwks "$work/nope" "$token"
check "missing token" 2 "$bulwark" jwt verify --jwks "$work/ES256.pub"
check "bad claims json" 2 "$bulwark" jwt sign --key "$work/ES256.jwk" --claims '{"a":1,"a":2}'
check "sign with public key" 2 "$bulwark" jwt sign --key "$work/ES256.pub" --claims "$claims"

# bulwark authorize, with and without a schema (the RBAC example of docs/policy.md).
rbac="$here/../../examples/policy/rbac"
check "authorize: allow" 0 "$bulwark" authorize --policies "$rbac/policies.cedar" \
  --entities "$rbac/entities.json" --principal 'User::"eve"' --action 'Action::"edit"' \
  --resource 'Document::"plan"'
check "authorize: deny" 1 "$bulwark" authorize --policies "$rbac/policies.cedar" \
  --entities "$rbac/entities.json" --principal 'User::"val"' --action 'Action::"edit"' \
  --resource 'Document::"plan"'
check "authorize with schema: allow" 0 "$bulwark" authorize --policies "$rbac/policies.cedar" \
  --entities "$rbac/entities.json" --schema "$rbac/schema.cedarschema" \
  --principal 'User::"eve"' --action 'Action::"edit"' --resource 'Document::"plan"'
check "authorize with schema: a request that does not fit" 2 "$bulwark" authorize \
  --policies "$rbac/policies.cedar" --entities "$rbac/entities.json" \
  --schema "$rbac/schema.cedarschema" --principal 'Role::"admin"' --action 'Action::"edit"' \
  --resource 'Document::"plan"'
if grep -q "principal type Role is not valid" "$work/err"; then pass=$((pass + 1)); else
  fail=$((fail + 1)); echo "FAIL: schema refusal message: $(cat "$work/err")"; fi
printf 'permit (principal, action, resource) when { principal.level > 1 };\n' >"$work/unvalidated.cedar"
check "authorize with schema: policies that do not validate" 2 "$bulwark" authorize \
  --policies "$work/unvalidated.cedar" --schema "$rbac/schema.cedarschema" \
  --principal 'User::"eve"' --action 'Action::"edit"' --resource 'Document::"plan"'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
