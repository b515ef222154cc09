#!/usr/bin/env bash
# End-to-end test of `bulwark serve`: the quickstart config starts, health
# and readiness answer over real HTTP (curl), bad configs are refused with the
# file, line and field, a second process cannot open the same store, and
# SIGTERM drains and exits cleanly.
# Usage: serve_test.sh BULWARK_BINARY
set -uo pipefail

bulwark=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
quickstart="$here/../../examples/quickstart.yaml"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

expect_eq() {  # expect_eq NAME GOT WANT
  if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi
}

# start_server CONFIG LOG: starts serve in the background; sets $pid and $port.
start_server() {
  ${launcher:-} "$bulwark" serve --config "$1" >"$2" 2>&1 &
  pid=$!
  pids+=("$pid")
  port=""
  for _ in $(seq 1 200); do
    port=$(sed -n 's/.*"msg":"server.listening".*"port":\([0-9]*\).*/\1/p' "$2" | head -1)
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# The quickstart file, on a free port and in the work directory.
sed -e 's/listen: 127.0.0.1:8080/listen: 127.0.0.1:0/' "$quickstart" >"$work/quickstart.yaml"
if grep -q '127.0.0.1:0' "$work/quickstart.yaml"; then ok; else bad "quickstart listen line changed"; fi

cd "$work" || exit 1
BULWARK_ADMIN_TOKEN=$(openssl rand -hex 32)  # the quickstart reads its admin token from here
export BULWARK_ADMIN_TOKEN
"$bulwark" keys generate --alg ES256 --kid demo-idp >quickstart-idp.jwk
"$bulwark" keys public --key quickstart-idp.jwk >quickstart-idp.pub.jwk
if start_server quickstart.yaml server.log; then ok; else bad "quickstart did not start"; cat server.log; exit 1; fi
base="http://127.0.0.1:$port"
# A crash writes no secret the server holds to disk: no core file.
expect_eq "core dumps off" "$(awk '/^Max core file size/ {print $5, $6}' "/proc/$pid/limits")" "0 0"

expect_eq "healthz" "$(curl -s -o body -w '%{http_code}' "$base/healthz"):$(cat body)" "200:ok"
expect_eq "readyz" "$(curl -s -o body -w '%{http_code}' "$base/readyz"):$(cat body)" "200:ready"
expect_eq "HEAD readyz" "$(curl -s -I -o /dev/null -w '%{http_code}' "$base/readyz")" "200"
expect_eq "unknown path" "$(curl -s -o /dev/null -w '%{http_code}' "$base/admin")" "404"
expect_eq "POST healthz" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/healthz")" "405"
expect_eq "keep-alive reuses one connection" \
  "$(curl -s -o /dev/null -o /dev/null -w '%{num_connects}' "$base/healthz" "$base/readyz" | tr -d '\n')" "10"
expect_eq "oversized header" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' a)" "$base/healthz")" "431"
expect_eq "store file exists, owner-only" "$(stat -c '%a' bulwark-quickstart.db)" "600"

# A second process may not open the same store.
"$bulwark" serve --config quickstart.yaml >second.log 2>&1
expect_eq "second process on the same store exits 1" "$?" "1"
if grep -q "another process" second.log; then ok; else bad "second process message"; cat second.log; fi

# The same port twice is refused.
sed -e "s/listen: 127.0.0.1:0/listen: 127.0.0.1:$port/" -e 's/backend: sqlite /backend: memory /' \
  quickstart.yaml >sameport.yaml
"$bulwark" serve --config sameport.yaml >sameport.log 2>&1
expect_eq "port in use exits 1" "$?" "1"

# Bad configs: exit 2, message names file, line and field.
printf 'server:\n  listen: 127.0.0.1:99999\n' >badport.yaml
"$bulwark" serve --config badport.yaml >/dev/null 2>badport.err
expect_eq "bad port exits 2" "$?" "2"
if grep -q "badport.yaml:2:.*listen" badport.err; then ok; else bad "bad port message"; cat badport.err; fi
printf 'server:\n  listen: 127.0.0.1:0\nstore:\n  backend: etcd3\n' >badbackend.yaml
"$bulwark" serve --config badbackend.yaml >/dev/null 2>badbackend.err
expect_eq "bad backend exits 2" "$?" "2"
if grep -q "badbackend.yaml:4:.*backend" badbackend.err; then ok; else bad "bad backend message"; cat badbackend.err; fi
printf 'server:\n  listne: 127.0.0.1:0\n' >typo.yaml
"$bulwark" serve --config typo.yaml >/dev/null 2>typo.err
expect_eq "unknown field exits 2" "$?" "2"
"$bulwark" serve >/dev/null 2>&1
expect_eq "missing --config exits 2" "$?" "2"
# One endpoint twice in an upstream would share its metrics: refused.
cat >twice.yaml <<'YAML'
server: {listen: 127.0.0.1:0}
store: {backend: memory}
gateway:
  upstreams: [{name: orders, addresses: ["127.0.0.1:9001", "127.0.0.1:9001"]}]
  routes: [{name: orders, path_prefix: /, authn: {mode: none}, upstream: orders}]
YAML
# /metrics names upstream endpoints and routes: only the peers of
# server.metrics_allow get it (by default loopback and private ones).
expect_eq "metrics to a loopback peer" "$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics")" "200"
sed -e '/listen: 127.0.0.1:0/a\  metrics_allow: [192.0.2.0/24]' \
  -e 's/bulwark-quickstart.db/metrics-only.db/' quickstart.yaml >metrics.yaml
quickstart_pid=$pid
if grep -q '^  metrics_allow' metrics.yaml && start_server metrics.yaml metrics.log; then ok; else
  bad "metrics_allow config did not start"; cat metrics.log
fi
expect_eq "metrics to a peer not allowed -> 403, health still answered" \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics"):$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" "403:200"
kill -TERM "$pid"
wait "$pid"
pid=$quickstart_pid

# Settings found wrong only as the parts start are the config's too: exit 2.
# So is a file the config names that is not there, or a key file with no
# key a token could be verified with (every token would be refused).
cat >nojwks.yaml <<'YAML'
server: {listen: 127.0.0.1:0}
store: {backend: memory}
gateway:
  issuers: [{name: idp, issuer: https://idp.example, audiences: [api], jwks_file: nothere.json}]
  routes: [{name: r, path_prefix: /, authn: {credentials: [jwt]}}]
YAML
timeout 20 "$bulwark" serve --config nojwks.yaml >/dev/null 2>nojwks.err
expect_eq "a missing jwks_file exits 2" "$?" "2"
echo '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}' >nokeys.json
sed 's/nothere.json/nokeys.json/' nojwks.yaml >nokeys.yaml
timeout 20 "$bulwark" serve --config nokeys.yaml >/dev/null 2>nokeys.err
expect_eq "a jwks_file without a usable key exits 2" "$?" "2"
if grep -q "holds no key a token can be verified with" nokeys.err; then ok; else bad "no-key message"; cat nokeys.err; fi
if grep -q '"msg":"gateway.jwks_keys_skipped".*"skipped":1' nokeys.err; then ok; else bad "skipped keys not logged"; fi
timeout 20 "$bulwark" serve --config twice.yaml >/dev/null 2>twice.err
expect_eq "an endpoint listed twice is refused at start" "$?" "2"
if grep -q "endpoint 127.0.0.1:9001 is listed twice" twice.err; then ok; else bad "endpoint twice message"; cat twice.err; fi
cat >plainjwks.yaml <<'YAML'
server: {listen: 127.0.0.1:0}
store: {backend: memory}
gateway:
  issuers: [{name: idp, issuer: https://idp.example, audiences: [api], jwks_uri: "http://192.0.2.1/jwks.json"}]
  upstreams: [{name: orders, address: "127.0.0.1:9001"}]
  routes: [{name: orders, path_prefix: /, authn: {credentials: [jwt]}, upstream: orders}]
YAML
timeout 20 "$bulwark" serve --config plainjwks.yaml >/dev/null 2>plainjwks.err
expect_eq "a jwks_uri in plain http to another host exits 2" "$?" "2"
if grep -q "plain http is allowed only to loopback" plainjwks.err; then ok; else bad "plain jwks message"; cat plainjwks.err; fi

# An audit FIFO nobody reads: refused at start by name, not a silent hang;
# and one whose reader stops reading does not hold a stop for ever (the
# queued events are given up after 10 s, logged).
mkfifo audit.fifo
cat >fifo.yaml <<'YAML'
server: {listen: 127.0.0.1:0}
store: {backend: memory}
audit: {file: audit.fifo}
YAML
timeout 20 "$bulwark" serve --config fifo.yaml >/dev/null 2>fifo.err
expect_eq "an audit FIFO with no reader is refused at start" "$?" "1"
if grep -q "a FIFO with no reader" fifo.err; then ok; else bad "fifo message"; cat fifo.err; fi
sleep 600 <>audit.fifo &  # holds the FIFO open and never reads it
stalled=$!
pids+=("$stalled")
fifo_pid=$pid
fifo_port=$port
if start_server fifo.yaml fifo.log; then ok; else bad "fifo start"; cat fifo.log; fi
# Enough refusals (each audited, a line of a kilobyte) to fill the pipe and
# block the writer.
for _ in $(seq 1 300); do curl -s -o /dev/null -X CONNECT "http://127.0.0.1:$port/$(head -c 900 /dev/zero | tr '\0' p)"; done
started=$(date +%s)
kill -TERM "$pid"
timeout 30 tail --pid="$pid" -f /dev/null
expect_eq "a stop with the audit pipe stuck ends" "$(kill -0 "$pid" 2>/dev/null && echo running || echo ended)" "ended"
if [ $(($(date +%s) - started)) -le 25 ]; then ok; else bad "stop took too long"; fi
if grep -q '"msg":"audit.stop_timed_out"' fifo.log; then ok; else bad "no audit.stop_timed_out"; tail -3 fifo.log; fi
kill "$stalled" 2>/dev/null
pid=$fifo_pid
port=$fifo_port

# Log rotation: after the audit file is moved away, SIGHUP (logrotate's
# postrotate) or SIGUSR1 makes a new one at the path; neither, nor SIGUSR2,
# ends the process, as their default actions would.
cat >rotate.yaml <<'YAML'
server: {listen: 127.0.0.1:0}
store: {backend: memory}
audit: {file: rotate.jsonl}
YAML
main_pid=$pid
main_port=$port
if start_server rotate.yaml rotate.log; then ok; else bad "rotate start"; cat rotate.log; fi
audited() {  # audited FILE PATH: waits up to 3 s for an event of PATH in FILE
  for _ in $(seq 1 60); do grep -q "\"resource\":\"$2\"" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
curl -s -o /dev/null -X CONNECT "http://127.0.0.1:$port/before-rotation"
if audited rotate.jsonl /before-rotation; then ok; else bad "no event before rotation"; fi
mv rotate.jsonl rotate.jsonl.1
kill -HUP "$pid"
sleep 0.3
kill -USR2 "$pid"
curl -s -o /dev/null -X CONNECT "http://127.0.0.1:$port/after-hup"
if audited rotate.jsonl /after-hup; then ok; else bad "no event in the new file after SIGHUP"; tail -3 rotate.log; fi
expect_eq "the moved file keeps only what came before" "$(grep -c after-hup rotate.jsonl.1)" "0"
mv rotate.jsonl rotate.jsonl.2
kill -USR1 "$pid"
sleep 0.3
curl -s -o /dev/null -X CONNECT "http://127.0.0.1:$port/after-usr1"
if audited rotate.jsonl /after-usr1; then ok; else bad "no event in the new file after SIGUSR1"; fi
expect_eq "SIGHUP, SIGUSR1 and SIGUSR2 leave it serving" \
  "$(kill -0 "$pid" 2>/dev/null && echo running):$(grep -c '"msg":"audit.reopened"' rotate.log)" "running:2"
kill -TERM "$pid"
wait "$pid"
# Without an audit file there is nothing to reopen, and the log says so.
printf 'server: {listen: 127.0.0.1:0}\nstore: {backend: memory}\n' >plain.yaml
if start_server plain.yaml plain.log; then ok; else bad "plain start"; cat plain.log; fi
kill -HUP "$pid"
sleep 0.3
expect_eq "SIGHUP without an audit file is ignored, not told as a reopen" \
  "$(kill -0 "$pid" 2>/dev/null && echo running):$(grep -c '"msg":"audit.reopened"' plain.log):$(grep -c '"msg":"server.signal_ignored","signal":"SIGHUP"' plain.log)" \
  "running:0:1"
kill -TERM "$pid"
wait "$pid"
pid=$main_pid
port=$main_port

# Out of file descriptors: a request the gateway cannot open a connection
# to its service for is a 503 of its own, counted against neither the
# service's breaker nor its health, so once descriptors free the service is
# served at once (five failures would have opened its breaker for 5 s).
demo=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bulwark" demo-upstream --listen "127.0.0.1:$demo" >demo.log 2>&1 &
pids+=("$!")
cat >fds.yaml <<YAML
server: {listen: 127.0.0.1:0, threads: 1}
store: {backend: memory}
gateway:
  upstreams: [{name: demo, address: "127.0.0.1:$demo"}]
  routes: [{name: all, path_prefix: /, authn: {mode: none}, upstream: demo}]
YAML
main_pid=$pid
main_port=$port
launcher="prlimit --nofile=64:64"
if start_server fds.yaml fds.log; then ok; else bad "fds start"; cat fds.log; fi
launcher=""
if grep -q '"msg":"server.open_files_limit".*"limit":64' fds.log; then ok; else bad "limit not logged"; fi
got=$(python3 - "$port" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def get(s):
    s.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
    return s.recv(65536).split(b"\r\n", 1)[0].split(b" ")[1].decode()
client = socket.create_connection(("127.0.0.1", port), timeout=5)
# Past the process's descriptors: the rest wait in the listen backlog.
fillers = [socket.create_connection(("127.0.0.1", port)) for _ in range(80)]
time.sleep(0.3)
# No connection to the service is pooled yet: each request needs one.
statuses = [get(client) for _ in range(6)]
for f in fillers: f.close()
time.sleep(0.5)
fresh = socket.create_connection(("127.0.0.1", port), timeout=5)
print(" ".join(sorted(set(statuses))), get(fresh))
PY
)
expect_eq "fds: out of descriptors, then freed" "$got" "503 200"
kill -TERM "$pid"
wait "$pid"
pid=$main_pid
port=$main_port

# With a shutdown delay, SIGTERM first turns /readyz to 503 while the
# server goes on serving, so a load balancer's probe sees it and stops
# sending; only then does it stop taking connections and drain.
cat >delay.yaml <<YAML
server: {listen: 127.0.0.1:0, threads: 1, shutdown_delay_ms: 2000}
store: {backend: memory}
YAML
main_pid=$pid
main_port=$port
if start_server delay.yaml delay.log; then ok; else bad "delay start"; cat delay.log; fi
expect_eq "delay: ready before SIGTERM" "$(curl -s "http://127.0.0.1:$port/readyz")" "ready"
signalled=$(date +%s.%N)
kill -TERM "$pid"
sleep 0.5
expect_eq "delay: not ready after SIGTERM, still serving" \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz"):$(curl -s "http://127.0.0.1:$port/healthz")" \
  "503:ok"
wait "$pid"
expect_eq "delay: exits 0" "$?" "0"
if awk -v a="$signalled" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a >= 1.9) }'; then ok; else
  bad "delay: stopped before its shutdown delay"
fi
expect_eq "delay: told in the log, then drained" \
  "$(grep -o '"msg":"server.\(not_ready\|draining\)"' delay.log | tr '\n' ' ')" \
  '"msg":"server.not_ready" "msg":"server.draining" '
pid=$main_pid
port=$main_port

# SIGTERM: readiness drops, the process drains and exits 0.
kill -TERM "$pid"
wait "$pid"
expect_eq "SIGTERM exits 0" "$?" "0"
if grep -q '"msg":"server.stopped"' server.log; then ok; else bad "no server.stopped log"; cat server.log; fi

# The store reopens cleanly after the drain released it.
if start_server quickstart.yaml server2.log; then ok; else bad "restart failed"; cat server2.log; fi
expect_eq "readyz after restart" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" "200"
kill -INT "$pid"
wait "$pid"
expect_eq "SIGINT exits 0" "$?" "0"

echo "serve e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
