#!/usr/bin/env bash
# Issue 9, IO and the remaining task calls, on our shim (io.containerd.berth.v2) and on containerd's
# shim (/usr/bin/containerd-shim-runc-v2, the control) under one berthd:
#   - 30 MB of stdout, 20 MB of stderr, and 30 MB through a tty (-t under script) arrive whole
#     before the exit; 10 MB of stdin reach the container;
#   - CloseIO after a re-attach: a `cat` task started by ctr run -d, fed through its stdin FIFO by one
#     client process, then by a second one that closes its end and calls CloseIO, exits 0 with both
#     writes echoed (berth-test-task makes the CloseIO call; ctr has no command for it);
#   - ResizePty of processes without a terminal (init and exec) succeeds, as containerd's shim does;
#   - Pids lists init and exec with the exec id; Stats gives the same metric names as the control;
#     Update sets the cgroup memory limit; Pause/Resume freeze and thaw the cgroup;
#   - Checkpoint either works or fails with a clear message, and leaves the task running.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
source "$BERTH_SRC/tests/integration/lib/shim_matrix.sh"
require_root
require_cmd ctr runc script
[[ -x $CONTROL_SHIM ]] || skip "needs $CONTROL_SHIM"
TOOL="$BERTH_BIN/berth-test-task"
[[ -x $TOOL ]] || fail "no $TOOL (build target berth-test-task)"
start_registry
push_busybox_image busybox:io
IMG="$REGISTRY/busybox:io"
NS=$CONTAINERD_NAMESPACE
start_berthd
bctr_pull "$IMG"

stop_and_delete() {
  bctr tasks kill -s SIGKILL "$1" >/dev/null 2>&1
  wait_status "$1" STOPPED
  bctr tasks delete "$1" >/dev/null 2>&1
  bctr containers rm "$1" >/dev/null 2>&1
}
# cgroup_file CONTROLLER FILE ID: the container's cgroup file (ctr's default path /<ns>/<id>)
cgroup_file() {
  if [[ -d /sys/fs/cgroup/$1 ]]; then echo "/sys/fs/cgroup/$1/$NS/$3/$2"; else echo "/sys/fs/cgroup/$NS/$3/${4:-$2}"; fi
}
metric_names() { bctr tasks metrics "$1" 2>&1 | awk 'NR > 3 && NF {print $1}' | sort | tr '\n' ' '; }

declare -A METRICS CHECKPOINT
for rt in "${SHIM_RUNTIMES[@]}"; do
  w=$(shim_label "$rt")
  R=(--runtime "$rt")

  log "[$w] 30 MB of stdout, 20 MB of stderr"
  n=$(bctr_t 120 run --rm "${R[@]}" "$IMG" "out-$w" sh -c 'yes aaaaaaaaa | head -c 30000000' | wc -c)
  check_eq "$n" 30000000 "[$w] stdout arrives whole"
  rc=0
  bctr_t 120 run --rm "${R[@]}" "$IMG" "err-$w" sh -c 'yes bbbbbbbbb | head -c 20000000 >&2; exit 7' \
    >/dev/null 2>"$T/stderr-$w" || rc=$?
  check_eq "$rc" 7 "[$w] exit status after large stderr"
  check_eq "$(wc -c <"$T/stderr-$w")" 20000000 "[$w] stderr arrives whole"
  rm -f "$T/stderr-$w"

  log "[$w] 30 MB through a tty"
  # --foreground: see test_run.sh (script runs the command under a shell that may fork).
  # 3,000,000 lines of nine a's: 27,000,000 a's whatever the tty and script do to line ends.
  n=$(script -qec "timeout -k 5 --foreground 120 ctr --address '$SOCK' run ${R[*]} --rm -t $IMG tty-$w sh -c 'yes aaaaaaaaa | head -c 30000000'" /dev/null </dev/null | tr -cd 'a' | wc -c)
  check_eq "$n" 27000000 "[$w] tty output arrives whole (27,000,000 a's)"

  log "[$w] stdin"
  # The readers stop by themselves: with ctr 1.6 a container's stdin does not see the EOF of ctr's
  # stdin, on containerd's shim too (`printf x | ctr run --rm IMG id cat` never ends), so EOF is
  # tested through an explicit CloseIO below.
  out=$( (printf 'hello\n'; sleep 1) | bctr_t 60 run --rm "${R[@]}" "$IMG" "in-$w" sh -c 'read x; echo got $x')
  check_eq "$out" "got hello" "[$w] stdin reaches the container"
  n=$( (head -c 10000000 /dev/zero; sleep 1) | bctr_t 60 run --rm "${R[@]}" "$IMG" "in2-$w" sh -c 'head -c 10000000 | wc -c' | tr -d ' ')
  check_eq "$n" 10000000 "[$w] 10 MB of stdin reach the container"

  log "[$w] CloseIO after a re-attach to the same FIFOs"
  id="reattach-$w"
  fd="$T/fifo-$w"
  mkfifo "$T/hold-$w"
  exec {hold}<>"$T/hold-$w"  # ctr's stdin: open, never written, never at EOF while ctr runs
  bctr_t 60 run -d "${R[@]}" --fifo-dir "$fd" "$IMG" "$id" cat <"$T/hold-$w"
  exec {hold}>&-
  in_fifo=$(ls "$fd"/*/"$id-stdin" 2>/dev/null | head -n1)
  out_fifo=$(ls "$fd"/*/"$id-stdout" 2>/dev/null | head -n1)
  if [[ -p "$in_fifo" && -p "$out_fifo" ]]; then
    timeout 60 cat "$out_fifo" >"$T/reattach-$w.out" &
    HARNESS_PIDS+=($!)
    sleep 0.5
    check_eq "$(task_status "$id")" RUNNING "[$w] cat still runs after ctr run -d left"
    timeout 10 sh -c 'printf "one\n" >"$1"' sh "$in_fifo" || check_bad "[$w] first client could not write"
    wait_for 10 grep -q one "$T/reattach-$w.out" || check_bad "[$w] first write not echoed"
    check_eq "$(task_status "$id")" RUNNING "[$w] cat still runs after the first client closed its end"
    timeout 10 sh -c 'printf "two\n" >"$1"' sh "$in_fifo" || check_bad "[$w] second client could not write"
    out=$(timeout 40 "$TOOL" "$SOCK" "$NS" closeio "$id" 2>&1)
    check_eq "$out" "ok" "[$w] CloseIO"
    if wait_status "$id" STOPPED; then
      check_ok "[$w] cat exited after CloseIO"
      check_hasnt "$(bctr tasks delete "$id" 2>&1)" "non-zero" "[$w] cat exit status 0"
    else
      check_bad "[$w] cat still running 20 s after CloseIO"
    fi
    wait_for 10 grep -q two "$T/reattach-$w.out"
    check_eq "$(tr '\n' ' ' <"$T/reattach-$w.out")" "one two " "[$w] both writes echoed"
  else
    check_bad "[$w] ctr run -d --fifo-dir left no FIFOs under $fd"
  fi
  stop_and_delete "$id"

  log "[$w] ResizePty without a terminal"
  id="calls-$w"
  bctr_t 60 run -d "${R[@]}" "$IMG" "$id" sleep 1000
  bctr_t 30 tasks exec -d --exec-id ex1 "$id" sleep 500
  check_eq "$(timeout 40 "$TOOL" "$SOCK" "$NS" resize "$id" "" 100 40 2>&1)" "ok" "[$w] ResizePty of init without a tty"
  check_eq "$(timeout 40 "$TOOL" "$SOCK" "$NS" resize "$id" ex1 100 40 2>&1)" "ok" "[$w] ResizePty of an exec without a tty"

  log "[$w] Pids"
  out=$(bctr tasks ps "$id")
  check_eq "$(grep -c '^[0-9]' <<<"$out")" 2 "[$w] ps lists init and exec"
  check_has "$out" "ex1" "[$w] ps shows the exec id"

  log "[$w] Stats, Update"
  METRICS[$w]=$(metric_names "$id")
  check_true "[$w] metrics has figures" test -n "${METRICS[$w]}"
  check_eq "$(timeout 40 "$TOOL" "$SOCK" "$NS" update-memory "$id" 67108864 2>&1)" "ok" "[$w] Update"
  check_eq "$(cat "$(cgroup_file memory memory.limit_in_bytes "$id" memory.max)" 2>&1)" 67108864 "[$w] Update set the memory limit"

  log "[$w] Pause/Resume"
  bctr tasks pause "$id" && wait_status "$id" PAUSED && check_ok "[$w] paused" || check_bad "[$w] pause"
  check_eq "$(cat "$(cgroup_file freezer freezer.state "$id" cgroup.freeze)" 2>&1)" \
    "$([[ -d /sys/fs/cgroup/freezer ]] && echo FROZEN || echo 1)" "[$w] cgroup frozen"
  bctr tasks resume "$id" && wait_status "$id" RUNNING && check_ok "[$w] resumed" || check_bad "[$w] resume"

  log "[$w] Checkpoint"
  rc=0
  out=$(bctr_t 60 tasks checkpoint "$id" 2>&1) || rc=$?
  CHECKPOINT[$w]="rc=$rc $out"
  log "[$w] checkpoint answered: ${CHECKPOINT[$w]}"
  if [[ $rc -ne 0 ]]; then
    [[ "$out" == *criu* || "$out" == *mplemented* ]] && check_ok "[$w] checkpoint failure is clear" ||
      check_bad "[$w] checkpoint failed without naming criu or Unimplemented: $out"
  fi
  check_eq "$(task_status "$id")" RUNNING "[$w] task still runs after checkpoint"
  stop_and_delete "$id"
done

check_eq "${METRICS[berth]}" "${METRICS[runc]}" "Stats: the same metric names on both shims"
log "checkpoint: berth [${CHECKPOINT[berth]}] / runc [${CHECKPOINT[runc]}]"
assert_eq "$(bctr tasks ls -q)" "" "no task left"
shim_matrix_finish
