#!/usr/bin/env bash
# Issue 6: containers survive a berthd SIGKILL. 20 detached containers (berth and runc shims)
# keep running across a kill + restart, are listed with the same pids, accept exec and kill, and
# a container that exited while berthd was down reports its real exit status.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc
start_registry
push_busybox_image busybox:restart
IMG="$REGISTRY/busybox:restart"

start_berthd
bctr_pull "$IMG"

rt_for() {
  if [[ -x /usr/bin/containerd-shim-runc-v2 && $(($1 % 4)) -eq 3 ]]; then
    echo /usr/bin/containerd-shim-runc-v2
  else
    echo io.containerd.berth.v2
  fi
}

log "start 20 detached containers and one that exits with 7 in 3 s"
for i in $(seq 1 20); do
  timeout 60 ctr --address "$SOCK" run -d --runtime "$(rt_for "$i")" "$IMG" "c$i" sleep 100000
done
timeout 60 ctr --address "$SOCK" run -d "$IMG" late sh -c 'sleep 3; exit 7'
before=$(bctr tasks ls | awk 'NR > 1 && $1 ~ /^c[0-9]+$/ {print $1, $2, $3}' | sort)
assert_eq "$(wc -l <<<"$before")" 20 "20 tasks before"

log "SIGKILL berthd, let 'late' exit meanwhile, restart"
kill_berthd
sleep 4
start_berthd

after=$(bctr tasks ls | awk 'NR > 1 && $1 ~ /^c[0-9]+$/ {print $1, $2, $3}' | sort)
assert_eq "$after" "$before" "same tasks, pids and states after restart"
assert_contains "$after" "RUNNING" "still running"

log "exec and kill on reconnected tasks"
for i in 1 3 4; do
  out=$(timeout 30 ctr --address "$SOCK" tasks exec --exec-id "e$i" "c$i" echo "exec-c$i")
  assert_eq "$out" "exec-c$i" "exec on c$i after restart"
done
bctr tasks kill -s SIGKILL c1
bctr tasks kill -s SIGKILL c3
wait_for 10 bash -c "ctr --address '$SOCK' tasks ls | grep '^c1 ' | grep -q STOPPED" || fail "c1 not stopped"
wait_for 10 bash -c "ctr --address '$SOCK' tasks ls | grep '^c3 ' | grep -q STOPPED" || fail "c3 not stopped"

log "the container that exited while berthd was down reports its status"
assert_contains "$(bctr tasks ls | grep '^late ')" "STOPPED" "late is stopped"
out=$(bctr tasks delete late 2>&1)
assert_contains "$out" "exit code 7" "late's real exit status"

log "a shim killed while berthd is down is cleaned up at restart"
kill_berthd
bundle="$STATE/io.containerd.runtime.v2.task/$CONTAINERD_NAMESPACE/c2"
shim_pid=""
for p in /proc/[0-9]*; do
  [[ "$(readlink "$p/cwd" 2>/dev/null)" == "$bundle" ]] && shim_pid=${p#/proc/} && break
done
[[ -n "$shim_pid" ]] || fail "no shim for c2"
kill -KILL "$shim_pid"
start_berthd
wait_for 10 bash -c "! ctr --address '$SOCK' tasks ls | grep -q '^c2 '" || fail "c2 task still listed"

log "clean up"
for i in $(seq 1 20); do bctr tasks kill -s SIGKILL "c$i" >/dev/null 2>&1 || true; done
for i in $(seq 1 20); do
  wait_for 10 bash -c "! ctr --address '$SOCK' tasks ls | grep '^c$i ' | grep -q RUNNING" || fail "c$i still running"
  bctr tasks delete "c$i" >/dev/null 2>&1 || true
  bctr containers rm "c$i"
done
bctr containers rm late
assert_eq "$(bctr tasks ls -q)" "" "no tasks left"
log "PASS"
