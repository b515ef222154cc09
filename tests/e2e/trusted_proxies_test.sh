#!/usr/bin/env bash
# End-to-end: Bulwark behind a load balancer (real nginx, its connections to
# Bulwark from 127.0.0.2). With `gateway.trusted_proxies` naming it, the
# client's address is the last X-Forwarded-For hop the balancer added, not
# the balancer's, for address rules and the audit, and a hop a client wrote
# itself counts for nothing; from a peer not named, X-Forwarded-For counts
# for nothing at all. The service gets the balancer's list with the
# balancer appended.
# Usage: trusted_proxies_test.sh BULWARK_BINARY
set -uo pipefail

bulwark=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
require_nginx
cd "$work" || exit 1

back=$(free_port)
front=$(free_port)
port=$(free_port)
start_nginx <<NGINX || { bad "nginx did not start"; exit 1; }
  server {
    listen 127.0.0.1:$back;
    location / { return 200 "xff=\$http_x_forwarded_for\n"; }
  }
  server {
    listen 127.0.0.1:$front;
    location / {
      proxy_pass http://127.0.0.1:$port;
      proxy_bind 127.0.0.2;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
NGINX
ok

cat >bulwark.yaml <<YAML
server: {listen: 127.0.0.1:$port}
store: {backend: memory}
audit: {file: audit.jsonl}
gateway:
  trusted_proxies: [127.0.0.2/32]
  upstreams: [{name: service, address: 127.0.0.1:$back}]
  routes:
    - {name: office, path_prefix: /office, authn: {mode: none}, authz: {allow_cidrs: [127.0.0.1/32]}, upstream: service}
    - {name: open, path_prefix: /, authn: {mode: none}, authz: {deny_cidrs: [10.0.0.0/8]}, upstream: service}
YAML
start_bulwark bulwark.yaml server.log || { echo "FAIL: server did not start"; exit 1; }
code() { curl -s -o body -w '%{http_code}' "$@"; }

expect_eq "through the balancer: the client's address, not the balancer's" \
  "$(code "http://127.0.0.1:$front/office/a"):$(cat body)" "200:xff=127.0.0.1, 127.0.0.2"
expect_eq "a hop the client wrote counts for nothing" \
  "$(code -H 'X-Forwarded-For: 10.1.2.3' "http://127.0.0.1:$front/x"):$(cat body)" \
  "200:xff=10.1.2.3, 127.0.0.1, 127.0.0.2"
expect_eq "straight from a peer not named, the peer is the client" \
  "$(code --interface 127.0.0.3 -H 'X-Forwarded-For: 127.0.0.1' "http://127.0.0.1:$port/office/a")" "403"
expect_eq "and its X-Forwarded-For goes no further" \
  "$(code --interface 127.0.0.3 -H 'X-Forwarded-For: 10.1.2.3' "http://127.0.0.1:$port/x"):$(cat body)" \
  "200:xff=127.0.0.3"
expect_eq "from the balancer without the field: unknown, refused by address rules" \
  "$(code --interface 127.0.0.2 "http://127.0.0.1:$port/office/a")" "403"

kill -TERM "$bulwark_pid"
wait "$bulwark_pid"
if python3 - audit.jsonl <<'PY'; then ok; else bad "audit: $(cat audit.jsonl)"; fi
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
office = [e for e in events if e["route"] == "office"]
assert [e["client_ip"] for e in office] == ["127.0.0.1", "127.0.0.3", ""], office
assert [e["status"] for e in office] == [200, 403, 403], office
assert all(e["client_ip"] != "10.1.2.3" for e in events), events
PY
finish trusted_proxies_test
