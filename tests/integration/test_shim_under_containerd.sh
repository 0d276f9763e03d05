#!/bin/bash
# Issue 9: real containerd 1.6 (temporary root, CRI disabled) with containerd-shim-berth-v2 installed
# in its PATH *as containerd-shim-runc-v2*, driven by the stock ctr with its default runtime
# (io.containerd.runc.v2): containerd cannot tell. The running shims are ours (/proc/PID/exe), and
# the lifecycle passes: run --rm output and exit codes, large output, stdin, -d, exec (output, exit
# code, -d, -t), ps with exec ids, pause/resume, metrics, kill, delete, run --rm killed (137), -t,
# the CloseIO-after-re-attach case (a cat fed by two client processes in turn, then CloseIO), and
# exactly one /tasks/exit per process.
# Needs root, containerd, ctr, runc, umoci, script and $BERTH_BIN/{containerd-shim-berth-v2,berth-test-task}.
set -u
BERTH_SRC=${BERTH_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
for c in containerd ctr runc umoci script; do
  command -v $c > /dev/null || { echo "missing $c"; exit 77; }
done
[ -x "${BERTH_BIN:-}/containerd-shim-berth-v2" ] || { echo "no shim in BERTH_BIN"; exit 77; }
TOOL="$BERTH_BIN/berth-test-task"
[ -x "$TOOL" ] || { echo "no $TOOL (build target berth-test-task)"; exit 1; }
source "$BERTH_SRC/tests/integration/lib/containerd_env.sh"

OURS=$(readlink -f "$BERTH_BIN/containerd-shim-berth-v2")
SHIMDIR=$(mktemp -d /tmp/berth-shimpath.XXXXXX)
ln -s "$OURS" "$SHIMDIR/containerd-shim-runc-v2"
CD_BIN=$SHIMDIR  # cd_start puts it first in containerd's PATH

FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
check_eq() { if [ "$1" == "$2" ]; then pass "$3"; else fail "$3: got '$1', want '$2'"; fi; }
check_has() { if grep -q -- "$2" <<< "$1"; then pass "$3"; else fail "$3: '$2' not in: $1"; fi; }
C() { timeout -k 5 120 ctr --address "$CD_SOCK" -n "$CD_NS" "$@"; }

task_status() { C tasks ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}'; }
wait_status() {  # ID STATUS
  for _ in $(seq 200); do
    [ "$(task_status "$1")" == "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
shim_of() {  # ID -> pid of the shim whose command line names that id
  local p
  for p in $(cd_shim_pids); do
    tr '\0' ' ' < /proc/$p/cmdline | grep -q -- "-id $1 " && { echo "$p"; return 0; }
  done
  return 1
}

cd_start || { echo "cannot start containerd"; exit 1; }
trap 'cd_cleanup; rm -rf "$SHIMDIR"' EXIT
cd_import_busybox || { echo "cannot import busybox"; exit 1; }
ctr --address "$CD_SOCK" -n "$CD_NS" events > "$CD_DIR/events.log" 2>&1 & EV=$!
I=$CD_IMAGE

echo "=== the shim containerd starts for io.containerd.runc.v2 is ours"
C run -d "$I" d sleep 1000 > /dev/null
wait_status d RUNNING && pass "run -d RUNNING" || fail "run -d never RUNNING"
sp=$(shim_of d) || sp=""
check_eq "$(readlink /proc/${sp:-0}/exe 2>/dev/null)" "$OURS" "/proc/<shim pid>/exe is containerd-shim-berth-v2"
check_has "$(C containers info d)" '"io.containerd.runc.v2"' "container runtime is io.containerd.runc.v2"

echo "=== run --rm"
check_eq "$(C run --rm "$I" echo1 echo hi 2>&1)" "hi" "echo hi"
C run --rm "$I" true1 true; check_eq "$?" 0 "exit 0"
C run --rm "$I" three sh -c 'exit 3'; check_eq "$?" 3 "exit 3"
check_eq "$(C run --rm "$I" big sh -c 'yes aaaaaaaaa | head -c 30000000' | wc -c)" 30000000 "30 MB of stdout arrive whole"
# (The reader stops by itself: with ctr 1.6 the container's stdin does not see the EOF of ctr's
# stdin, with containerd's own shim too.)
check_eq "$( (printf 'hello\n'; sleep 1) | C run --rm "$I" in1 sh -c 'read x; echo got $x')" "got hello" "stdin reaches the container"
C run --rm "$I" k sleep 1000 & bg=$!
wait_status k RUNNING || fail "k never RUNNING"
C tasks kill -s KILL k
wait $bg; check_eq "$?" 137 "run --rm killed with SIGKILL exits 137"

echo "=== detached: exec, ps, pause, resume, metrics, kill, delete"
out=$(C tasks exec --exec-id e1 d sh -c 'echo from-exec; exit 5' 2>&1); erc=$?
check_eq "$out" "from-exec" "exec output"
check_eq "$erc" 5 "exec exit code"
C tasks exec -d --exec-id e2 d sleep 500
out=$(C tasks ps d)
check_eq "$(grep -c '^[0-9]' <<< "$out")" 2 "ps lists init and exec"
check_has "$out" "e2" "ps shows the exec id"
# --foreground: see test_shim_containerd.sh (script's shell may fork).
out=$(script -qec "timeout -k 5 --foreground 30 ctr --address $CD_SOCK -n $CD_NS tasks exec -t --exec-id t1 d sh -c 'tty; echo exec-tty-ok'" /dev/null < /dev/null 2>&1)
check_has "$out" "/dev/pts/" "exec -t allocates a tty"
check_has "$out" "exec-tty-ok" "exec -t output"
C tasks pause d && wait_status d PAUSED && pass "pause" || fail "pause"
C tasks resume d && wait_status d RUNNING && pass "resume" || fail "resume"
check_has "$(C tasks metrics d 2>&1)" "memory" "metrics"
C tasks kill -s KILL d
wait_status d STOPPED && pass "kill -> STOPPED" || fail "kill -> STOPPED"
check_has "$(C tasks delete d 2>&1)" "137" "delete reports 137"
C containers rm d

echo "=== run -t"
out=$(script -qec "timeout -k 5 --foreground 30 ctr --address $CD_SOCK -n $CD_NS run -t --rm $I tty1 sh -c 'tty; echo tty-ok'" /dev/null < /dev/null 2>&1)
check_has "$out" "/dev/pts/0" "tty allocated"
check_has "$out" "tty-ok" "tty output"

echo "=== CloseIO after a re-attach to the same FIFOs"
mkfifo "$CD_DIR/hold"
exec {hold}<>"$CD_DIR/hold"
C run -d --fifo-dir "$CD_DIR/fifo" "$I" re cat < "$CD_DIR/hold"
exec {hold}>&-
in_fifo=$(ls "$CD_DIR"/fifo/*/re-stdin 2>/dev/null | head -n1)
out_fifo=$(ls "$CD_DIR"/fifo/*/re-stdout 2>/dev/null | head -n1)
if [ -p "$in_fifo" ] && [ -p "$out_fifo" ]; then
  timeout 60 cat "$out_fifo" > "$CD_DIR/re.out" & reader=$!
  sleep 0.5
  check_eq "$(task_status re)" RUNNING "cat still runs after ctr run -d left"
  timeout 10 sh -c 'printf "one\n" > "$1"' sh "$in_fifo" || fail "first client could not write"
  for _ in $(seq 100); do grep -q one "$CD_DIR/re.out" && break; sleep 0.1; done
  check_eq "$(task_status re)" RUNNING "cat still runs after the first client closed its end"
  timeout 10 sh -c 'printf "two\n" > "$1"' sh "$in_fifo" || fail "second client could not write"
  check_eq "$(timeout 40 "$TOOL" "$CD_SOCK" "$CD_NS" closeio re 2>&1)" "ok" "CloseIO"
  if wait_status re STOPPED; then
    pass "cat exited after CloseIO"
    out=$(C tasks delete re 2>&1)
    if grep -q non-zero <<< "$out"; then fail "cat exit status: $out"; else pass "cat exit status 0"; fi
  else
    fail "cat still running 20 s after CloseIO"
  fi
  wait $reader
  check_eq "$(tr '\n' ' ' < "$CD_DIR/re.out")" "one two " "both writes echoed"
else
  fail "ctr run -d --fifo-dir left no FIFOs"
fi
C tasks kill -s KILL re > /dev/null 2>&1; sleep 0.5; C tasks delete re > /dev/null 2>&1
C containers rm re > /dev/null 2>&1

echo "=== events exactly once"
for _ in $(seq 100); do grep -q '/tasks/delete.*"container_id":"re"' "$CD_DIR/events.log" && break; sleep 0.1; done
sleep 1; kill $EV 2>/dev/null
ev=$(cat "$CD_DIR/events.log")
for pair in three:three echo1:echo1 d:d d:e1 k:k; do
  cid=${pair%%:*} eid=${pair#*:}
  n=$(grep -F "/tasks/exit " <<< "$ev" | grep -F "\"container_id\":\"$cid\"" | grep -cF "\"id\":\"$eid\"")
  check_eq "$n" 1 "one /tasks/exit for $cid/$eid"
done
check_has "$(grep -F '/tasks/exit ' <<< "$ev" | grep -F '"container_id":"three"')" '"exit_status":3' "exit event of three carries status 3"

if [ $FAILS -ne 0 ]; then
  echo "--- containerd log (tail)"; tail -30 "$CD_DIR/containerd.log"
  echo "$FAILS failure(s)"; exit 1
fi
echo "all passed"
