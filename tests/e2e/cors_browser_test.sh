#!/usr/bin/env bash
# End-to-end: a page in real headless Chromium (Debian package) calls an API
# behind `bulwark serve` from another origin, as a single-page app does. The
# route's CORS policy must let the browser send the preflight, the
# Authorization header and read the answers (a 401 and a 429 too), and must
# make the browser refuse what the policy does not allow: another origin, a
# method or a field it does not name, a route without a policy. The service
# (nginx, which adds an `Access-Control-Allow-Origin: *` of its own) never
# sees a preflight. Browsers open WebSockets without any CORS check, so the
# gateway itself must refuse a handshake from a page the policy does not
# name.
# Usage: cors_browser_test.sh BULWARK_BINARY
set -uo pipefail

bulwark=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
require_nginx
chromium_bin=$(command -v chromium || true)
if [ -z "$chromium_bin" ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: chromium is not installed"; exit 1; fi
  echo "note: chromium not installed; skipped (scripts/install-deps.sh --test)"; exit 0
fi
cd "$work" || exit 1

back=$(free_port)
wsport=$(free_port)
node "$here/websocket_upstream.mjs" "$wsport" &
pids+=($!)
page=$(free_port)    # the origin the policy names
other=$(free_port)   # an origin it does not
start_nginx <<NGINX || { bad "nginx did not start"; exit 1; }
  log_format methods '\$request_method \$uri';
  server {
    listen 127.0.0.1:$back;
    access_log $work/service.log methods;
    add_header Access-Control-Allow-Origin "*" always;
    add_header X-Total 7 always;
    location / { return 200 "ok \$request_method sub=\$http_x_bulwark_subject"; }
  }
NGINX
ok

"$bulwark" keys generate --alg ES256 --kid idp-1 >idp.jwk
"$bulwark" keys public --key idp.jwk >idp.pub.jwk
now=$(date +%s)
token=$("$bulwark" jwt sign --key idp.jwk --claims \
  "{\"iss\":\"https://idp.example\",\"sub\":\"alice\",\"aud\":\"api\",\"scope\":\"read\",\"iat\":$now,\"exp\":$((now + 600))}")

cat >bulwark.yaml <<YAML
server: {listen: 127.0.0.1:0}
store: {backend: memory}
audit: {file: audit.jsonl}
gateway:
  upstreams: [{name: svc, address: 127.0.0.1:$back}, {name: ws, address: 127.0.0.1:$wsport}]
  issuers: [{name: idp, issuer: "https://idp.example", audiences: [api], jwks_file: idp.pub.jwk}]
  routes:
    - name: limited
      path_prefix: /api/limited
      upstream: svc
      authz: {scopes: [read]}
      rate_limit: {key: principal, limit: 1, window_ms: 60000}
      cors: {allow_origins: ["http://127.0.0.1:$page"], allow_headers: [Authorization]}
    - name: api
      path_prefix: /api
      methods: [GET, PUT, DELETE]
      upstream: svc
      authz: {scopes: [read]}
      cors:
        allow_origins: ["http://127.0.0.1:$page", "https://*.example.com"]
        allow_methods: [GET, PUT]
        allow_headers: [Authorization, Content-Type]
        expose_headers: [X-Total]
    - name: live
      path_prefix: /live
      upstream: ws
      websocket: true
      authn: {mode: none}
      cors: {allow_origins: ["http://127.0.0.1:$page"]}
    - name: form
      path_prefix: /form
      upstream: svc
      authn: {mode: none}
      cors: {allow_origins: ["http://127.0.0.1:$page"]}
      response_headers: {set: {Vary: Accept-Encoding}}
    - name: bare
      path_prefix: /bare
      upstream: svc
      authz: {scopes: [read]}
YAML
start_bulwark bulwark.yaml bulwark.log || { bad "bulwark did not start"; exit 1; }
api="http://127.0.0.1:$bulwark_port"

# The page: each probe's outcome as `name=status:detail`, or `name=blocked`
# where the browser refused to send the request or to show its answer,
# posted back to the page's own server.
mkdir -p site
cat >site/index.html <<HTML
<!doctype html><html><body><script>
const api = '$api';
const bearer = {Authorization: 'Bearer $token'};
async function probe(name, path, init, read) {
  try {
    const r = await fetch(api + path, init);
    return name + '=' + r.status + ':' + (await read(r));
  } catch (e) {
    return name + '=blocked';
  }
}
const body = async (r) => (await r.text()).replace(/ /g, '_');
// A WebSocket to the route: what its service greeted the page with, or
// refused.
const socket = () => new Promise((done) => {
  const ws = new WebSocket(api.replace('http', 'ws') + '/live/feed');
  ws.onmessage = (m) => { done('ws=open:' + String(m.data).split(' ')[0]); ws.close(); };
  ws.onerror = () => done('ws=refused');
});
(async () => {
  const out = [];
  out.push(await probe('get', '/api/x', {headers: bearer},
      async (r) => (await body(r)) + ',total=' + r.headers.get('X-Total') +
                   ',rid=' + (r.headers.get('X-Request-Id') ? 'yes' : 'no')));
  out.push(await probe('put', '/api/x', {method: 'PUT', headers: {...bearer, 'Content-Type': 'application/json'}, body: '{}'}, body));
  out.push(await probe('forged', '/api/x', {headers: {Authorization: 'Bearer eyJ.forged.sig'}},
      async (r) => (r.headers.get('WWW-Authenticate') || 'none').replace(/[ "]/g, '')));
  out.push(await probe('delete', '/api/x', {method: 'DELETE', headers: bearer}, body));
  out.push(await probe('field', '/api/x', {headers: {...bearer, 'X-Admin': '1'}}, body));
  out.push(await probe('bare', '/bare/x', {headers: bearer}, body));
  out.push(await probe('first', '/api/limited', {headers: bearer}, body));
  out.push(await probe('second', '/api/limited', {headers: bearer},
      async (r) => 'retry=' + (r.headers.get('Retry-After') ? 'yes' : 'no')));
  out.push(await socket());
  // A form's POST: sent without a preflight, its answer hidden from the
  // page either way (only the service's log tells whether it got there).
  out.push(await probe('form', '/form/x', {method: 'POST', mode: 'no-cors', body: 'a=1',
      headers: {'Content-Type': 'application/x-www-form-urlencoded'}}, async () => 'sent'));
  // To the page's own server, which writes it where the test reads it.
  await fetch('/result', {method: 'POST', body: out.join(' ')});
})();
</script></body></html>
HTML
# Each origin's server: the page, and what the page posts back to
# result-PORT.txt.
cat >site.py <<'PY'
import http.server, sys
port, root = int(sys.argv[1]), sys.argv[2]
class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, directory=root + "/site", **kwargs)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(f"{root}/result-{port}.txt", "wb") as f:
            f.write(body)
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
PY
python3 site.py "$page" "$work" &
pids+=($!)
python3 site.py "$other" "$work" &
pids+=($!)
for port in "$page" "$other"; do
  for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
done

# What the page posted back, loaded from `origin` in a new browser profile
# (no preflight answer kept from another run).
browse() {
  local profile port=${1##*:} browser
  profile=$(mktemp -d "$work/profile.XXXXXX")
  "$chromium_bin" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$profile" "$1/index.html" >/dev/null 2>&1 &
  browser=$!
  for _ in $(seq 1 600); do [ -s "result-$port.txt" ] && break; sleep 0.05; done
  kill "$browser" 2>/dev/null
  wait "$browser" 2>/dev/null
  cat "result-$port.txt" 2>/dev/null
}
result_of() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

seen=$(browse "http://127.0.0.1:$page")
echo "from the allowed origin: $seen"
expect_eq "a GET with a token, its fields read" "$(result_of "$seen" get)" "200:ok_GET_sub=alice,total=7,rid=yes"
expect_eq "a PUT with a token and a JSON body" "$(result_of "$seen" put)" "200:ok_PUT_sub=alice"
expect_eq "a forged token: the 401 and its challenge read" "$(result_of "$seen" forged)" \
  "401:Bearerrealm=bulwark,error=invalid_token"
expect_eq "a method the policy does not name" "$(result_of "$seen" delete)" "blocked"
expect_eq "a field the policy does not name" "$(result_of "$seen" field)" "blocked"
expect_eq "a route without a policy" "$(result_of "$seen" bare)" "blocked"
expect_eq "within the rate limit" "$(result_of "$seen" first)" "200:ok_GET_sub=alice"
expect_eq "over it: the 429 and its Retry-After read" "$(result_of "$seen" second)" "429:retry=yes"
expect_eq "a WebSocket from the allowed page" "$(result_of "$seen" ws | cut -d: -f1)" "open"
expect_eq "a form POST sent from the allowed page" "$(result_of "$seen" form)" "0:sent"

seen=$(browse "http://127.0.0.1:$other")
echo "from another origin: $seen"
for probe in get put forged delete field bare first second; do
  expect_eq "another origin's $probe" "$(result_of "$seen" "$probe")" "blocked"
done
expect_eq "another origin's WebSocket" "$(result_of "$seen" ws)" "refused"
expect_eq "a form POST sent from another origin (its answer hidden)" "$(result_of "$seen" form)" "0:sent"
expect_eq "the refused handshake audited" \
  "$(grep -c 'WebSocket handshake from a page of an origin the cors policy does not name' audit.jsonl)" "1"

# The service got the allowed page's three real requests alone: no
# preflight reached it, and no request the browser refused to send after
# its preflight (the DELETE, the field, everything of the other origin).
expect_eq "preflights the service got" "$(grep -c '^OPTIONS' service.log)" "0"
expect_eq "DELETEs the service got" "$(grep -c '^DELETE' service.log)" "0"
expect_eq "GETs and PUTs the service got" "$(grep -cE '^(GET|PUT)' service.log)" "3"
# And the allowed page's form POST alone: the other page's was refused.
expect_eq "form POSTs the service got" "$(grep -c '^POST /form/x' service.log)" "1"
expect_eq "the refused form POST audited" \
  "$(grep -c '"status":403,"reason":"request from a page of an origin the cors policy does not name"' audit.jsonl)" "1"

# The same refusals as curl sees them: no Access-Control-Allow-Origin for
# an origin the policy does not name, nor for the service's own `*`.
fields=$(curl -s -D - -o /dev/null -H "Origin: https://example.com.evil.example" \
  -H "Authorization: Bearer $token" "$api/api/x" | tr -d '\r')
expect_eq "an origin that only begins like an allowed one" \
  "$(grep -ci '^access-control-allow-origin' <<<"$fields")" "0"
fields=$(curl -s -D - -o /dev/null -X OPTIONS -H "Origin: https://app.example.com" \
  -H "Access-Control-Request-Method: GET" -H "Access-Control-Request-Headers: authorization" \
  "$api/api/x" | tr -d '\r')
expect_eq "a subdomain's preflight" "$(sed -n 's/^Access-Control-Allow-Origin: //p' <<<"$fields")" \
  "https://app.example.com"
expect_eq "a preflight's status" "$(head -1 <<<"$fields" | cut -d' ' -f2)" "204"
# A route's rule for Vary leaves the policy's Origin in it.
fields=$(curl -s -D - -o /dev/null -H "Origin: http://127.0.0.1:$page" "$api/form/x" | tr -d '\r')
expect_eq "Vary with a route's rule for it" "$(grep -i '^vary:' <<<"$fields" | tr '\n' '|')" \
  "Vary: Accept-Encoding|Vary: Origin|"

finish cors_browser
