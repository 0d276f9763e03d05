#!/usr/bin/env bash
# Issue 10: the restart monitor (containerd's runtime/restart labels) with the stock ctr. With
# [plugins."io.containerd.monitor.v1.restart"] interval = "1s":
#   - a container run with containerd.io/restart.status=running whose process is SIGKILLed from
#     outside runs again (a new pid) within two intervals (plus a margin for the start itself),
#     its output going to containerd.io/restart.loguri (file://), with /tasks/start published and
#     containerd.io/restart.count recorded;
#   - a labelled container with no task at all is started, its output in the legacy
#     containerd.io/restart.logpath file;
#   - status=stopped stops a running one and keeps it down;
#   - policy unless-stopped honours containerd.io/restart.explicitly-stopped.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc
start_registry
push_busybox_image busybox:restart
IMG="$REGISTRY/busybox:restart"

INTERVAL=1
# Two intervals, plus a generous margin for the shim start itself on a loaded machine.
BOUND=$((2 * INTERVAL + 20))
cat >"$T/config.toml" <<EOF
version = 2
[plugins."io.containerd.monitor.v1.restart"]
  interval = "${INTERVAL}s"
EOF
start_berthd --config "$T/config.toml"
bctr_pull "$IMG"

bctr events >"$T/events.txt" 2>&1 &
HARNESS_PIDS+=($!)

task_pid() { bctr tasks ls | awk -v id="$1" '$1 == id && $3 == "RUNNING" {print $2}'; }
task_status() { bctr tasks ls | awk -v id="$1" '$1 == id {print $3}'; }
# running_with_new_pid ID OLD: the task runs with a pid other than OLD.
running_with_new_pid() {
  local p
  p=$(task_pid "$1")
  [[ -n "$p" && "$p" != "$2" ]]
}
not_running() { [[ -z "$(task_pid "$1")" ]]; }
lines_in() { [[ -f "$1" ]] && grep -c "$2" "$1" || echo 0; }

# The labels are set once the task runs (ctr containers label): labelled from the start (ctr run
# --label), a container could be seen by the monitor between its creation and ctr's task create,
# and started by both (containerd's monitor has the same window).
log "run -d, then restart.status=running and a file:// loguri"
timeout 60 ctr --address "$SOCK" run -d --log-uri "file://$T/web.log" "$IMG" web sh -c 'echo web-started; exec sleep 1000'
bctr containers label web containerd.io/restart.status=running "containerd.io/restart.loguri=file://$T/web.log" >/dev/null
pid1=$(task_pid web)
[[ "$pid1" =~ ^[0-9]+$ ]] || fail "web is not running: $(bctr tasks ls)"
wait_for 10 bash -c "grep -q web-started '$T/web.log'" || fail "first start's output not in the log"

log "killed from outside (kill -9 $pid1): running again with a new pid within two intervals"
kill -KILL "$pid1"
wait_for "$BOUND" running_with_new_pid web "$pid1" || fail "web not restarted within ${BOUND}s: $(bctr tasks ls)"
pid2=$(task_pid web)
log "restarted: pid $pid1 -> $pid2"
wait_for 10 bash -c "[[ \$(grep -c web-started '$T/web.log') -ge 2 ]]" ||
  fail "the restarted task's output did not land in the loguri file: $(cat "$T/web.log")"
info=$(bctr containers info web)
assert_contains "$info" '"containerd.io/restart.count": "1"' "restart.count recorded"
wait_for 10 bash -c "[[ \$(grep -c '/tasks/start.*web' '$T/events.txt') -ge 2 ]]" ||
  fail "no /tasks/start event for the restart: $(grep web "$T/events.txt")"
grep -q "/tasks/exit" "$T/events.txt" || fail "no /tasks/exit for the killed task"

log "a second kill: restarted again, restart.count 2"
kill -KILL "$pid2"
wait_for "$BOUND" running_with_new_pid web "$pid2" || fail "web not restarted the second time"
assert_contains "$(bctr containers info web)" '"containerd.io/restart.count": "2"' "restart.count incremented"

log "a labelled container without a task is started, output in the legacy logpath"
bctr containers create --label containerd.io/restart.status=running \
  --label "containerd.io/restart.logpath=$T/idle.log" "$IMG" idle -- sh -c 'echo idle-started; exec sleep 1000'
wait_for "$BOUND" running_with_new_pid idle "" || fail "idle was never started: $(bctr tasks ls)"
wait_for 10 bash -c "grep -q idle-started '$T/idle.log'" || fail "logpath output missing"

log "status=stopped stops a running container and keeps it down"
bctr containers label web containerd.io/restart.status=stopped >/dev/null
wait_for "$BOUND" not_running web || fail "web still running after status=stopped"
sleep $((3 * INTERVAL))
not_running web || fail "web was started again although status=stopped"

log "unless-stopped honours explicitly-stopped"
timeout 60 ctr --address "$SOCK" run -d "$IMG" manual sleep 1000
bctr containers label manual containerd.io/restart.status=running containerd.io/restart.policy=unless-stopped \
  containerd.io/restart.explicitly-stopped=true >/dev/null
mpid=$(task_pid manual)
[[ -n "$mpid" ]] || fail "manual is not running"
kill -KILL "$mpid"
wait_for 10 bash -c "[[ \$(ctr --address '$SOCK' tasks ls | awk '\$1 == \"manual\" {print \$3}') == STOPPED ]]" ||
  fail "manual did not stop after kill"
sleep $((3 * INTERVAL))
assert_eq "$(task_status manual)" "STOPPED" "explicitly stopped: not restarted"
bctr containers label manual containerd.io/restart.explicitly-stopped=false >/dev/null
wait_for "$BOUND" running_with_new_pid manual "$mpid" || fail "manual not restarted once explicitly-stopped=false"

log "clean up"
for id in web idle manual; do
  bctr containers label "$id" containerd.io/restart.status= >/dev/null
done
for id in idle manual; do
  bctr tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
done
for id in web idle manual; do
  wait_for 20 bash -c "! ctr --address '$SOCK' tasks ls | awk '\$1 == \"$id\"' | grep -q RUNNING" || true
  bctr tasks delete "$id" >/dev/null 2>&1 || true
  bctr containers delete "$id" >/dev/null 2>&1 || true
done

log "PASS"
