#!/usr/bin/env bash
# Issue 9, kill semantics and events, on our shim (io.containerd.berth.v2) and on containerd's
# shim (/usr/bin/containerd-shim-runc-v2, the control) under one berthd, with the stock ctr:
#   - init exits in a container without a PID namespace of its own (host PID): its background
#     child is killed too; the same in a container sharing another container's PID namespace;
#   - kill of an exited init, of an exited exec, and of a container whose runc state was deleted
#     behind the shim's back answers "not found"; delete -f still cleans up;
#   - kill without --all signals init only; kill --all reaches every process;
#   - events: exactly one /tasks/exit per process (init and exec) with the right id, pid and status;
#     none when the start fails (command not found, for init and exec); /tasks/oom before /tasks/exit.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
source "$BERTH_SRC/tests/integration/lib/shim_matrix.sh"
require_root
require_cmd ctr runc
[[ -x $CONTROL_SHIM ]] || skip "needs $CONTROL_SHIM"
start_registry
push_busybox_image busybox:kill
IMG="$REGISTRY/busybox:kill"
NS=$CONTAINERD_NAMESPACE
start_berthd
bctr_pull "$IMG"
EV="$T/events.txt"
bctr events >"$EV" 2>&1 &
HARNESS_PIDS+=($!)
sleep 0.5

stop_and_delete() {
  bctr tasks kill -s SIGKILL "$1" >/dev/null 2>&1
  wait_status "$1" STOPPED
  bctr tasks delete "$1" >/dev/null 2>&1
  bctr containers rm "$1" >/dev/null 2>&1
}

# json_field LINE FIELD -> the number after "FIELD": in a ctr events line
json_field() { grep -o "\"$2\":[0-9]*" <<<"$1" | head -n1 | cut -d: -f2; }

for rt in "${SHIM_RUNTIMES[@]}"; do
  w=$(shim_label "$rt")
  R=(--runtime "$rt")
  u=$((200000 + RANDOM))

  # Detached, and looked at before the task is deleted (runc delete would kill them anyway).
  log "[$w] host PID namespace: init exits, its child goes too"
  id="hostpid-$w"
  # The host's PID namespace is this script's (/proc/1 may not be readable in a sandbox).
  bctr_t 60 run -d "${R[@]}" --with-ns "pid:/proc/$$/ns/pid" "$IMG" "$id" sh -c "sleep $u & sleep 2; exit 0"
  check_true "[$w] host-pid: the child runs" wait_for 10 some_host_pids_of "sleep $u"
  wait_status "$id" STOPPED || check_bad "[$w] host-pid: init never STOPPED"
  check_true "[$w] host-pid: no 'sleep $u' outlives init (within 10 s)" wait_for 10 no_host_pids_of "sleep $u"
  for p in $(host_pids_of "sleep $u"); do kill -KILL "$p"; done
  stop_and_delete "$id"

  log "[$w] shared PID namespace: the joiner's init exits, its child goes too"
  bctr_t 60 run -d "${R[@]}" "$IMG" "pidowner-$w" sleep 1000
  opid=$(bctr tasks ls | awk -v id="pidowner-$w" '$1 == id {print $2}')
  id="pidjoin-$w"
  bctr_t 60 run -d "${R[@]}" --with-ns "pid:/proc/$opid/ns/pid" "$IMG" "$id" sh -c "sleep $((u + 1)) & sleep 2; exit 0"
  check_true "[$w] shared-pid: the child runs" wait_for 10 some_host_pids_of "sleep $((u + 1))"
  wait_status "$id" STOPPED || check_bad "[$w] shared-pid: init never STOPPED"
  check_true "[$w] shared-pid: no 'sleep $((u + 1))' outlives init (within 10 s)" wait_for 10 no_host_pids_of "sleep $((u + 1))"
  for p in $(host_pids_of "sleep $((u + 1))"); do kill -KILL "$p"; done
  check_eq "$(task_status "pidowner-$w")" RUNNING "[$w] shared-pid: the owner container still runs"
  stop_and_delete "$id"
  stop_and_delete "pidowner-$w"

  log "[$w] kill of an exited init"
  id="exited-$w"
  bctr_t 60 run -d "${R[@]}" "$IMG" "$id" true
  wait_status "$id" STOPPED || check_bad "[$w] $id never STOPPED"
  rc=0
  out=$(bctr tasks kill "$id" 2>&1) || rc=$?
  check_true "[$w] kill of exited init fails" test "$rc" -ne 0
  check_has "$out" "not found" "[$w] kill of exited init answers NotFound"
  stop_and_delete "$id"

  log "[$w] kill of an exited exec"
  id="exec-$w"
  bctr_t 60 run -d "${R[@]}" "$IMG" "$id" sleep 1000
  bctr_t 30 tasks exec -d --exec-id quick "$id" true
  sleep 1
  rc=0
  out=$(bctr tasks kill --exec-id quick "$id" 2>&1) || rc=$?
  check_true "[$w] kill of exited exec fails" test "$rc" -ne 0
  check_has "$out" "not found" "[$w] kill of exited exec answers NotFound"

  log "[$w] kill after runc state deleted behind the shim's back"
  runc --root "/run/containerd/runc/$NS" delete -f "$id" >/dev/null 2>&1 ||
    check_bad "[$w] runc delete -f $id (state not under the default root?)"
  rc=0
  out=$(bctr tasks kill "$id" 2>&1) || rc=$?
  check_true "[$w] kill with runc state gone fails" test "$rc" -ne 0
  check_has "$out" "not found" "[$w] kill with runc state gone answers NotFound"
  rc=0
  out=$(bctr_t 30 tasks delete -f "$id" 2>&1) || rc=$?
  check_eq "$rc" 0 "[$w] delete -f after runc state gone ($out)"
  bctr containers rm "$id" >/dev/null 2>&1

  log "[$w] kill without and with --all"
  id="all-$w"
  bctr_t 60 run -d "${R[@]}" "$IMG" "$id" \
    sh -c "trap 'echo term' TERM; sleep $((u + 2)) & sleep $((u + 3)) & while :; do sleep 0.2; done"
  wait_for 10 some_host_pids_of "sleep $((u + 3))" || check_bad "[$w] children never started"
  bctr tasks kill -s SIGTERM "$id"
  sleep 1
  check_true "[$w] kill (no --all) leaves the children" test -n "$(host_pids_of "sleep $((u + 2))")"
  bctr tasks kill --all -s SIGTERM "$id"
  check_true "[$w] kill --all: first child gone" wait_for 10 no_host_pids_of "sleep $((u + 2))"
  check_true "[$w] kill --all: second child gone" wait_for 10 no_host_pids_of "sleep $((u + 3))"
  check_eq "$(task_status "$id")" RUNNING "[$w] kill --all TERM: init (trapping TERM) still runs"
  bctr tasks kill --all -s SIGKILL "$id"
  wait_status "$id" STOPPED && check_ok "[$w] kill --all KILL stops the task" || check_bad "[$w] kill --all KILL"
  stop_and_delete "$id"

  log "[$w] events: init exit 3"
  rc=0
  bctr_t 60 run --rm "${R[@]}" "$IMG" "ev-$w" sh -c 'exit 3' || rc=$?
  check_eq "$rc" 3 "[$w] run --rm exit 3"

  log "[$w] events: exec exit 4, then init killed"
  id="evx-$w"
  bctr_t 60 run -d "${R[@]}" "$IMG" "$id" sleep 1000
  rc=0
  bctr_t 30 tasks exec --exec-id x4 "$id" sh -c 'exit 4' || rc=$?
  check_eq "$rc" 4 "[$w] exec exit 4"

  log "[$w] events: exec whose command is not found"
  rc=0
  out=$(bctr_t 30 tasks exec --exec-id nf "$id" /nonexistent 2>&1) || rc=$?
  check_true "[$w] exec of /nonexistent fails at once (rc $rc; 124/137: no answer within 30 s)" \
    test "$rc" -ne 0 -a "$rc" -ne 124 -a "$rc" -ne 137
  check_has "$out" "/nonexistent" "[$w] exec of /nonexistent names it"
  stop_and_delete "$id"

  log "[$w] events: init whose command is not found"
  rc=0
  out=$(bctr_t 60 run --rm "${R[@]}" "$IMG" "evnf-$w" /nonexistent 2>&1) || rc=$?
  check_true "[$w] run of /nonexistent fails at once (rc $rc)" test "$rc" -ne 0 -a "$rc" -ne 124 -a "$rc" -ne 137
  check_has "$out" "/nonexistent" "[$w] run of /nonexistent names it"
  bctr containers rm "evnf-$w" >/dev/null 2>&1

  log "[$w] events: OOM under a 32 MiB limit"
  rc=0
  bctr_t 60 run --rm "${R[@]}" --memory-limit 33554432 "$IMG" "oom-$w" \
    sh -c 'a=$(yes aaaaaaaaaaaaaaaa | head -c 300000000); echo survived' >/dev/null || rc=$?
  check_eq "$rc" 137 "[$w] OOM-killed task exits 137"
done

# Exits come after the deletes in the stream's order; let late duplicates arrive.
wait_for 10 grep -q '"container_id":"oom-runc"' "$EV"
sleep 2
for rt in "${SHIM_RUNTIMES[@]}"; do
  w=$(shim_label "$rt")
  log "[$w] events exactly once"
  e=$(exit_events "$EV" "ev-$w")
  check_eq "$(count_lines "$e")" 1 "[$w] one /tasks/exit for init ev-$w"
  check_eq "$(json_field "$e" exit_status)" 3 "[$w] ev-$w exit_status"
  start=$(grep -F '/tasks/start ' "$EV" | grep -F "\"container_id\":\"ev-$w\"" || true)
  check_eq "$(json_field "$e" pid)" "$(json_field "$start" pid)" "[$w] ev-$w exit pid = start pid"

  e=$(exit_events "$EV" "evx-$w" x4)
  check_eq "$(count_lines "$e")" 1 "[$w] one /tasks/exit for exec x4"
  check_eq "$(json_field "$e" exit_status)" 4 "[$w] exec x4 exit_status"
  started=$(grep -F '/tasks/exec-started ' "$EV" | grep -F "\"container_id\":\"evx-$w\"" | grep -F '"exec_id":"x4"' || true)
  check_eq "$(json_field "$e" pid)" "$(json_field "$started" pid)" "[$w] exec x4 exit pid = exec-started pid"
  check_eq "$(count_lines "$(exit_events "$EV" "evx-$w" nf)")" 0 "[$w] no /tasks/exit for the exec that failed to start"
  e=$(exit_events "$EV" "evx-$w")
  check_eq "$(count_lines "$e")" 1 "[$w] one /tasks/exit for init evx-$w"
  check_eq "$(json_field "$e" exit_status)" 137 "[$w] evx-$w init exit_status after SIGKILL"

  check_eq "$(count_lines "$(exit_events "$EV" "evnf-$w")")" 0 "[$w] no /tasks/exit for the init that failed to start"

  e=$(exit_events "$EV" "oom-$w")
  check_eq "$(count_lines "$e")" 1 "[$w] one /tasks/exit for oom-$w"
  oom_line=$(grep -n -F '/tasks/oom ' "$EV" | grep -F "\"container_id\":\"oom-$w\"" | head -n1 | cut -d: -f1)
  exit_line=$(grep -n -F '/tasks/exit ' "$EV" | grep -F "\"container_id\":\"oom-$w\"" | head -n1 | cut -d: -f1)
  check_true "[$w] /tasks/oom for oom-$w" test -n "$oom_line"
  check_true "[$w] /tasks/oom precedes /tasks/exit" test "${oom_line:-999999}" -lt "${exit_line:-0}"
done

assert_eq "$(bctr tasks ls -q)" "" "no task left"
shim_matrix_finish
