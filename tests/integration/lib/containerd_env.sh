# Helpers to run a private, real containerd 1.6 (Debian's /usr/bin/containerd) for shim tests
# and benchmarks. Source it, then call cd_start. Needs root. Sets:
#   $CD_DIR (temp dir), $CD_SOCK, $CD_NS (a namespace unique to this run), cctr (ctr wrapper),
#   $CD_IMAGE (busybox image imported by cd_import_busybox).
# cd_cleanup (installed as an EXIT trap by cd_start) kills tasks, shims and containerd, unmounts
# everything below $CD_DIR and removes runc state, cgroups and /run/containerd/s sockets
# created during the run.

CD_BIN=${BERTH_BIN:-}
CD_DIR=""
CD_NS="berthtest$$"

cctr() { ctr --address "$CD_SOCK" -n "$CD_NS" "$@"; }

cd_shim_pids() {  # pids of shims serving our namespace
  local p
  for p in /proc/[0-9]*; do
    tr "\\0" " " 2>/dev/null < "$p/cmdline" | grep -q -- "containerd-shim-.*-namespace $CD_NS " \
      && echo "${p#/proc/}"
  done
  return 0
}

cd_start() {
  CD_DIR=$(mktemp -d /tmp/berth-cd-XXXXXX)
  CD_SOCK="$CD_DIR/containerd.sock"
  ls /run/containerd/s 2>/dev/null | sort > "$CD_DIR/sockets.before"
  trap cd_cleanup EXIT
  cat > "$CD_DIR/config.toml" <<TOML
version = 2
root = "$CD_DIR/root"
state = "$CD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CD_SOCK"
[ttrpc]
  address = "$CD_SOCK.ttrpc"
TOML
  PATH="${CD_BIN:+$CD_BIN:}$PATH" containerd --config "$CD_DIR/config.toml" \
    > "$CD_DIR/containerd.log" 2>&1 &
  CD_PID=$!
  for _ in $(seq 100); do
    ctr --address "$CD_SOCK" version > /dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "containerd did not start:"; tail -20 "$CD_DIR/containerd.log"
  return 1
}

# Builds a busybox-static OCI image with umoci and imports it as $CD_IMAGE.
cd_import_busybox() {
  local oci="$CD_DIR/oci" b="$CD_DIR/ocibundle"
  CD_IMAGE=docker.io/library/berth-busybox:latest
  umoci init --layout "$oci" && umoci new --image "$oci:latest" &&
    umoci unpack --rootless --image "$oci:latest" "$b" > /dev/null || return 1
  mkdir -p "$b/rootfs/bin" "$b/rootfs/tmp"
  cp "$(readlink -f /usr/bin/busybox)" "$b/rootfs/bin/busybox"
  for t in sh echo sleep true false cat tty ps ls id kill yes; do ln -sf busybox "$b/rootfs/bin/$t"; done
  umoci repack --image "$oci:latest" "$b" > /dev/null &&
    umoci config --image "$oci:latest" --config.cmd /bin/sh --config.env PATH=/bin > /dev/null || return 1
  tar -C "$oci" -cf "$CD_DIR/busybox.tar" . &&
    cctr images import --all-platforms --base-name docker.io/library/berth-busybox \
      "$CD_DIR/busybox.tar" > /dev/null
}

cd_cleanup() {
  local rc=$?
  set +e
  if [ -n "$CD_SOCK" ] && [ -S "$CD_SOCK" ]; then
    for t in $(cctr tasks ls -q 2>/dev/null); do
      cctr tasks kill -s KILL "$t" > /dev/null 2>&1
      timeout 10 cctr tasks delete -f "$t" > /dev/null 2>&1
    done
    for c in $(cctr containers ls -q 2>/dev/null); do cctr containers rm "$c" > /dev/null 2>&1; done
  fi
  for p in $(cd_shim_pids); do kill -9 "$p" 2>/dev/null; done
  [ -n "${CD_PID:-}" ] && kill "$CD_PID" 2>/dev/null && wait "$CD_PID" 2>/dev/null
  for p in $(cd_shim_pids); do kill -9 "$p" 2>/dev/null; done
  if [ -n "$CD_DIR" ]; then
    grep -o " $CD_DIR[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
    grep -o " /run/containerd/io.containerd.runtime.v2.task/$CD_NS/[^ ]*" /proc/mounts |
      while read -r m; do umount -l "$m"; done
    ls /run/containerd/s 2>/dev/null | sort > "$CD_DIR/sockets.after"
    comm -13 "$CD_DIR/sockets.before" "$CD_DIR/sockets.after" |
      while read -r s; do rm -f "/run/containerd/s/$s"; done
    rm -rf "/run/containerd/runc/$CD_NS" /run/containerd/fifo/berthtest-$$ 2>/dev/null
    find /sys/fs/cgroup -depth -type d -path "*/$CD_NS*" -exec rmdir {} \; 2>/dev/null
    rm -rf "$CD_DIR"
  fi
  return $rc
}
