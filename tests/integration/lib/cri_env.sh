# Helpers for the CRI tests (issue 12). Source after harness.sh.
#
#   cri_berthd_config FILE          a berthd config with the CRI section pointing at $T's CNI dirs
#   start_cri_containerd            Debian's containerd 1.6 with its CRI plugin on a private root
#                                   under $T/cd (restrict_oom_score_adj, the same CNI dirs); sets
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
