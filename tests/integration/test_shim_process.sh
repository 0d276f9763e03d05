#!/usr/bin/env bash
# Issue 10: shim process settings. A shim's oom_score_adj is berthd's plus one (capped at 1000),
# for berth's shim and containerd's; `[cgroup] path` moves berthd (and so the shims it starts)
# into that cgroup; shims live in their own process group (berth's also in its own session), so a SIGINT sent to
# berthd's process group (a Ctrl-C on its terminal) stops berthd only: shims and containers keep
# running and are reconnected by the next berthd.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc setsid
start_registry
push_busybox_image busybox:shimproc
IMG="$REGISTRY/busybox:shimproc"

NS=$CONTAINERD_NAMESPACE
ids=(pb)
declare -A rt=([pb]=io.containerd.berth.v2)
if [[ -x /usr/bin/containerd-shim-runc-v2 ]]; then
  ids+=(pr)
  rt[pr]=/usr/bin/containerd-shim-runc-v2
fi

# The cgroup: under this process's memory cgroup (so memory stays accounted where it was), the
# same path in every v1 hierarchy, or under the unified root with cgroup v2.
if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then
  CG_BASE=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
  CG_MOUNTS=(/sys/fs/cgroup)
else
  CG_BASE=$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)
  mapfile -t CG_MOUNTS < <(awk '$9 == "cgroup" {print $5}' /proc/self/mountinfo)
fi
CG_PATH="${CG_BASE%/}/berth-it-$$"
# Directories this test creates (the path's missing levels in each hierarchy), to remove.
CG_CREATED=()
for m in "${CG_MOUNTS[@]}"; do
  d="$m$CG_PATH"
  while [[ $d != "$m" && ! -d $d ]]; do
    CG_CREATED+=("$d")
    d=$(dirname "$d")
  done
done
cgroup_cleanup() {
  local rc=$? d p
  set +e
  # Everything in the test cgroup goes (berthd, shims, containers), then the directories.
  for d in "${CG_CREATED[@]}"; do
    [[ -f $d/cgroup.procs ]] || continue
    for p in $(cat "$d/cgroup.procs"); do kill -KILL "$p" 2>/dev/null; done
  done
  sleep 0.5
  for d in "${CG_CREATED[@]}"; do rmdir "$d" 2>/dev/null; done
  (exit $rc)
  harness_cleanup
}
trap cgroup_cleanup EXIT

cat >"$T/config.toml" <<TOML
[cgroup]
path = "$CG_PATH"
TOML

# berthd in a session of its own, as a terminal's foreground job would be: its pid is its pgid.
ROOT="$T/root" STATE="$T/state" SOCK="$T/berthd.sock"
start_berthd_session() {
  mkdir -p "$ROOT" "$STATE"
  PATH="$BERTH_BIN:$PATH" setsid "$BERTH_BIN/berthd" --config "$T/config.toml" --root "$ROOT" --state "$STATE" --address "$SOCK" \
    --log-level debug >>"$T/berthd.log" 2>&1 &
  BERTHD_PID=$!
  wait_for 30 ctr --address "$SOCK" --connect-timeout 1s version || fail "berthd did not become ready"
}
start_berthd_session
bctr_pull "$IMG"
assert_eq "$(ps -o pgid= -p "$BERTHD_PID" | tr -d ' ')" "$BERTHD_PID" "berthd leads its process group"

log "berthd moved itself into $CG_PATH"
for m in "${CG_MOUNTS[@]}"; do
  grep -qx "$BERTHD_PID" "$m$CG_PATH/cgroup.procs" || fail "berthd not in $m$CG_PATH: $(cat /proc/$BERTHD_PID/cgroup)"
done

berthd_oom=$(cat /proc/"$BERTHD_PID"/oom_score_adj)
want=$((berthd_oom + 1 > 1000 ? 1000 : berthd_oom + 1))
declare -A shim task
for id in "${ids[@]}"; do
  timeout 60 ctr --address "$SOCK" run -d --runtime "${rt[$id]}" "$IMG" "$id" sleep 600
  shim[$id]=$(shim_of "$id")
  [[ -n "${shim[$id]}" ]] || fail "no shim process for $id"
  task[$id]=$(bctr tasks ls | awk -v id="$id" '$1 == id {print $2}')
  log "${rt[$id]}: shim ${shim[$id]}, task ${task[$id]}"
  assert_eq "$(cat /proc/"${shim[$id]}"/oom_score_adj)" "$want" "${rt[$id]}: shim oom_score_adj = berthd's + 1"
  assert_contains "$(cat /proc/"${shim[$id]}"/cgroup)" "$CG_PATH" "${rt[$id]}: shim inherits berthd's cgroup"
  [[ "$(ps -o pgid= -p "${shim[$id]}" | tr -d ' ')" != "$BERTHD_PID" ]] || fail "${rt[$id]}: shim in berthd's process group"
  # berth's shim also starts a session of its own; containerd's only a process group (Setpgid),
  # which is enough: a terminal signals its foreground process group.
  if [[ $id == pb ]]; then
    [[ "$(ps -o sid= -p "${shim[$id]}" | tr -d ' ')" != "$(ps -o sid= -p "$BERTHD_PID" | tr -d ' ')" ]] ||
      fail "${rt[$id]}: shim in berthd's session"
  fi
done

log "SIGINT to berthd's process group stops berthd, not shims or containers"
pid=$BERTHD_PID
kill -INT -- "-$pid"
wait_for 5 bash -c "! kill -0 $pid" || fail "berthd ignored SIGINT"
wait "$pid" 2>/dev/null || true
BERTHD_PID=""
sleep 1
for id in "${ids[@]}"; do
  kill -0 "${shim[$id]}" 2>/dev/null || fail "${rt[$id]}: shim died with berthd's group"
  kill -0 "${task[$id]}" 2>/dev/null || fail "${rt[$id]}: container died with berthd's group"
done

log "a berthd at oom_score_adj 1000 gives its shims 1000 (capped)"
printf 'oom_score = 1000\n[cgroup]\npath = "%s"\n' "$CG_PATH" >"$T/config.toml"
start_berthd_session
assert_eq "$(cat /proc/"$BERTHD_PID"/oom_score_adj)" 1000 "config oom_score applied"
for id in "${ids[@]}"; do
  assert_contains "$(bctr tasks ls | awk -v id="$id" '$1 == id')" RUNNING "$id reconnected"
done
timeout 60 ctr --address "$SOCK" run -d "$IMG" pcap sleep 600
assert_eq "$(cat /proc/"$(shim_of pcap)"/oom_score_adj)" 1000 "shim score capped at 1000"

for id in "${ids[@]}" pcap; do bctr tasks kill -s SIGKILL "$id"; done
for id in "${ids[@]}" pcap; do
  wait_for 20 bash -c "ctr --address '$SOCK' tasks ls | grep -q '^$id .*STOPPED'" || fail "$id not stopped"
  bctr tasks rm "$id" >/dev/null
  bctr containers rm "$id"
done
log "PASS"
