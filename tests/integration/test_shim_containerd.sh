#!/bin/bash
# containerd-shim-berth-v2 under real containerd 1.6: the same scenarios with our shim
# (io.containerd.berth.v2) and with containerd-shim-runc-v2 as the control.
# Needs root, containerd, ctr, runc, umoci, script and $BERTH_BIN/containerd-shim-berth-v2.
set -u
BERTH_SRC=${BERTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
for c in containerd ctr runc umoci script; do
  command -v $c > /dev/null || { echo "missing $c"; exit 77; }
done
[ -x "${BERTH_BIN:-}/containerd-shim-berth-v2" ] || { echo "no shim in BERTH_BIN"; exit 77; }
source "$BERTH_SRC/tests/integration/lib/containerd_env.sh"

FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
check_eq() { if [ "$1" == "$2" ]; then pass "$3"; else fail "$3: got '$1', want '$2'"; fi; }
check_has() { if grep -q -- "$2" <<< "$1"; then pass "$3"; else fail "$3: '$2' not in: $1"; fi; }
C() { timeout 60 ctr --address "$CD_SOCK" -n "$CD_NS" "$@"; }

task_status() {  # ID -> status column of ctr tasks ls
  C tasks ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}'
}

wait_status() {  # ID STATUS
  for _ in $(seq 100); do
    [ "$(task_status "$1")" == "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

suite() {
  local rt=$1 p=$2   # runtime name, container id prefix
  echo "=== suite $rt"
  # Output and exit codes.
  out=$(C run --rm --runtime "$rt" "$CD_IMAGE" ${p}echo echo hi 2>&1)
  check_eq "$out" "hi" "$rt: echo hi"
  C run --rm --runtime "$rt" "$CD_IMAGE" ${p}true true; check_eq "$?" 0 "$rt: exit 0"
  C run --rm --runtime "$rt" "$CD_IMAGE" ${p}three sh -c 'exit 3'; check_eq "$?" 3 "$rt: exit 3"
  out=$(C run --rm --runtime "$rt" "$CD_IMAGE" ${p}big sh -c 'yes line | head -n 20000 | wc -l; echo err >&2' 2>&1)
  check_has "$out" "20000" "$rt: large output flushed"
  check_has "$out" "err" "$rt: stderr"

  # Out of memory under a 32 MiB limit -> killed (137) and /tasks/oom.
  C run --rm --memory-limit 33554432 --runtime "$rt" "$CD_IMAGE" ${p}oom \
    sh -c 'a=$(yes aaaaaaaaaaaaaaaa | head -c 300000000); echo survived' > /dev/null
  check_eq "$?" 137 "$rt: OOM-killed task exits 137"

  # Killed with SIGKILL -> 137.
  C run --rm --runtime "$rt" "$CD_IMAGE" ${p}kill sleep 1000 & local bg=$!
  wait_status ${p}kill RUNNING || fail "$rt: ${p}kill never RUNNING"
  C tasks kill -s KILL ${p}kill
  wait $bg; check_eq "$?" 137 "$rt: exit 137 after kill -s KILL"

  # Detached task: exec, ps, pause, resume, kill, delete.
  C run -d --runtime "$rt" "$CD_IMAGE" ${p}d sleep 1000 > /dev/null
  wait_status ${p}d RUNNING && pass "$rt: run -d RUNNING" || fail "$rt: run -d"
  out=$(C tasks exec --exec-id e1 ${p}d sh -c 'echo from-exec; exit 5' 2>&1); local erc=$?
  check_eq "$out" "from-exec" "$rt: exec output"
  check_eq "$erc" 5 "$rt: exec exit code"
  C tasks exec -d --fifo-dir "$CD_DIR/fifo" --exec-id e2 ${p}d sleep 500
  out=$(C tasks ps ${p}d)
  check_eq "$(grep -c '^[0-9]' <<< "$out")" 2 "$rt: ps lists init and exec"
  check_has "$out" "e2" "$rt: ps shows exec id"
  # --foreground: script runs this under $SHELL; when that is dash (SHELL unset, as in CI) it forks,
  # and a plain timeout would move ctr out of the terminal's foreground group, where setting raw
  # mode stops it with SIGTTOU.
  out=$(script -qec "timeout --foreground 30 ctr --address $CD_SOCK -n $CD_NS tasks exec -t --exec-id t1 ${p}d sh -c 'tty; echo exec-tty-ok'" /dev/null < /dev/null 2>&1)
  check_has "$out" "/dev/pts/" "$rt: exec -t allocates a tty"
  check_has "$out" "exec-tty-ok" "$rt: exec -t output"
  C tasks pause ${p}d && wait_status ${p}d PAUSED && pass "$rt: pause" || fail "$rt: pause"
  C tasks resume ${p}d && wait_status ${p}d RUNNING && pass "$rt: resume" || fail "$rt: resume"
  out=$(C tasks metrics ${p}d 2>&1); check_has "$out" "memory" "$rt: metrics"
  C tasks kill -s KILL ${p}d
  wait_status ${p}d STOPPED && pass "$rt: kill -> STOPPED" || fail "$rt: kill -> STOPPED"
  C tasks delete ${p}d > /dev/null && pass "$rt: tasks delete" || fail "$rt: tasks delete"
  C containers rm ${p}d

  # Terminal.
  out=$(script -qec "timeout --foreground 30 ctr --address $CD_SOCK -n $CD_NS run -t --rm --runtime $rt $CD_IMAGE ${p}tty sh -c 'tty; echo tty-ok'" /dev/null < /dev/null 2>&1)
  check_has "$out" "/dev/pts/0" "$rt: tty allocated"
  check_has "$out" "tty-ok" "$rt: tty output"
}

shim_crash() {
  echo "=== shim SIGKILL"
  C run -d --fifo-dir "$CD_DIR/fifo" --runtime io.containerd.berth.v2 "$CD_IMAGE" crash sleep 1000 > /dev/null
  wait_status crash RUNNING || fail "crash: never RUNNING"
  local bundle="$CD_DIR/state/io.containerd.runtime.v2.task/$CD_NS/crash"
  [ -d "$bundle" ] || fail "crash: no bundle at $bundle"
  grep -q " $bundle/rootfs " /proc/mounts && pass "crash: rootfs mounted" || fail "crash: rootfs not mounted"
  local want="unix:///run/containerd/s/$(printf '%s' "$CD_SOCK/$CD_NS/crash" | sha256sum | cut -d' ' -f1)"
  check_eq "$(cat "$bundle/address" 2>/dev/null)" "$want" "crash: shim v2 socket address"
  local shim=""
  for p in $(cd_shim_pids); do
    tr '\0' ' ' < /proc/$p/cmdline | grep -q -- "-id crash" && shim=$p
  done
  [ -n "$shim" ] || fail "crash: shim pid not found"
  kill -9 "$shim"
  for _ in $(seq 100); do [ -d "$bundle" ] || break; sleep 0.1; done
  [ ! -d "$bundle" ] && pass "crash: bundle removed" || fail "crash: bundle still there"
  grep -q " $bundle/rootfs " /proc/mounts && fail "crash: rootfs still mounted" || pass "crash: rootfs unmounted"
  local st; st=$(task_status crash)
  [ "$st" != RUNNING ] && pass "crash: task no longer running ($st)" || fail "crash: still RUNNING"
  C containers rm crash
}

cd_start || { echo "cannot start containerd"; exit 1; }
cd_import_busybox || { echo "cannot import busybox"; exit 1; }
ctr --address "$CD_SOCK" -n "$CD_NS" events > "$CD_DIR/events.log" 2>&1 & EV=$!
suite io.containerd.berth.v2 b
suite io.containerd.runc.v2 r
shim_crash
# containerd publishes the dead shim's /tasks/exit after its cleanup: give it time.
for _ in $(seq 100); do
  grep -- "/tasks/exit" "$CD_DIR/events.log" | grep -q crash && break
  sleep 0.1
done
sleep 0.5; kill $EV 2>/dev/null
ev=$(cat "$CD_DIR/events.log")
for topic in /tasks/create /tasks/start /tasks/exec-added /tasks/exec-started /tasks/exit \
             /tasks/delete /tasks/paused /tasks/resumed /tasks/oom; do
  # Events sent by our shim: its container ids start with "b".
  grep -q -- "$topic {\"container_id\":\"b" <<< "$ev" && pass "events: $topic" ||
    fail "events: $topic missing"
done
grep -- "/tasks/exit" <<< "$ev" | grep -q crash && pass "events: exit of crashed shim's task" ||
  fail "events: no exit for crash"

if [ $FAILS -ne 0 ]; then
  echo "--- containerd log (tail)"; tail -30 "$CD_DIR/containerd.log"
  echo "$FAILS failure(s)"; exit 1
fi
echo "all passed"
