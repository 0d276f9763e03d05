# Shared pieces of the benchmarks: a journaled ext4 loop filesystem for daemon roots, berthd and
# containerd in temporary roots side by side, a local registry, timing and memory helpers.
# Source it; call bench_cleanup (installed as an EXIT trap) to tear everything down.
set -euo pipefail

: "${BERTH_BIN:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bin}"
BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$(mktemp -d /tmp/berth-bench.XXXXXX)
BENCH_PIDS=()
BENCH_MOUNTS=()
export CONTAINERD_NAMESPACE="bench$$"

say() { printf '%s\n' "$*" >&2; }

# bench_loopfs SIZE_GB: a sparse image with a journaled ext4 mounted on $B/fs.
bench_loopfs() {
  local size=${1:-20}
  truncate -s "${size}G" "$B/fs.img"
  mkfs.ext4 -q -F -O has_journal "$B/fs.img"
  mkdir -p "$B/fs"
  mount -o loop "$B/fs.img" "$B/fs"
  BENCH_MOUNTS+=("$B/fs")
  FS="$B/fs"
}

# bench_start_berthd DIR: berthd with root/state under DIR; sets BERTH_SOCK, BERTHD_PID.
bench_start_berthd() {
  local dir=$1
  mkdir -p "$dir/root" "$dir/state"
  BERTH_SOCK="$dir/berthd.sock"
  PATH="$BERTH_BIN:$PATH" "$BERTH_BIN/berthd" ${BERTHD_EXTRA_ARGS:-} --root "$dir/root" --state "$dir/state" --address "$BERTH_SOCK" >>"$dir/berthd.log" 2>&1 &
  BERTHD_PID=$!
  BENCH_PIDS+=("$BERTHD_PID")
  for _ in $(seq 300); do ctr -a "$BERTH_SOCK" --connect-timeout 1s version >/dev/null 2>&1 && return 0; sleep 0.1; done
  say "berthd did not start"; return 1
}

# bench_start_containerd DIR: containerd 1.6 with CRI disabled; sets CTRD_SOCK, CTRD_PID. Returns 1 when absent.
bench_start_containerd() {
  local dir=$1
  command -v containerd >/dev/null || return 1
  mkdir -p "$dir/root" "$dir/state"
  CTRD_SOCK="$dir/containerd.sock"
  cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
TOML
  PATH="$BERTH_BIN:$PATH" containerd --config "$dir/config.toml" >>"$dir/containerd.log" 2>&1 &
  CTRD_PID=$!
  BENCH_PIDS+=("$CTRD_PID")
  for _ in $(seq 300); do ctr -a "$CTRD_SOCK" --connect-timeout 1s version >/dev/null 2>&1 && return 0; sleep 0.1; done
  say "containerd did not start"; return 1
}

# bench_registry: docker-registry on 127.0.0.1; sets REGISTRY.
bench_registry() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$B/registry"
  printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$B/registry" "$port" >"$B/registry.yml"
  docker-registry serve "$B/registry.yml" >>"$B/registry.log" 2>&1 &
  BENCH_PIDS+=($!)
  REGISTRY="127.0.0.1:$port"
  for _ in $(seq 100); do curl -fsS "http://$REGISTRY/v2/" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# now_ms: wall clock in milliseconds.
now_ms() { date +%s%3N; }
# rss_kb PID, pss_kb PID
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
# ratio A B: A/B with two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

# bench_busybox_image SOCK...: a busybox-static OCI image (built with umoci; its unpacked bundle
# stays in $B/ocibundle for bare runc runs) imported into each daemon; sets IMG.
bench_busybox_image() {
  local oci="$B/oci" t sock
  IMG=docker.io/library/bench-busybox:latest
  if [[ ! -f "$B/busybox.tar" ]]; then
    umoci init --layout "$oci" && umoci new --image "$oci:latest" &&
      umoci unpack --image "$oci:latest" "$B/ocibundle" >/dev/null || return 1
    mkdir -p "$B/ocibundle/rootfs/bin" "$B/ocibundle/rootfs/tmp"
    cp "$(readlink -f /usr/bin/busybox)" "$B/ocibundle/rootfs/bin/busybox"
    for t in sh echo sleep true; do ln -sf busybox "$B/ocibundle/rootfs/bin/$t"; done
    umoci repack --image "$oci:latest" "$B/ocibundle" >/dev/null &&
      umoci config --image "$oci:latest" --config.cmd /bin/sh --config.env PATH=/bin >/dev/null || return 1
    tar -C "$oci" -cf "$B/busybox.tar" .
  fi
  for sock in "$@"; do
    ctr -a "$sock" images import --base-name docker.io/library/bench-busybox "$B/busybox.tar" >/dev/null || return 1
  done
}

# bench_shim_pids STATE: pids of the shim processes serving bundles below a daemon's state dir.
bench_shim_pids() {
  local state=$1 p cwd
  for p in /proc/[0-9]*; do
    cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
    [[ "$cwd" == "$state"/io.containerd.runtime.v2.task/* ]] || continue
    [[ "$(readlink "$p/exe")" == *containerd-shim* ]] || continue
    echo "${p#/proc/}"
  done
  return 0
}
# bench_shim_pss_mean STATE: mean PSS (kB) of those shims (0 when none).
bench_shim_pss_mean() {
  local p n=0 sum=0
  for p in $(bench_shim_pids "$1"); do
    sum=$((sum + $(pss_kb "$p"))); n=$((n + 1))
  done
  if [[ $n -gt 0 ]]; then echo $((sum / n)); else echo 0; fi
}
# bench_shim_binaries STATE: the distinct shim executables serving below STATE (basenames).
bench_shim_binaries() {
  local p
  for p in $(bench_shim_pids "$1"); do basename "$(readlink "/proc/$p/exe")"; done | sort -u | tr '\n' ' '
}

bench_cleanup() {
  set +e
  local ns
  for ns in "/run/containerd/runc/$CONTAINERD_NAMESPACE"; do
    if [[ -d "$ns" ]]; then
      for id in $(runc --root "$ns" list -q 2>/dev/null); do runc --root "$ns" delete -f "$id" >/dev/null 2>&1; done
    fi
  done
  local p cwd
  for p in /proc/[0-9]*; do
    cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
    [[ "$cwd" == "$B"* ]] && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  for p in "${BENCH_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.5
  for p in "${BENCH_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  local m
  for m in $(awk -v b="$B" '$5 ~ "^"b {print $5}' /proc/self/mountinfo | sort -r); do umount -l "$m" 2>/dev/null; done
  rm -rf "$B"
}
trap bench_cleanup EXIT
