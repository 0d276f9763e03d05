#!/usr/bin/env bash
# Issue 6: 50 containers started concurrently by 50 `ctr run -d` processes all start; none is lost.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc
start_registry
push_busybox_image busybox:load
IMG="$REGISTRY/busybox:load"

start_berthd
bctr_pull "$IMG"

N=50
log "start $N containers concurrently"
pids=()
for i in $(seq 1 $N); do
  timeout 120 ctr --address "$SOCK" run -d "$IMG" "l$i" sleep 100000 >"$T/run-$i.log" 2>&1 &
  pids+=($!)
done
failed=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { failed=$((failed + 1)); log "run l$((i + 1)) failed: $(cat "$T/run-$((i + 1)).log")"; }
done
assert_eq "$failed" 0 "all ctr run -d succeeded"
running=$(bctr tasks ls | awk 'NR > 1 && $1 ~ /^l[0-9]+$/ && $3 == "RUNNING"' | wc -l)
assert_eq "$running" "$N" "all $N tasks running"
assert_eq "$(bctr containers ls -q | grep -c '^l[0-9]*$')" "$N" "all $N containers listed"

log "stop and remove them all"
kills=()
for i in $(seq 1 $N); do
  ctr --address "$SOCK" tasks kill -s SIGKILL "l$i" &
  kills+=($!)
done
wait "${kills[@]}"
for i in $(seq 1 $N); do
  wait_for 10 bash -c "ctr --address '$SOCK' tasks ls | grep '^l$i ' | grep -q STOPPED" || fail "l$i not stopped"
  bctr tasks delete "l$i" >/dev/null 2>&1 || true
  bctr containers rm "l$i"
done
assert_eq "$(bctr tasks ls -q)" "" "no tasks left"
log "PASS"
