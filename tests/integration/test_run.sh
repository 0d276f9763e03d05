#!/usr/bin/env bash
# Issue 6: the stock ctr runs real containers through berthd: ctr run --rm prints output and
# propagates exit codes (3; 137 after SIGKILL); detached containers with tasks ls/ps/exec/kill/
# pause/resume/metrics/delete; containers ls/info/rm; a working terminal with -t; ctr events shows
# /tasks/*, /containers/* and /images/* events. Each with our shim (default runtime,
# io.containerd.berth.v2) and with containerd's shim (/usr/bin/containerd-shim-runc-v2) when installed.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc script
start_registry
push_busybox_image busybox:run
IMG="$REGISTRY/busybox:run"

start_berthd

# Events from the start, in the background.
bctr events >"$T/events.txt" 2>&1 &
HARNESS_PIDS+=($!)

log "pull $IMG"
bctr_pull "$IMG"

runtimes=(io.containerd.berth.v2)
[[ -x /usr/bin/containerd-shim-runc-v2 ]] && runtimes+=(/usr/bin/containerd-shim-runc-v2)

for rt in "${runtimes[@]}"; do
  short=${rt##*/}
  short=${short#io.containerd.}
  short=${short#containerd-shim-}
  short=${short%.v2}
  short=${short%-v2}
  log "[$rt] ctr run --rm echo hi"
  out=$(timeout 60 ctr --address "$SOCK" run --runtime "$rt" --rm "$IMG" "hi-$short" echo hi)
  assert_eq "$out" "hi" "run --rm output"

  log "[$rt] exit codes propagate"
  rc=0
  timeout 60 ctr --address "$SOCK" run --runtime "$rt" --rm "$IMG" "ex-$short" sh -c 'exit 3' || rc=$?
  assert_eq "$rc" 3 "exit status 3"

  log "[$rt] run -d, tasks ls/ps/exec/pause/resume/metrics/kill/delete"
  id="det-$short"
  timeout 60 ctr --address "$SOCK" run --runtime "$rt" -d "$IMG" "$id" sleep 1000
  out=$(bctr tasks ls)
  assert_contains "$out" "$id" "tasks ls lists the task"
  pid=$(awk -v id="$id" '$1 == id {print $2}' <<<"$out")
  [[ "$pid" =~ ^[0-9]+$ && "$pid" -gt 0 ]] || fail "bad pid [$pid]"
  assert_eq "$(awk -v id="$id" '$1 == id {print $3}' <<<"$out")" "RUNNING" "status RUNNING"
  assert_contains "$(bctr tasks ps "$id")" "$pid" "tasks ps shows the init pid"
  out=$(timeout 30 ctr --address "$SOCK" tasks exec --exec-id e1 "$id" sh -c 'echo from-exec; exit 5') && fail "exec exit status lost"
  assert_contains "$out" "from-exec" "exec output"
  bctr tasks pause "$id"
  assert_contains "$(bctr tasks ls | grep "^$id ")" "PAUSED" "paused"
  bctr tasks resume "$id"
  assert_contains "$(bctr tasks ls | grep "^$id ")" "RUNNING" "resumed"
  out=$(bctr tasks metrics "$id")
  assert_contains "$out" "$id" "metrics"
  assert_contains "$out" "memory" "metrics carry memory figures"
  bctr tasks kill -s SIGKILL "$id"
  wait_for 10 bash -c "ctr --address '$SOCK' tasks ls | grep '^$id ' | grep -q STOPPED" || fail "task not stopped after kill"
  out=$(bctr tasks delete "$id" 2>&1)
  assert_contains "$out" "137" "exit 137 after SIGKILL"
  err=$(bctr tasks ls | grep "^$id " || true)
  assert_eq "$err" "" "task gone after delete"

  log "[$rt] run --rm killed from outside: 137"
  timeout 60 ctr --address "$SOCK" run --runtime "$rt" --rm "$IMG" "k-$short" sleep 1000 &
  runpid=$!
  wait_for 20 bash -c "ctr --address '$SOCK' tasks ls | grep '^k-$short ' | grep -q RUNNING" || fail "k-$short not running"
  bctr tasks kill -s SIGKILL "k-$short"
  rc=0
  wait "$runpid" || rc=$?
  assert_eq "$rc" 137 "run --rm exit status after SIGKILL"

  log "[$rt] containers ls/info/rm"
  out=$(bctr containers ls)
  assert_contains "$out" "$id" "containers ls"
  assert_contains "$out" "$rt" "containers ls shows the runtime"
  out=$(bctr containers info "$id")
  assert_contains "$out" '"ociVersion"' "info shows the spec"
  assert_contains "$out" "$IMG" "info shows the image"
  bctr containers rm "$id"
  assert_not_contains "$(bctr containers ls)" "$id" "container removed"

  log "[$rt] ctr run -t has a terminal"
  # --foreground: script runs this under $SHELL; when that is dash (SHELL unset, as in CI) it forks,
  # and a plain timeout would move ctr out of the terminal's foreground group, where setting raw
  # mode stops it with SIGTTOU.
  out=$(script -qec "timeout --foreground 60 ctr --address '$SOCK' run --runtime $rt --rm -t $IMG tty-$short sh -c 'tty; test -t 0 && echo is-a-tty'" /dev/null)
  assert_contains "$out" "/dev/pts/" "tty inside the container"
  assert_contains "$out" "is-a-tty" "stdin is a terminal"
done

log "no task and no container left"
assert_eq "$(bctr tasks ls -q)" "" "tasks ls empty"
assert_eq "$(bctr containers ls -q)" "" "containers ls empty"

log "ctr events saw task, container and image events"
sleep 0.5
ev=$(cat "$T/events.txt")
for topic in /tasks/create /tasks/start /tasks/exit /tasks/delete /tasks/exec-added /tasks/exec-started \
  /tasks/paused /tasks/resumed /containers/create /containers/delete /images/create; do
  assert_contains "$ev" "$topic" "event $topic"
done
log "PASS"
