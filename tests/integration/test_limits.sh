#!/usr/bin/env bash
# Issue 15: limits. berthd's [grpc] max_recv_message_size / max_send_message_size (256 / 128 KiB
# here) refuse larger messages with ResourceExhausted while smaller calls go on; a flood of 1000 idle
# Events.Subscribe streams and 1000 Tasks.Wait calls (berth-test-flood, over 10 connections)
# holds no thread per call and bounded memory: berthd's threads and RSS are printed before,
# during and after, it keeps answering other calls during the flood, every stream gets a
# published event, no Wait completes while its task runs, and all is freed when they go (threads
# back, and a second flood reuses the first one's memory instead of growing RSS again).
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc
SUBS=${FLOOD_SUBS:-1000}
WAITS=${FLOOD_WAITS:-1000}
start_registry
push_busybox_image busybox:limits
IMG="$REGISTRY/busybox:limits"
cat >"$T/config.toml" <<EOF
version = 2
[grpc]
  max_recv_message_size = 262144
  max_send_message_size = 131072
[plugins."io.containerd.service.v1.diff-service"]
  max_concurrent_unpacks = 1
  max_concurrent_pulls = 2
[plugins."io.containerd.grpc.v1.cri"]
  max_concurrent_downloads = 2
EOF
start_berthd
bctr_pull "$IMG"  # (ctr writes content in 1 MiB messages: pulled before the small limits)
stop_berthd
start_berthd --config "$T/config.toml"

threads() { awk '/^Threads:/ {print $2}' "/proc/$BERTHD_PID/status"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$BERTHD_PID/status"; }

log "message size: a 400 KiB request is refused, a 100 KiB one passes"
chunk=$(head -c $((100 << 10)) /dev/zero | tr '\0' a)  # (one argument stays under 128 KiB)
out=$(bctr containers create --env "A=$chunk" --env "B=$chunk" --env "C=$chunk" --env "D=$chunk" "$IMG" toobig true 2>&1) \
  && fail "a 400 KiB request was accepted"
assert_contains "$out" "message larger than max" "400 KiB request refused (gRPC ResourceExhausted)"
bctr containers create --env "A=$chunk" "$IMG" mid1 true
log "message size: a 150 KiB answer is refused (the request passed), a 100 KiB one is sent"
bctr containers info mid1 >/dev/null
# Containers.Create echoes the container: its 150 KiB answer is refused after the create happened.
out=$(bctr containers create --env "A=$chunk" --env "B=${chunk:0:51200}" "$IMG" mid2 true 2>&1) \
  && fail "a 150 KiB answer was sent"
assert_contains "$out" "message larger than max" "150 KiB answer refused (gRPC ResourceExhausted)"
assert_eq "$(bctr containers ls -q id==mid1 2>&1)" "mid1" "berthd still answers after refusals"
log "under the default limits, mid2 is there: the request with the refused answer was served"
restart_berthd
assert_eq "$(bctr containers ls -q | sort | tr '\n' ' ')" "mid1 mid2 " "containers after a restart with default limits"
bctr containers rm mid1 mid2
restart_berthd --config "$T/config.toml"

bctr run -d --null-io "$IMG" waited sleep 100000 >/dev/null
sleep 1
t0=$(threads) r0=$(rss_kb)
# flood_round N: one flood; sets T1 R1 (during) T2 R2 (after) and CALLS_MS.
flood_round() {
  coproc FLOOD { "$BERTH_BIN/berth-test-flood" "$SOCK" "$CONTAINERD_NAMESPACE" "$SUBS" "$WAITS" waited 10 2>&1; }
  HARNESS_PIDS+=("$FLOOD_PID")
  local line start
  read -r -t 180 line <&"${FLOOD[0]}" || fail "the flood client did not start its calls"
  assert_eq "$line" "ready started=$((SUBS + WAITS))" "every call started"
  sleep 2
  T1=$(threads) R1=$(rss_kb)
  log "round $1: during the flood berthd answers other calls"
  start=$(date +%s%N)
  for i in 1 2 3 4 5; do
    bctr version >/dev/null || fail "version during the flood"
    bctr containers ls -q >/dev/null || fail "containers ls during the flood"
  done
  bctr containers create "$IMG" "during$1" true
  bctr tasks ls | grep -q '^waited .*RUNNING' || fail "tasks ls during the flood"
  CALLS_MS=$((($(date +%s%N) - start) / 1000000))
  echo check >&"${FLOOD[1]}"
  read -r -t 120 line <&"${FLOOD[0]}" || fail "the flood client did not check"
  log "round $1: flood client: $line"
  assert_eq "$line" "checked events=$SUBS waits_pending=$WAITS subs_closed=0" "every stream got the event, no Wait returned"
  read -r -t 120 line <&"${FLOOD[0]}" || fail "the flood client did not cancel"
  assert_eq "$line" "done cancelled=$((SUBS + WAITS))" "every call cancelled"
  wait "$FLOOD_PID" || fail "the flood client failed"
  sleep 3
  T2=$(threads) R2=$(rss_kb)
  log "figures: round $1: berthd threads before=$t0 during=$T1 after=$T2; RSS KiB before=$r0 during=$R1 after=$R2;" \
      "11 other calls during the flood took ${CALLS_MS} ms"
  # No thread per idle call: the flood may add gRPC's own few threads, never one per call.
  ((T1 < t0 + 50)) || fail "threads grew from $t0 to $T1 with $((SUBS + WAITS)) idle calls"
  ((T2 < t0 + 50)) || fail "threads not freed: $t0 before, $T2 after"
  # Bounded memory: under 64 KiB per idle call while open.
  ((R1 - r0 < (SUBS + WAITS) * 64)) || fail "RSS grew by $((R1 - r0)) KiB for $((SUBS + WAITS)) idle calls"
}
log "flood: $SUBS idle Subscribe streams and $WAITS Waits on a running task, twice"
flood_round 1
during1=$R1 after1=$R2
flood_round 2
# Freed: the allocator keeps freed pages (RSS does not drop back), but a second flood reuses them;
# a leak would add the first flood's growth again.
growth=$((during1 - r0))
((R1 < during1 + growth / 4 + 4096)) || fail "RSS: the second flood grew it again ($during1 -> $R1 KiB): leak"
((R2 < after1 + growth / 4 + 4096)) || fail "RSS after the second flood $R2 KiB, after the first $after1 KiB: leak"
out=$(timeout 30 ctr --address "$SOCK" tasks exec --exec-id x waited sh -c 'exit 3' 2>&1; echo "rc=$?")
assert_contains "$out" "rc=3" "the waited task still execs after the flood"
bctr tasks kill -s SIGKILL waited
wait_for 20 bash -c "ctr --address '$SOCK' tasks ls | grep '^waited ' | grep -q STOPPED" || fail "waited did not stop"
bctr tasks delete waited >/dev/null 2>&1 || true
bctr containers rm waited during1 during2
log "PASS"
