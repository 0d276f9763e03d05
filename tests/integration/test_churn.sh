#!/usr/bin/env bash
# Issue 15: crash churn. 20 parallel workers run create/start/exec/stop/delete cycles (200 in
# all) with the stock ctr while berthd is SIGKILLed and restarted at random moments 10 times.
# Workers retry through the restarts (a call may fail, or succeed with its answer lost), but
# every exit status that ctr reports must be the one the process exited with. 20 resident
# containers (half run on, half exit with their own code meanwhile) live through all restarts.
# Afterwards, strictly: no leaked mounts, shims, runc containers, FIFOs or bundles; every
# resident's task state matches reality (runc state, /proc) and its exit status is right; the
# metadata database passes PRAGMA integrity_check.
#
# Not part of the default run yet (BERTH_CHURN=1 runs it): in the CI-style run of 2026-12-02 it
# completed 137 of its 200 cycles: workers gave up on "snapshot already exists" after a kill
# between ctr's Prepare and Containers.Create. The worker now removes that snapshot and retries;
# with that it passed once through ctest the CI way (367 s). To be enabled once it has more runs.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
[[ "${BERTH_CHURN:-0}" == 1 ]] || skip "crash churn runs only with BERTH_CHURN=1 (see the header)"
require_root
require_cmd ctr runc sqlite3
WORKERS=${CHURN_WORKERS:-20}
CYCLES=${CHURN_CYCLES:-10}  # per worker
RESTARTS=${CHURN_RESTARTS:-10}
start_registry
push_busybox_image busybox:churn
IMG="$REGISTRY/busybox:churn"
start_berthd
bctr_pull "$IMG"
NS=$CONTAINERD_NAMESPACE
TASKDIR="$STATE/io.containerd.runtime.v2.task/$NS"
mkdir -p "$T/fifo" "$T/w"

# c ARGS: ctr bounded in time (a call caught by a SIGKILL must not hang the worker).
c() { timeout 60 ctr --address "$SOCK" --connect-timeout 2s "$@"; }
# retry ARGS: runs c ARGS until it succeeds (berthd may be down), for at most 120 s.
retry() {
  local end=$((SECONDS + 120))
  until c "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || return 1
    sleep 0.3
  done
}
task_status() { c tasks ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}'; }
# up: berthd answers (retrying through a restart), for at most 120 s.
up() { retry version; }

log "20 resident containers: odd ones run on, even ones exit with their own code during the churn"
for r in $(seq 1 "$WORKERS"); do
  if ((r % 2)); then
    c run -d --null-io "$IMG" "res$r" sleep 100000 >/dev/null
  else
    c run -d --null-io "$IMG" "res$r" sh -c "sleep $((2 + r)); exit $((100 + r))" >/dev/null
  fi
done

# worker W: CYCLES cycles; writes W's figures and problems to $T/w/W.*. Every step retries for at
# most 180 s (berthd is back within seconds); a step still failing then is a problem and ends W.
worker() {
  trap - EXIT
  set +e
  local w=$1 i id code xcode rc out st n=0 execs=0 exits=0 wrong=0 tolerated=0 end
  problem() { echo "$id: $*" >>"$T/w/$w.problems"; ((wrong++)); }
  figures() { echo "$n $execs $exits $wrong $tolerated" >"$T/w/$w.figures"; }
  for i in $(seq 1 "$CYCLES"); do
    id="w${w}c$i"
    code=$((10 + (w * 7 + i) % 60))   # the main process's exit status on SIGTERM
    xcode=$((70 + (w + i) % 20))      # the exec's exit status
    # create (idempotent: a lost answer leaves the container there)
    end=$((SECONDS + 180))
    until out=$(c containers create "$IMG" "$id" -- sh -c "trap 'exit $code' TERM; sleep 100000 & wait" 2>&1) \
          || c containers info "$id" >/dev/null 2>&1; do
      ((SECONDS < end)) || { problem "create: $out"; figures; return; }
      ((tolerated++)); up; sleep 0.2
      # A kill between ctr's Snapshots.Prepare and Containers.Create leaves the snapshot without
      # its container (on containerd too): a client removes it and creates again.
      [[ "$out" == *"snapshot \"$id\": already exists"* ]] && c snapshots rm "$id" >/dev/null 2>&1
    done
    # start: a task caught CREATED by a restart is deleted and started again
    end=$((SECONDS + 180))
    while :; do
      st=$(task_status "$id")
      [[ "$st" == RUNNING ]] && break
      ((SECONDS < end)) || { problem "start: $out (status $st)"; figures; return; }
      if [[ -n "$st" ]]; then
        c tasks kill -s SIGKILL "$id" >/dev/null 2>&1; c tasks delete -f "$id" >/dev/null 2>&1
      fi
      out=$(c tasks start -d --null-io "$id" 2>&1) || { ((tolerated++)); up; }
    done
    # exec: its status as ctr reports it must be xcode; rc 1 is ctr's own error (retry)
    local e=0
    end=$((SECONDS + 180))
    while :; do
      ((e++))
      out=$(c tasks exec --fifo-dir "$T/fifo" --exec-id "x$e" "$id" sh -c "exit $xcode" 2>&1)
      rc=$?
      if ((rc == xcode)); then ((execs++)); break; fi
      if ((rc == 1 || rc == 124)) && ((SECONDS < end)); then ((tolerated++)); up; continue; fi
      problem "exec x$e: exit $rc, expected $xcode: $out"; figures; return
    done
    # stop: SIGTERM until the task is STOPPED
    end=$((SECONDS + 180))
    while [[ "$(task_status "$id")" != STOPPED ]]; do
      ((SECONDS < end)) || { problem "did not stop"; figures; return; }
      c tasks kill -s SIGTERM "$id" >/dev/null 2>&1 || { ((tolerated++)); up; }
      sleep 0.3
    done
    # delete the task; a reported exit status must be code
    end=$((SECONDS + 180))
    while [[ -n "$(task_status "$id")" ]] || ! c tasks ls >/dev/null 2>&1; do
      ((SECONDS < end)) || { problem "task delete: $out"; figures; return; }
      out=$(c tasks delete "$id" 2>&1)
      if [[ "$out" =~ "non-zero exit code "([0-9]+) ]]; then
        ((exits++))
        [[ "${BASH_REMATCH[1]}" == "$code" ]] || problem "reported exit ${BASH_REMATCH[1]}, expected $code"
      elif [[ -n "$out" ]]; then
        ((tolerated++)); up
      fi
    done
    # delete the container (and its snapshot)
    end=$((SECONDS + 180))
    while c containers info "$id" >/dev/null 2>&1 || ! c version >/dev/null 2>&1; do
      ((SECONDS < end)) || { problem "container rm: $out"; figures; return; }
      out=$(c containers rm "$id" 2>&1) || { ((tolerated++)); up; sleep 0.2; }
    done
    ((n++))
  done
  figures
}

log "$WORKERS workers x $CYCLES cycles; $RESTARTS SIGKILL + restart of berthd at random moments"
pids=()
for w in $(seq 1 "$WORKERS"); do
  worker "$w" &
  pids+=($!)
  HARNESS_PIDS+=($!)
done
workers_running() {
  local p
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done
  return 1
}
restarts=0 during=0
while ((restarts < RESTARTS)); do
  sleep "$((RANDOM % 6 + 2)).$((RANDOM % 10))"
  if workers_running; then during=$((during + 1)); fi
  kill_berthd
  restarts=$((restarts + 1))
  sleep "0.$((RANDOM % 10))"
  start_berthd
  log "restart $restarts done"
done
end=$((SECONDS + 900))
while workers_running; do
  ((SECONDS < end)) || fail "workers still running 900 s after the last restart"
  sleep 1
done
wait "${pids[@]}" 2>/dev/null || true

cycles=0 execs=0 exits=0 wrong=0 tolerated=0
for w in $(seq 1 "$WORKERS"); do
  [[ -f "$T/w/$w.figures" ]] || fail "worker $w did not finish"
  read -r a b d e f <"$T/w/$w.figures"
  ((cycles += a, execs += b, exits += d, wrong += e, tolerated += f))
done
for f in "$T"/w/*.problems; do [[ -f "$f" ]] && cat "$f" >&2; done
log "figures: cycles=$cycles restarts=$restarts (during work: $during) exec statuses checked=$execs" \
    "task exit statuses checked=$exits wrong=$wrong tolerated errors=$tolerated"
assert_eq "$cycles" "$((WORKERS * CYCLES))" "cycles completed"
assert_eq "$wrong" 0 "wrong exit statuses or stuck tasks"

log "invariant: every resident's task state matches reality"
sleep $((WORKERS + 3))  # the last even resident exits at 2 + WORKERS s after its start
ls_out=$(c tasks ls)
checked=0
for r in $(seq 1 "$WORKERS"); do
  read -r pid st < <(awk -v id="res$r" '$1 == id {print $2, $3}' <<<"$ls_out")
  rs=$(runc --root "/run/containerd/runc/$NS" state "res$r" 2>/dev/null || true)
  if ((r % 2)); then
    assert_eq "$st" RUNNING "res$r status"
    assert_contains "$rs" "\"pid\": $pid," "res$r: runc's pid is the listed pid"
    assert_contains "$rs" '"status": "running"' "res$r: runc sees it running"
    [[ -d /proc/$pid ]] || fail "res$r: pid $pid is not alive"
  else
    assert_eq "$st" STOPPED "res$r status"
    out=$(c tasks delete "res$r" 2>&1)
    assert_contains "$out" "non-zero exit code $((100 + r))" "res$r's exit status"
  fi
  ((++checked))
done
for r in $(seq 1 2 "$WORKERS"); do
  c tasks kill -s SIGKILL "res$r" >/dev/null
  wait_for 20 bash -c "ctr --address '$SOCK' tasks ls | awk '\$1 == \"res$r\"' | grep -q STOPPED" || fail "res$r did not stop"
  out=$(c tasks delete "res$r" 2>&1)
  assert_contains "$out" "non-zero exit code 137" "res$r killed: 137"
done
for r in $(seq 1 "$WORKERS"); do c containers rm "res$r"; done

log "invariant: no tasks, containers, runc containers, shims, bundles, mounts, FIFOs or active snapshots"
assert_eq "$(c tasks ls -q)" "" "tasks left"
assert_eq "$(c containers ls -q)" "" "containers left"
assert_eq "$(runc --root "/run/containerd/runc/$NS" list -q 2>/dev/null)" "" "runc containers left"
shims=""
for p in /proc/[0-9]*; do
  [[ "$(readlink "$p/cwd" 2>/dev/null)" == "$TASKDIR"/* ]] && shims+=" ${p#/proc/}"
done
assert_eq "$shims" "" "shims left (pids)"
assert_eq "$(ls -A "$TASKDIR" 2>/dev/null)" "" "bundles left"
assert_eq "$(awk -v r="$ROOT" -v s="$STATE" 'index($5, r) == 1 || index($5, s) == 1 {print $5}' /proc/self/mountinfo)" "" \
  "mounts left under berthd's root and state"
assert_eq "$(find "$ROOT" "$STATE" -type p 2>/dev/null)" "" "FIFOs left under berthd's root and state"
assert_eq "$(c snapshots ls | awk 'NR > 1 && $NF != "Committed"')" "" "active snapshots left"
kill_berthd
dbs=$(find "$ROOT" -name '*.db' -type f)
[[ -n "$dbs" ]] || fail "no metadata database under $ROOT"
for db in $dbs; do
  assert_eq "$(sqlite3 "$db" 'PRAGMA integrity_check;')" ok "integrity_check of $db"
done
log "figures: cycles=$cycles restarts=$restarts residents checked=$checked invariants=tasks,containers,runc,shims,bundles,mounts,fifos,snapshots,exit-statuses,integrity_check($(wc -w <<<"$dbs") db)"
log "PASS"
