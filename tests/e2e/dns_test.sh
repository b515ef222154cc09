#!/usr/bin/env bash
# End-to-end: an upstream named by a host name follows the name's addresses
# as they change (dns_refresh_ms). Bulwark runs in a mount namespace of its
# own whose /etc/hosts is a file this test rewrites, and whose
# nsswitch.conf looks names up in that file only, so the system's real
# resolver (glibc) answers it and no name server is asked; two nginx
# servers on 127.0.0.2 and 127.0.0.3 say which of them got each request.
# Usage: dns_test.sh BULWARK_BINARY
set -uo pipefail

bulwark=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
require_nginx
cd "$work" || exit 1

# A private /etc/hosts needs a mount namespace: as root, or through a user
# namespace where unprivileged ones are allowed.
unshare_cmd=(unshare --mount)
[ "$(id -u)" -eq 0 ] || unshare_cmd=(unshare --mount --map-root-user)
if ! "${unshare_cmd[@]}" true 2>/dev/null; then
  if [ "${CI:-}" = true ]; then echo "FAIL: cannot make a mount namespace (unshare)"; exit 1; fi
  echo "note: no mount namespace here (unshare); skipped"; exit 0
fi

p=$(free_port)
start_nginx <<NGINX || { bad "nginx did not start"; exit 1; }
  server { listen 127.0.0.2:$p; access_log $work/a.log; location / { return 200 "a\n"; } }
  server { listen 127.0.0.3:$p; access_log $work/b.log; location / { return 200 "b\n"; } }
NGINX
ok

name=svc.bulwark.test
# set_hosts LINE...: the hosts file holds these lines. It is written in
# place (the bind mount shows the inode it was given) and always at the
# same length in one write, so that a lookup meanwhile finds the old lines
# or the new, never an empty file.
set_hosts() {
  printf '%-255s\n' "$(printf '%s\n' "$@")" | dd of=hosts conv=notrunc status=none
}
set_hosts "127.0.0.2 $name"
echo "hosts: files" >nsswitch.conf
cat >bulwark.yaml <<YAML
server: {listen: 127.0.0.1:0, threads: 1}
store: {backend: memory}
gateway:
  upstreams:
    - name: dyn
      address: $name:$p
      dns_refresh_ms: 200
      health_check: {path: /healthz, interval_ms: 100}
    - name: fixed
      address: $name:$p
      dns_refresh_ms: 0
    - name: late
      address: late.bulwark.test:$p
      dns_refresh_ms: 200
  routes:
    - {name: dyn, path_prefix: /dyn, authn: {mode: none}, upstream: dyn}
    - {name: fixed, path_prefix: /fixed, authn: {mode: none}, upstream: fixed}
    - {name: late, path_prefix: /late, authn: {mode: none}, upstream: late}
YAML
# in_namespace HOSTS_FILE: Bulwark runs (start_bulwark) with that file as
# its /etc/hosts, and nsswitch.conf above.
in_namespace() {
  bulwark_wrapper=("${unshare_cmd[@]}" sh -c \
    'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/nsswitch.conf && shift 2 && exec "$@"' \
    sh "$1" "$work/nsswitch.conf")
}
in_namespace "$work/hosts"
# A name looked up once must resolve at start.
sed '/name: late/,/dns_refresh_ms: 200/s/dns_refresh_ms: 200/dns_refresh_ms: 0/' bulwark.yaml >once.yaml
if start_bulwark once.yaml once.log >/dev/null; then
  bad "started with a name looked up once that does not resolve"
  kill "$bulwark_pid"
else
  grep -q "upstream 'late'" once.log && ok || bad "the unresolved name is named: $(cat once.log)"
fi
# One looked up again need not resolve yet (the service may start later).
if start_bulwark bulwark.yaml bulwark.log; then ok; else bad "bulwark did not start"; exit 1; fi
port=$bulwark_port
base="http://127.0.0.1:$port"

answers() {  # N PATH: the N answers, one letter each
  local i out=""
  for i in $(seq 1 "$1"); do out+=$(curl -s "$base$2"); done
  echo "$out"
}
wait_answer() {  # PATH WANT: polls for up to 5 s until PATH answers WANT
  local i
  for i in $(seq 1 100); do
    [ "$(curl -s "$base$1")" = "$2" ] && return 0
    sleep 0.05
  done
  return 1
}
# The local ports of the connections to ADDRESS:$p that stay over 60 ms:
# pooled ones, not a health check's (one request each).
ports_to() { ss -Htn state established "dst $1:$p" | awk '{split($3, a, ":"); print a[2]}' | sort; }
pooled_to() {
  local first second third
  first=$(ports_to "$1"); sleep 0.03; second=$(ports_to "$1"); sleep 0.03; third=$(ports_to "$1")
  comm -12 <(echo "$first") <(echo "$second") | comm -12 - <(echo "$third") | grep .
}
conns_to() { pooled_to "$1" | wc -l; }
changes() { grep -c '"msg":"gateway.upstream_endpoints_changed".*"upstream":"dyn"' bulwark.log; }

expect_eq "the name's address" "$(answers 4 /dyn)" "aaaa"
expect_eq "fixed: the same" "$(answers 2 /fixed)" "aa"
expect_eq "a pooled connection to a from each" "$(conns_to 127.0.0.2)" "2"

# The name moves: requests follow within the refresh, and the connection
# to the address it left is closed.
set_hosts "127.0.0.3 $name"
if wait_answer /dyn b; then ok; else bad "requests did not follow the name to b"; fi
expect_eq "all to b" "$(answers 6 /dyn)" "bbbbbb"
expect_eq "fixed: looked up once, still a" "$(answers 2 /fixed)" "aa"
grep -q '"msg":"gateway.upstream_endpoints_changed".*"upstream":"dyn".*"endpoints":"svc.bulwark.test:'"$p"'"' bulwark.log &&
  ok || bad "the change is logged"
# The fixed upstream still holds its connection to a; dyn's is gone.
expect_eq "dyn's idle connection to a closed" "$(conns_to 127.0.0.2)" "1"
# Health checks go to the new address only.
before=$(grep -c healthz a.log)
sleep 0.5
expect_eq "no more health checks to a" "$(grep -c healthz a.log)" "$before"
grep -q healthz b.log && ok || bad "b is health-checked"

# Two addresses: an endpoint each, taking turns, each with its own series.
set_hosts "127.0.0.2 $name" "127.0.0.3 $name"
for _ in $(seq 1 100); do
  case "$(answers 4 /dyn)" in *a*b* | *b*a*) break ;; esac
  sleep 0.05
done
got=$(answers 8 /dyn)
expect_eq "both take turns" "$(echo "$got" | grep -o a | wc -l):$(echo "$got" | grep -o b | wc -l)" "4:4"
metrics=$(curl -s "$base/metrics")
for ep in "127.0.0.2:$p" "127.0.0.3:$p"; do
  grep -q "bulwark_gateway_upstream_circuit_state{upstream=\"dyn\",endpoint=\"$ep\"} 0" <<<"$metrics" &&
    ok || bad "breaker series of $ep"
  grep -q "bulwark_gateway_upstream_healthy{upstream=\"dyn\",endpoint=\"$ep\"} 1" <<<"$metrics" &&
    ok || bad "health series of $ep"
done
# The name's one endpoint is gone, and so are its series.
for family in circuit_state circuit_opened_total healthy; do
  grep -q "bulwark_gateway_upstream_$family{upstream=\"dyn\",endpoint=\"$name:$p\"}" <<<"$metrics" &&
    bad "the gone endpoint's $family series stays" || ok
done
grep -q "upstream=\"fixed\",endpoint=\"$name:$p\"" <<<"$metrics" &&
  ok || bad "the fixed upstream's series of the same name"

# The name stops resolving: the last addresses are kept (fail static), and
# the failure is logged once however many lookups fail.
failures() { grep -c '"msg":"gateway.upstream_lookup_failed".*"upstream":"dyn"' bulwark.log; }
expect_eq "no lookup failed yet" "$(failures)" "0"
set_hosts
sleep 0.6
got=$(answers 8 /dyn)
expect_eq "kept both" "$(echo "$got" | grep -o a | wc -l):$(echo "$got" | grep -o b | wc -l)" "4:4"
expect_eq "the failure logged" "$(failures)" "1"
sleep 0.6
expect_eq "and not again" "$(failures)" "1"

# Back to one address: the other endpoint takes no more requests.
set_hosts "127.0.0.3 $name"
for _ in $(seq 1 100); do [ "$(answers 4 /dyn)" = bbbb ] && break; sleep 0.05; done
expect_eq "back to b alone" "$(answers 6 /dyn)" "bbbbbb"
# One endpoint again, named by the name: the two addresses' series are
# gone, and the name's are back.
metrics=$(curl -s "$base/metrics")
for family in circuit_state circuit_opened_total healthy; do
  grep -q "bulwark_gateway_upstream_$family{upstream=\"dyn\",endpoint=\"127.0.0.[23]:$p\"}" <<<"$metrics" &&
    bad "the addresses' $family series stay" || ok
done
for family in circuit_state healthy; do
  grep -q "bulwark_gateway_upstream_$family{upstream=\"dyn\",endpoint=\"$name:$p\"}" <<<"$metrics" &&
    ok || bad "the name's $family series"
done
# Lookups that find what they found before change nothing: the endpoint,
# its pooled connection and the log stay as they are.
expect_eq "three changes logged" "$(changes)" "3"
held=$(pooled_to 127.0.0.3)
sleep 0.6
answers 2 /dyn >/dev/null
expect_eq "the connection to b stays" "$(pooled_to 127.0.0.3)" "$held"
[ -n "$held" ] && ok || bad "a pooled connection to b"
expect_eq "no change logged" "$(changes)" "3"

# The name that did not resolve at start: 503 until it does, the failure
# logged once, then its requests go where it resolves to.
status() { curl -s -o /dev/null -w '%{http_code}' "$base$1"; }
expect_eq "no endpoint yet: 503" "$(status /late)" "503"
expect_eq "its failure logged once" \
  "$(grep -c '"msg":"gateway.upstream_lookup_failed".*"upstream":"late"' bulwark.log)" "1"
set_hosts "127.0.0.3 $name" "127.0.0.2 late.bulwark.test"
if wait_answer /late a; then ok; else bad "requests did not reach the name once it resolved"; fi
expect_eq "dyn unchanged" "$(answers 4 /dyn)" "bbbb"

kill -TERM "$bulwark_pid"
wait "$bulwark_pid"
expect_eq "clean exit" "$?" "0"

# A resolver that stops answering: the hosts file becomes a FIFO no one
# writes (mounted over it in Bulwark's namespace), so each lookup blocks in
# glibc's open(2) of it. Requests go on to the addresses last found, and a
# shutdown does not wait for the lookup in flight (it would wait out its
# 5 s timeout), nor for a JWKS fetch's. Mounting in another's namespace
# takes root.
if [ "$(id -u)" -eq 0 ]; then
  # dyn_config REFRESH_MS [UPSTREAM]: one upstream by the name (and another)
  dyn_config() {
    cat <<YAML
server: {listen: 127.0.0.1:0, threads: 1}
store: {backend: memory}
gateway:
  upstreams:
    - {name: dyn, address: $name:$p, dns_refresh_ms: $1}
    ${2:-}
  issuers:   # keys by a name that does not resolve: fetched again each second
    - {name: idp, issuer: "https://idp.example", audiences: [api],
       jwks_uri: "https://idp.bulwark.test/jwks", jwks_refresh_seconds: 10,
       jwks_min_refetch_seconds: 1, jwks_max_stale_seconds: 20}
  routes:
    - {name: dyn, path_prefix: /dyn, authn: {mode: none}, upstream: dyn}
YAML
  }
  set_hosts "127.0.0.2 $name"
  dyn_config 100 >hung.yaml
  if start_bulwark hung.yaml hung.log; then ok; else bad "bulwark did not start"; exit 1; fi
  base="http://127.0.0.1:$bulwark_port"
  mkfifo hung-hosts
  if nsenter --target "$bulwark_pid" --mount mount --bind "$work/hung-hosts" /etc/hosts; then
    ok
  else
    bad "cannot mount the FIFO in Bulwark's namespace"
  fi
  sleep 1.5  # the JWKS refresh has begun its lookup, and hangs in it too
  expect_eq "served from the addresses last found" "$(answers 2 /dyn)" "aa"
  started=$(date +%s%N)
  kill -TERM "$bulwark_pid"
  # Were the lookup waited for after all, the wait would end (the FIFO
  # opened for writing) rather than hang the suite.
  (sleep 10; exec 3>"$work/hung-hosts") &
  watchdog=$!
  wait "$bulwark_pid"
  expect_eq "clean exit with a lookup hung" "$?" "0"
  waited_ms=$((($(date +%s%N) - started) / 1000000))
  kill "$watchdog" 2>/dev/null
  if [ "$waited_ms" -lt 2500 ]; then ok; else bad "shutdown waited ${waited_ms} ms for a hung lookup"; fi

  # told_at_once CONFIG WHAT NAMED: Bulwark refuses CONFIG (WHAT is the
  # mistake), names it (NAMED, in its log) and does so within 5 s, the
  # fetch's timeout.
  told_at_once() {
    local log=${1%.yaml}.log
    started=$(date +%s%N)
    if start_bulwark "$1" "$log" >/dev/null; then
      bad "started with $2"
      kill "$bulwark_pid"
    else
      waited_ms=$((($(date +%s%N) - started) / 1000000))
      grep -q "$3" "$log" && ok || bad "$2 is named: $(cat "$log")"
      if [ "$waited_ms" -lt 5000 ]; then ok; else bad "$2 was told after ${waited_ms} ms"; fi
    fi
  }
  # A configuration mistake is told at once, before any name is looked
  # up, even when the resolver hangs (here from the start).
  dyn_config 0 "- {name: secure, address: 127.0.0.2:$p, tls: {ca_file: $work/no-such-ca.pem}}" \
    >mistake.yaml
  in_namespace "$work/hung-hosts"
  told_at_once mistake.yaml "a CA file that does not exist" "upstream 'secure'"
  # So is one in the listener's own: its port and TLS files are taken
  # before the keys are fetched. (The upstream by address: a name would be
  # looked up at start.)
  dyn_config 0 | sed -e "s|address: $name:$p|address: 127.0.0.2:$p|" \
    -e "s|threads: 1}|threads: 1, tls: {cert_file: $work/no-such.crt, key_file: $work/no-such.key}}|" \
    >listener.yaml
  told_at_once listener.yaml "a certificate that does not exist" "no-such.crt"
  # A client that comes while the keys are fetched waits in the listen
  # backlog, and is served once the fetch has given up.
  early=$(free_port)
  dyn_config 0 | sed -e "s|address: $name:$p|address: 127.0.0.2:$p|" \
    -e "s|listen: 127.0.0.1:0|listen: 127.0.0.1:$early|" >early.yaml
  "${bulwark_wrapper[@]}" "$bulwark" serve --config early.yaml >early.log 2>&1 &
  early_pid=$!
  pids+=("$early_pid")
  for _ in $(seq 1 100); do
    [ -n "$(ss -Hltn "sport = :$early")" ] && break
    sleep 0.05
  done
  started=$(date +%s%N)
  early_answer=$(curl -s -m 20 "http://127.0.0.1:$early/dyn")
  waited_ms=$((($(date +%s%N) - started) / 1000000))
  expect_eq "a client early for the fetch is served" "$early_answer" "a"
  # It was held for the rest of the fetch's five seconds.
  if [ "$waited_ms" -ge 3000 ]; then ok; else bad "answered after ${waited_ms} ms, before the fetch gave up"; fi
  for _ in $(seq 1 40); do
    grep -q '"msg":"server.listening"' early.log && break
    sleep 0.05
  done
  if grep -q '"msg":"server.listening"' early.log; then ok; else bad "not listening: $(cat early.log)"; fi
  kill "$early_pid"
  wait "$early_pid" 2>/dev/null
  in_namespace "$work/hosts"
elif [ "${CI:-}" = true ]; then
  bad "not root: cannot try a hung resolver"
else
  echo "note: not root, the hung resolver is not tried"
fi

# Plain http is for loopback only, and "localhost" passes by its name only
# when it resolves there: a hosts file (or a DNS search domain) sending it
# elsewhere makes the fetch refuse, before any connection (here through the
# relations CLI, which fetches as a JWKS download does).
printf '192.0.2.1 localhost\n' >elsewhere-hosts
elsewhere=$(BULWARK_RELATIONS_TOKEN=t "${unshare_cmd[@]}" sh -c \
  'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/nsswitch.conf && shift 2 && exec "$@"' \
  sh "$work/elsewhere-hosts" "$work/nsswitch.conf" \
  "$bulwark" relations model get --server "http://localhost:$p" 2>&1)
expect_eq "plain http to a localhost that resolves elsewhere is refused" \
  "$(grep -c 'allowed only to loopback, and localhost resolves elsewhere' <<<"$elsewhere")" "1"

finish "dns e2e"
