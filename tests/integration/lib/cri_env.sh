# Helpers for the CRI tests (issue 12). Source after harness.sh.
#
#   cri_berthd_config FILE          a berthd config with the CRI section pointing at $T's CNI dirs
#   start_cri_containerd            Debian's containerd 1.6 with its CRI plugin on a private root
#                                   under $T/cd (restrict_oom_score_adj, the same CNI dirs, the
#                                   sandbox image $CD_SANDBOX_IMAGE when set); sets
#                                   CD_SOCK; stopped and cleaned up by cri_containerd_cleanup
#                                   (run it from the test's EXIT path via cri_cleanup_add)
#   bcri METHOD [JSON]              berth-cri-test against berthd ($SOCK)
#   ccri METHOD [JSON]              berth-cri-test against containerd ($CD_SOCK)

CRI_TOOL="$BERTH_BIN/berth-cri-test"
CNI_CONF_DIR="$T/net.d"
CD_SOCK=""
CD_PID=""

bcri() { "$CRI_TOOL" "$SOCK" "$@"; }
ccri() { "$CRI_TOOL" "$CD_SOCK" "$@"; }

cri_berthd_config() {
  mkdir -p "$CNI_CONF_DIR"
  cat >"$1" <<TOML
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    conf_dir = "$CNI_CONF_DIR"
    bin_dir = "/usr/lib/cni"
TOML
}

start_cri_containerd() {
  require_cmd containerd
  local d="$T/cd"
  mkdir -p "$d" "$CNI_CONF_DIR"
  CD_SOCK="$d/containerd.sock"
  local sandbox_line=""
  [[ -n "${CD_SANDBOX_IMAGE:-}" ]] && sandbox_line="sandbox_image = \"$CD_SANDBOX_IMAGE\""
  cat >"$d/config.toml" <<TOML
version = 2
root = "$d/root"
state = "$d/state"
[grpc]
  address = "$CD_SOCK"
[ttrpc]
  address = "$CD_SOCK.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  $sandbox_line
  disable_tcp_service = true
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    conf_dir = "$CNI_CONF_DIR"
    bin_dir = "/usr/lib/cni"
TOML
  containerd --config "$d/config.toml" >"$d/containerd.log" 2>&1 &
  CD_PID=$!
  HARNESS_PIDS+=("$CD_PID")
  wait_for 30 "$CRI_TOOL" "$CD_SOCK" Version '{}' 5 || { tail -20 "$d/containerd.log" >&2; fail "containerd's CRI did not start"; }
}

# Kills containerd (the harness cleans $T's mounts afterwards).
stop_cri_containerd() {
  [[ -n "$CD_PID" ]] || return 0
  kill -TERM "$CD_PID" 2>/dev/null || true
  wait "$CD_PID" 2>/dev/null || true
  CD_PID=""
}

# Pods and containers this test created (their ids, one a line, in $T/cri-ids) are killed and
# deleted from runc's k8s.io root on exit, before the harness's own cleanup: the harness only
# knows the test's ctr namespace, and both daemons run CRI objects in k8s.io.
cri_track() { echo "$1" >>"$T/cri-ids"; }
cri_cleanup() {
  local id rroot=/run/containerd/runc/k8s.io
  [[ -f "$T/cri-ids" ]] || return 0
  while read -r id; do
    [[ -n "$id" ]] || continue
    runc --root "$rroot" kill "$id" KILL >/dev/null 2>&1
    runc --root "$rroot" delete -f "$id" >/dev/null 2>&1
    find /sys/fs/cgroup -depth -type d -name "*$id*" -exec rmdir {} \; 2>/dev/null
  done <"$T/cri-ids"
  return 0
}
trap 'rc=$?; set +e; stop_cri_containerd; cri_cleanup; (exit $rc); harness_cleanup' EXIT

# build_pause_layout DIR: an OCI layout whose tag "latest" holds berth-pause as /pause.
build_pause_layout() {
  local dir=$1 work
  work=$(mktemp -d "$T/pause.XXXXXX")
  umoci init --layout "$dir"
  umoci new --image "$dir:latest"
  umoci unpack --image "$dir:latest" "$work/bundle" >/dev/null
  cp "$BERTH_BIN/berth-pause" "$work/bundle/rootfs/pause"
  umoci repack --image "$dir:latest" "$work/bundle" >/dev/null
  umoci config --image "$dir:latest" --config.entrypoint /pause --config.user 65535:65535 >/dev/null
  rm -rf "$work"
}
