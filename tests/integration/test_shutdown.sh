#!/usr/bin/env bash
# Issue 10: SIGTERM under connected clients. With 20 attached `ctr run` clients (each holds a
# Tasks/Wait), an Events/Subscribe stream and an unfinished Content/Write stream open, berthd
# exits within 3 s; every client ends with an error; the 20 containers keep running, and after
# berthd starts again they are listed, a new Wait + Kill delivers the exit, and `ctr tasks
# kill`/`rm` work. The same with containerd's own shim as the runtime, and after SIGKILL.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc
start_registry
push_busybox_image busybox:shutdown
IMG="$REGISTRY/busybox:shutdown"
start_berthd
bctr_pull "$IMG"

running_count() { bctr tasks ls | awk -v p="^$1[0-9]+$" 'NR > 1 && $1 ~ p && $3 == "RUNNING"' | wc -l; }

# exits_within SECONDS PID: true when PID (a child of this shell) is gone within SECONDS.
exits_within() {
  local end=$((SECONDS + $1))
  while kill -0 "$2" 2>/dev/null; do
    ((SECONDS < end)) || return 1
    sleep 0.05
  done
}

# one_round RUNTIME PREFIX SIGNAL
one_round() {
  local rt=$1 p=$2 sig=$3 i
  log "[$rt, $sig] 20 attached ctr run clients, a subscriber and an open ingest"
  local clients=()
  for i in $(seq 1 20); do
    ctr --address "$SOCK" run --rm --runtime "$rt" "$IMG" "$p$i" sleep 600 >"$T/$p$i.out" 2>&1 &
    clients+=($!)
    HARNESS_PIDS+=($!)
  done
  wait_for 120 bash -c "[[ \$(ctr --address '$SOCK' tasks ls | awk -v p='^$p[0-9]+\$' 'NR > 1 && \$1 ~ p && \$3 == \"RUNNING\"' | wc -l) -eq 20 ]]" ||
    fail "20 tasks not running: $(bctr tasks ls)"
  local before
  before=$(bctr tasks ls | awk -v p="^$p[0-9]+$" 'NR > 1 && $1 ~ p {print $1, $2}' | sort)
  ctr --address "$SOCK" events >"$T/$p-events.out" 2>&1 &
  local events=$!
  HARNESS_PIDS+=($events)
  # The ingest's stdin is a FIFO this shell holds open and never writes: the Write stream stays
  # open with nothing sent (as `sleep 100 | ctr content ingest` would).
  rm -f "$T/ingest.in"
  mkfifo "$T/ingest.in"
  ctr --address "$SOCK" content ingest "$p-ingest" <"$T/ingest.in" >"$T/$p-ingest.out" 2>&1 &
  local ingest=$!
  exec 7>"$T/ingest.in"
  HARNESS_PIDS+=($ingest)
  wait_for 20 bash -c "ctr --address '$SOCK' content active | grep -q '$p-ingest'" || fail "ingest not active"
  sleep 0.5  # the subscriber's stream is open by now (its ctr has been running for a while)

  log "[$rt, $sig] $sig berthd"
  local pid=$BERTHD_PID
  kill "-$sig" "$pid"
  if [[ $sig == TERM ]]; then
    exits_within 3 "$pid" || fail "berthd still running 3 s after SIGTERM"
  fi
  wait "$pid" 2>/dev/null || true
  BERTHD_PID=""

  log "[$rt, $sig] every client ends with an error"
  for i in $(seq 1 20); do
    local c=${clients[$((i - 1))]} rc=0
    exits_within 10 "$c" || fail "ctr run $p$i still attached after berthd stopped"
    wait "$c" || rc=$?
    [[ $rc -ne 0 ]] || fail "ctr run $p$i exited 0: $(cat "$T/$p$i.out")"
  done
  exits_within 10 "$events" || fail "ctr events still running after berthd stopped"
  rc=0
  wait "$events" || rc=$?
  [[ $rc -ne 0 ]] || fail "ctr events exited 0"
  # ctr content ingest blocks reading its stdin, so it learns of the broken stream on its next
  # send: at EOF (and before berthd restarts, which would inherit fd 7).
  exec 7>&-
  exits_within 10 "$ingest" || fail "ctr content ingest still running after its stdin closed"
  rc=0
  wait "$ingest" || rc=$?
  [[ $rc -ne 0 ]] || fail "ctr content ingest succeeded on a stream of a stopped berthd"

  log "[$rt, $sig] containers survive; after a restart they are listed, Wait + Kill deliver the exit"
  start_berthd
  local after
  after=$(bctr tasks ls | awk -v p="^$p[0-9]+$" 'NR > 1 && $1 ~ p {print $1, $2}' | sort)
  assert_eq "$after" "$before" "same 20 tasks and pids after the restart"
  assert_eq "$(running_count "$p")" 20 "20 tasks running after the restart"
  assert_contains "$(bctr content active)" "$p-ingest" "the unfinished ingest is kept across the restart"

  # A new Wait on a reconnected task, then Kill: the waiter gets the exit. `ctr tasks attach` is
  # a Wait; it re-opens the task's stdio FIFOs, whose directory the first ctr removed when it
  # ended: make it again (attach names it when it is missing).
  local out fifo_dir
  out=$(timeout 20 ctr --address "$SOCK" tasks attach "${p}1" </dev/null 2>&1) || true
  fifo_dir=$(sed -n 's|.*error creating fifo \(/.*\)/[^/]*: no such file or directory.*|\1|p' <<<"$out")
  [[ -n $fifo_dir ]] || fail "attach to ${p}1: $out"
  mkdir -p "$fifo_dir"
  ctr --address "$SOCK" tasks attach "${p}1" </dev/null >"$T/${p}1.attach" 2>&1 &
  local waiter=$!
  HARNESS_PIDS+=($waiter)
  sleep 1
  bctr tasks kill -s SIGKILL "${p}1"
  exits_within 20 "$waiter" || fail "a Wait after the restart did not return after Kill"
  rc=0
  wait "$waiter" || rc=$?
  assert_eq "$rc" 137 "the waiter's exit code is the task's (SIGKILL): $(cat "$T/${p}1.attach")"
  rm -rf "$fifo_dir"
  # attach deletes the task it waited for
  wait_for 10 bash -c "! ctr --address '$SOCK' tasks ls | grep -q '^${p}1 '" || fail "${p}1 task not deleted by attach"

  for i in $(seq 2 20); do bctr tasks kill -s SIGKILL "$p$i"; done
  bctr containers rm "${p}1"
  for i in $(seq 2 20); do
    wait_for 20 bash -c "ctr --address '$SOCK' tasks ls | grep -q '^$p$i .*STOPPED'" || fail "$p$i not stopped"
    bctr tasks rm "$p$i" >/dev/null
    bctr containers rm "$p$i"
  done
  assert_eq "$(bctr tasks ls -q | grep -c "^$p" || true)" 0 "no $p tasks left"
  bctr content rm "$p-ingest" >/dev/null 2>&1 || true
}

one_round io.containerd.berth.v2 b TERM
if [[ -x /usr/bin/containerd-shim-runc-v2 ]]; then
  one_round /usr/bin/containerd-shim-runc-v2 r TERM
else
  log "no /usr/bin/containerd-shim-runc-v2: containerd's shim not tested"
fi
one_round io.containerd.berth.v2 k KILL
log "PASS"
