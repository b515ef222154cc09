#!/usr/bin/env bash
# End-to-end: `bulwark serve` with a TLS 1.3 listener and client certificates,
# driven by curl, openssl s_client and node. Certificates come from the
# openssl command line: a CA, a server certificate, SPIFFE client
# certificates (one revoked through a CRL) and one from a rogue CA. The
# server's certificate is mounted as Kubernetes mounts a secret and rotated
# by a symlink swap while a keep-alive connection stays open. Bulwark also
# originates TLS with its own client certificate to an nginx upstream that
# requires one.
# Usage: tls_test.sh BULWARK_BINARY
set -uo pipefail

bulwark=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
require_nginx
cd "$work" || exit 1

newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
make_ca() { # NAME
  openssl req -x509 "${newkey[@]}" -keyout "$1.key" -out "$1.pem" -days 2 -subj "/CN=$1" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    2>/dev/null
}
issue() { # NAME CA EXTENSIONS
  openssl req "${newkey[@]}" -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
  printf '%b\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 1 \
    -out "$1.pem" -extfile "$1.ext" 2>/dev/null
}
serial_of() { openssl x509 -noout -serial -in "$1" | cut -d= -f2; }
make_ca ca
make_ca rogue
issue server ca "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"
issue server2 ca "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"
issue web ca "subjectAltName=URI:spiffe://prod.example/ns/shop/sa/web\nextendedKeyUsage=clientAuth"
issue staging ca "subjectAltName=URI:spiffe://staging.example/ns/shop/sa/web\nextendedKeyUsage=clientAuth"
issue revoked ca "subjectAltName=URI:spiffe://prod.example/ns/shop/sa/old\nextendedKeyUsage=clientAuth"
issue intruder rogue "subjectAltName=URI:spiffe://prod.example/ns/shop/sa/web\nextendedKeyUsage=clientAuth"
issue upstream ca "subjectAltName=DNS:orders.internal\nextendedKeyUsage=serverAuth"
issue gateway ca "subjectAltName=URI:spiffe://prod.example/ns/edge/sa/bulwark\nextendedKeyUsage=clientAuth"
mkdir -p ca-db && : >ca-db/index.txt && echo 1000 >ca-db/crlnumber
cat >ca.cnf <<CNF
[ca]
default_ca = e2e
[e2e]
database = ca-db/index.txt
crlnumber = ca-db/crlnumber
default_md = sha256
default_crl_days = 1
CNF
openssl ca -config ca.cnf -keyfile ca.key -cert ca.pem -revoke revoked.pem 2>/dev/null &&
  openssl ca -config ca.cnf -keyfile ca.key -cert ca.pem -gencrl -out crl.pem 2>/dev/null
if [ -s crl.pem ] && [ -s web.pem ] && [ -s intruder.pem ]; then ok; else bad "test PKI"; exit 1; fi

# The server certificate as a Kubernetes secret volume: files are symlinks
# through ..data, which is swapped atomically on rotation.
mkdir -p mount/..v1 mount/..v2
cp server.pem mount/..v1/tls.crt && cp server.key mount/..v1/tls.key
cp server2.pem mount/..v2/tls.crt && cp server2.key mount/..v2/tls.key
ln -s ..v1 mount/..data && ln -s ..data/tls.crt mount/tls.crt && ln -s ..data/tls.key mount/tls.key

back=$(free_port)
secure_back=$(free_port)
start_nginx <<NGINX || { bad "nginx did not start"; exit 1; }
  server {
    listen 127.0.0.1:$secure_back ssl;
    ssl_certificate $work/upstream.pem;
    ssl_certificate_key $work/upstream.key;
    ssl_client_certificate $work/ca.pem;
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      return 200 "uri=\$request_uri peer=\$ssl_client_verify proto=\$ssl_protocol\n";
    }
  }
  server {
    listen 127.0.0.1:$back;
    location / {
      return 200 "uri=\$request_uri spiffe=\$http_x_bulwark_spiffe_id sub=\$http_x_bulwark_subject cred=\$http_x_bulwark_credential proto=\$http_x_forwarded_proto\n";
    }
  }
NGINX
wss_back=$(free_port)
node "$here/websocket_upstream.mjs" "$wss_back" upstream.pem upstream.key &
pids+=($!)

cp gateway.pem checked.pem && cp gateway.key checked.key
cat >bulwark.yaml <<YAML
server:
  listen: 127.0.0.1:0
  threads: 2
  max_body_bytes: 33554432
  tls:
    cert_file: mount/tls.crt
    key_file: mount/tls.key
    client_auth: optional
    client_ca_file: ca.pem
    crl_file: crl.pem
    reload_interval_ms: 100
store: {backend: memory}
gateway:
  upstreams:
    - {name: service, address: 127.0.0.1:$back}
    - name: secure
      address: 127.0.0.1:$secure_back
      tls: {ca_file: ca.pem, cert_file: gateway.pem, key_file: gateway.key, server_name: orders.internal}
    - name: untrusted
      address: 127.0.0.1:$secure_back
      tls: {ca_file: rogue.pem, cert_file: gateway.pem, key_file: gateway.key, server_name: orders.internal}
    - name: anonymous
      address: 127.0.0.1:$secure_back
      tls: {ca_file: ca.pem, server_name: orders.internal}
    - name: wss
      address: 127.0.0.1:$wss_back
      tls: {ca_file: ca.pem, cert_file: gateway.pem, key_file: gateway.key, server_name: orders.internal}
    - name: checked
      address: 127.0.0.1:$secure_back
      tls: {ca_file: ca.pem, cert_file: checked.pem, key_file: checked.key, server_name: orders.internal}
      health_check: {path: /healthz, interval_ms: 100, timeout_ms: 1000, unhealthy_threshold: 2}
  routes:
    - {name: public, path_prefix: /public, authn: {mode: none}, upstream: service}
    - {name: checked, path_prefix: /checked, authn: {mode: none}, upstream: checked}
    - name: internal
      path_prefix: /internal
      authn: {credentials: [mtls]}
      authz: {spiffe_trust_domains: [prod.example]}
      upstream: service
    - {name: secure, path_prefix: /secure, authn: {mode: none}, upstream: secure}
    - {name: untrusted, path_prefix: /untrusted, authn: {mode: none}, upstream: untrusted}
    - {name: anonymous, path_prefix: /anonymous, authn: {mode: none}, upstream: anonymous}
    - {name: wss, path_prefix: /wss, authn: {mode: none}, upstream: wss, websocket: true}
    - {name: upload, path_prefix: /upload, authn: {mode: none}, upstream: wss}
YAML
if start_bulwark bulwark.yaml bulwark.log; then ok; else bad "bulwark did not start"; exit 1; fi
base="https://localhost:$bulwark_port"
tls=(--cacert ca.pem --resolve "localhost:$bulwark_port:127.0.0.1")
code() { curl -s -o body -w '%{http_code}' "${tls[@]}" "$@"; }

expect_eq "public over TLS" "$(code "$base/public/a"):$(cat body)" \
  "200:uri=/public/a spiffe= sub= cred= proto=https"
expect_eq "SPIFFE client certificate reaches the service as its identity" \
  "$(code --cert web.pem --key web.key "$base/internal/jobs"):$(cat body)" \
  "200:uri=/internal/jobs spiffe=spiffe://prod.example/ns/shop/sa/web sub=spiffe://prod.example/ns/shop/sa/web cred=mtls proto=https"
expect_eq "no client certificate -> 403" "$(code "$base/internal/jobs")" "403"
expect_eq "other trust domain -> 403" "$(code --cert staging.pem --key staging.key "$base/internal/jobs")" "403"
expect_eq "forged identity header is replaced" \
  "$(code --cert web.pem --key web.key -H 'X-Bulwark-Spiffe-Id: spiffe://prod.example/admin' "$base/internal/x"):$(cat body)" \
  "200:uri=/internal/x spiffe=spiffe://prod.example/ns/shop/sa/web sub=spiffe://prod.example/ns/shop/sa/web cred=mtls proto=https"
curl -s -o /dev/null "${tls[@]}" --cert intruder.pem --key intruder.key "$base/internal/jobs"
rc=$?
if [ "$rc" -ne 0 ]; then ok; else bad "a certificate of another CA was accepted"; fi
curl -s -o /dev/null "${tls[@]}" --cert revoked.pem --key revoked.key "$base/internal/jobs"
rc=$?
if [ "$rc" -ne 0 ]; then ok; else bad "a revoked certificate was accepted"; fi
curl -s -o /dev/null "${tls[@]}" --tls-max 1.2 "$base/public/a"
rc=$?
if [ "$rc" -ne 0 ]; then ok; else bad "TLS 1.2 was accepted without min_version 1.2"; fi
expect_eq "plaintext HTTP on the TLS port gets no answer" \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$bulwark_port/public/a")" "000"
proto=$(openssl s_client -connect "127.0.0.1:$bulwark_port" -servername localhost -CAfile ca.pem \
  -verify_return_error -alpn http/1.1 </dev/null 2>/dev/null)
if grep -q 'New, TLSv1.3' <<<"$proto"; then ok; else bad "openssl s_client: not TLS 1.3"; fi
if grep -q 'ALPN protocol: http/1.1' <<<"$proto"; then ok; else bad "openssl s_client: no ALPN"; fi
if grep -q 'Verify return code: 0 (ok)' <<<"$proto" &&
  ! grep 'Verify return code' <<<"$proto" | grep -vq '0 (ok)'; then
  ok
else
  bad "openssl s_client: chain does not verify"
fi

# TLS origination: Bulwark verifies the upstream and presents its own
# certificate; an upstream it cannot verify gets no request.
expect_eq "mTLS to the upstream" "$(code "$base/secure/a"):$(cat body)" "200:uri=/secure/a peer=SUCCESS proto=TLSv1.3"
expect_eq "untrusted upstream certificate -> 502" "$(code "$base/untrusted/a")" "502"
expect_eq "upstream that requires a client certificate refuses one without" "$(code "$base/anonymous/a")" "400"
# A rotation of the client certificate half done (the new key written, its
# certificate not yet): the proxy keeps its last good context, and so do
# the upstream's health checks, which would otherwise fail and take the
# working upstream out (503).
expect_eq "health-checked mTLS upstream" "$(code "$base/checked/a")" "200"
cp upstream.key checked.key
sleep 1.5
expect_eq "a key not yet matching its certificate fails no health check" \
  "$(code "$base/checked/b"):$(grep -c '"msg":"gateway.upstream_unhealthy"' bulwark.log)" "200:0"
cp gateway.key checked.key
# A WebSocket over TLS at both ends: the client's wss to the listener, and
# the tunnel's TLS (with Bulwark's client certificate) to a wss service; a
# 1 MiB message each way while reads and writes of both TLS connections
# interleave.
expect_eq "wss through the gateway to a wss service" \
  "$(NODE_EXTRA_CA_CERTS=ca.pem node "$here/websocket_client.mjs" "wss://localhost:$bulwark_port/wss/live" |
    sed 's/,"seconds":[0-9.]*//')" \
  '{"greeting":{"subject":null,"path":"/wss/live"},"text":"hello through the gateway","binary":true,"close":1000}'

# Uploads over TLS at both ends stream through whole: by their length, in
# chunks, and after a 100 Continue (curl's Expect for a large body).
head -c 12000000 /dev/urandom >upload.bin
digest=$(sha256sum upload.bin | cut -d' ' -f1)
expect_eq "a 12 MB upload through TLS to a TLS service" \
  "$(code --data-binary @upload.bin "$base/upload/a"):$(cat body)" "200:POST 12000000 length $digest"
expect_eq "a chunked 12 MB upload through TLS to a TLS service" \
  "$(code -X PUT -H 'Transfer-Encoding: chunked' --data-binary @upload.bin "$base/upload/a"):$(cat body)" \
  "200:PUT 12000000 chunked $digest"
expect_eq "an upload that waits for 100 Continue over TLS" \
  "$(code -H 'Expect: 100-continue' --data-binary @upload.bin "$base/upload/a"):$(cat body)" \
  "200:POST 12000000 length $digest"
rm -f upload.bin

# Rotation: a keep-alive connection opened before the swap keeps working;
# new connections get the new certificate.
node "$here/tls_keepalive.mjs" "$base/public/keep" ca.pem "$work/go" >keepalive.out 2>&1 &
node_pid=$!
pids+=("$node_pid")
for _ in $(seq 1 100); do grep -q '^first' keepalive.out && break; sleep 0.05; done
old_serial=$(serial_of server.pem)
new_serial=$(serial_of server2.pem)
expect_eq "first request on the old certificate" "$(cut -d' ' -f2,3 <keepalive.out)" "200 $old_serial"
ln -s ..v2 mount/..data_tmp && mv -T mount/..data_tmp mount/..data
served=""
for _ in $(seq 1 100); do
  served=$(openssl s_client -connect "127.0.0.1:$bulwark_port" -servername localhost </dev/null 2>/dev/null |
    openssl x509 -noout -serial 2>/dev/null | cut -d= -f2)
  [ "$served" = "$new_serial" ] && break
  sleep 0.05
done
expect_eq "new connections get the rotated certificate" "$served" "$new_serial"
touch "$work/go"
wait "$node_pid"
expect_eq "the open connection survived the rotation" "$(sed -n 2p keepalive.out)" \
  "second 200 reused=true $old_serial"
if grep -q '"msg":"net.tls.reloaded"' bulwark.log; then ok; else bad "no reload logged"; fi
if grep -q 'BEGIN' bulwark.log; then bad "key material in the log"; else ok; fi

# Handshakes per client: with three a minute, the fourth new connection is
# closed before its handshake; the first three were served.
cat >limited.yaml <<YAML
server:
  listen: 127.0.0.1:0
  tls: {cert_file: server.pem, key_file: server.key, handshakes_per_client: {limit: 3, window_ms: 60000}}
store: {backend: memory}
gateway:
  upstreams: [{name: service, address: 127.0.0.1:$back}]
  routes: [{name: public, path_prefix: /public, authn: {mode: none}, upstream: service}]
YAML
if start_bulwark limited.yaml limited.log; then ok; else bad "bulwark (limited) did not start"; fi
limited=(--cacert ca.pem --resolve "localhost:$bulwark_port:127.0.0.1")
got=""
for _ in 1 2 3 4; do
  got+="$(curl -s -o /dev/null -w '%{http_code}' "${limited[@]}" "https://localhost:$bulwark_port/public/a") "
done
expect_eq "the fourth handshake in a minute is refused" "$got" "200 200 200 000 "
kill "$bulwark_pid" 2>/dev/null

finish tls_test
