#!/usr/bin/env bash
# berth compose (issue 14) on a real berthd with real CNI networking, on the project in
# tests/integration/compose-app/compose.yaml (the Docker test runs the same file with docker-compose):
#   web     busybox httpd serving a page from the named volume `page`, with a healthcheck
#   client  depends on web being healthy, fetches http://web/ by service name, exits 0
#   worker  2 replicas
# up -d brings them up in dependency order (client starts only after web is healthy); ps and logs
# show them; exec, run --rm, stop/start, top; a second up -d after editing worker recreates only
# worker; an attached `up` stops its containers on SIGINT; down -v leaves no container, network,
# volume, veth or iptables rule behind.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc ip iptables-save
[[ -x /usr/lib/cni/bridge ]] || skip "CNI plugins (containernetworking-plugins) not installed"
start_registry
push_busybox_image busybox:compose
export IMAGE="$REGISTRY/busybox:compose" APP_SUBNET=10.213.201.0/24
start_berthd
export BERTH_ADDRESS="$SOCK" BERTH_NAMESPACE="$CONTAINERD_NAMESPACE" BERTH_FIFO_DIR="$T/fifo" BERTH_LOG_DIR="$T/logs"
export BERTH_CNI_NETCONFPATH="$T/cni/net.d" BERTH_CNI_CACHE_DIR="$T/cni/cache" BERTH_CNI_IPAM_DIR="$T/cni/ipam"
berth() { timeout -k 5 180 "$BERTH_BIN/berth" "$@"; }
P="bc$$"
cp -r "$BERTH_SRC/tests/integration/compose-app" "$T/app"
bc() { berth compose -p "$P" -f "$T/app/compose.yaml" "$@"; }

veths_before=$(ip -o link show type veth | wc -l)
# Whatever the test leaves: containers and networks through compose itself, then the bridges of
# the network configs (conflists) it made, before the harness's own cleanup.
compose_cleanup() {
  local rc=$?
  set +e
  "$BERTH_BIN/berth" compose -p "$P" -f "$T/app/compose.yaml" down -v --remove-orphans -t 0 >/dev/null 2>&1
  local f b
  for f in "$T"/cni/net.d/*.conflist; do
    [[ -f "$f" ]] || continue
    b=$(python3 -c 'import json,sys; print(next((p.get("bridge","") for p in json.load(open(sys.argv[1]))["plugins"] if p.get("type")=="bridge"), ""))' "$f")
    [[ -n "$b" ]] && ip link delete "$b" 2>/dev/null
  done
  (exit "$rc")
  harness_cleanup
}
trap compose_cleanup EXIT

berth pull --plain-http "$IMAGE" >/dev/null || fail "pull $IMAGE"
assert_eq "$(bc config --services | tr '\n' ' ')" "client web worker " "config --services"

log "up -d: networks and volumes, then web, client once web is healthy, worker x2"
out=$(bc up -d 2>&1) || fail "compose up -d: $out"
line_of() { grep -n -- "$1" <<<"$out" | head -n 1 | cut -d: -f1; }
assert_contains "$out" "Network ${P}_default  Created" "up made the project network"
assert_contains "$out" "Volume ${P}_page  Created" "up made the named volume"
healthy=$(line_of "Container $P-web-1  Healthy")
client_started=$(line_of "Container $P-client-1  Started")
[[ -n "$healthy" && -n "$client_started" ]] || fail "up: no web Healthy / client Started lines: $out"
((healthy < client_started)) || fail "client started before web was healthy: $out"
assert_contains "$out" "Container $P-worker-2  Started" "second worker replica"

log "the client reached web by its service name and exited 0"
client_done() { [[ "$(bc ps -a --format json | python3 -c 'import json,sys; print([c["State"]+" "+str(c["ExitCode"]) for c in json.load(sys.stdin) if c["Service"]=="client"][0])')" == "exited 0" ]]; }
wait_for 60 client_done || fail "client did not exit 0: $(bc ps -a 2>&1) $(bc logs client 2>&1)"
assert_contains "$(bc logs client)" "hello-from-web" "client logs: the page from web"
assert_contains "$(bc logs --no-log-prefix client)" "client-done" "client logs without prefix"

log "ps and logs"
ps_out=$(bc ps)
assert_contains "$ps_out" "$P-web-1" "ps: web"
assert_contains "$ps_out" "(healthy)" "ps: web is healthy"
assert_contains "$ps_out" "$P-worker-1" "ps: worker 1"
assert_contains "$ps_out" "$P-worker-2" "ps: worker 2"
assert_not_contains "$ps_out" "$P-client-1" "ps without -a: the exited client is not listed"
assert_contains "$(bc ps -a)" "$P-client-1" "ps -a: client"
assert_eq "$(bc ps -q | wc -l)" 3 "ps -q: three running containers"
logs=$(bc logs --no-color worker)
assert_contains "$logs" "$P-worker-1  | worker-up" "logs: worker 1 prefixed"
assert_contains "$logs" "$P-worker-2  | worker-up" "logs: worker 2 prefixed"
bctr tasks exec --exec-id tl "$P-worker-1" sh -c 'printf "a\nb\nc\n" >>/proc/1/fd/1' || fail "append to worker 1's output"
assert_eq "$(bc logs --no-color --tail 2 worker | grep -c "$P-worker-1")" 2 "logs --tail 2: two lines of worker 1"
assert_contains "$(bc logs --no-color --tail 2 worker)" "$P-worker-1  | c" "logs --tail: the last line"
assert_contains "$(berth volume ls)" "${P}_page" "volume ls: the project's volume"
assert_contains "$(berth network ls)" "${P}_default" "network ls: the project's network"

log "exec, run --rm, top, stop/start"
assert_eq "$(bc exec -T web cat /www/index.html)" "hello-from-web" "exec in web reads the volume's page"
rc=0; bc exec -T web sh -c 'exit 7' || rc=$?
assert_eq "$rc" 7 "exec exit code"
assert_eq "$(bc run --rm -T client wget -q -O- http://web/)" "hello-from-web" "run --rm: a one-off client"
assert_eq "$(bctr containers ls -q | grep -c -- "$P-client-run-")" 0 "run --rm removed its container"
assert_contains "$(bc top web)" "httpd" "top shows httpd"
bc stop worker 2>/dev/null || fail "compose stop worker"
assert_eq "$(bc ps -q | wc -l)" 1 "after stop worker: only web runs"
bc start worker 2>/dev/null || fail "compose start worker"
assert_eq "$(bc ps -q | wc -l)" 3 "after start worker: three again"

log "a second up -d after editing worker recreates only worker"
web_pid=$(bctr tasks ls | awk -v id="$P-web-1" '$1 == id {print $2}')
sed -i 's/echo worker-up/echo worker-v2/' "$T/app/compose.yaml"
out=$(bc up -d 2>&1) || fail "second compose up -d: $out"
assert_contains "$out" "Container $P-worker-1  Recreated" "worker 1 recreated"
assert_contains "$out" "Container $P-worker-2  Recreated" "worker 2 recreated"
assert_contains "$out" "Container $P-web-1  Running" "web left running"
assert_not_contains "$out" "$P-web-1  Recreate" "web not recreated"
assert_eq "$(bctr tasks ls | awk -v id="$P-web-1" '$1 == id {print $2}')" "$web_pid" "web is the same process"
wait_for 20 bash -c "'$BERTH_BIN/berth' compose -p $P -f $T/app/compose.yaml logs worker | grep -q worker-v2" ||
  fail "recreated worker does not run the new command: $(bc logs worker 2>&1)"

log "attached up: SIGINT stops its containers"
"$BERTH_BIN/berth" compose -p "$P" -f "$T/app/compose.yaml" up --no-deps worker >"$T/attached.out" 2>&1 &
up_pid=$!
HARNESS_PIDS+=("$up_pid")
wait_for 30 grep -q "Attaching to" "$T/attached.out" || fail "attached up did not attach: $(cat "$T/attached.out")"
kill -INT "$up_pid"
rc=0; wait "$up_pid" || rc=$?
assert_eq "$rc" 130 "attached up ends with 130 after SIGINT: $(cat "$T/attached.out")"
assert_contains "$(cat "$T/attached.out")" "Gracefully stopping" "attached up says it stops"
assert_eq "$(bc ps -q | wc -l)" 1 "after the interrupt only web runs"

log "down -v leaves nothing behind"
out=$(bc down -v 2>&1) || fail "compose down -v: $out"
assert_contains "$out" "Network ${P}_default  Removed" "down removed the network"
assert_contains "$out" "Volume ${P}_page  Removed" "down removed the volume"
assert_eq "$(bctr containers ls -q | grep -c -- "$P-")" 0 "no container left"
assert_not_contains "$(berth network ls)" "${P}_default" "no network left"
assert_not_contains "$(berth volume ls)" "${P}_page" "no volume left"
assert_eq "$(ls "$T/cni/net.d" 2>/dev/null | grep -c "$P")" 0 "no network config left"
assert_eq "$(ip -o link show type veth | wc -l)" "$veths_before" "no veth left"
assert_not_contains "$(iptables-save 2>/dev/null)" "10.213.201." "no iptables rule for the project's subnet"
assert_not_contains "$(ip -o addr show)" "10.213.201." "no address of the project's subnet on the host"
log "ok"
