# Integration-test harness for berth. Source it first thing in a test script:
#
#   source "$BERTH_SRC/tests/integration/lib/harness.sh"
#
# It gives the test a private temporary directory $T and cleans up everything the test started
# there when the script exits, pass or fail: berthd, the registry, containerd, shims and runc
# containers of the test's namespace, mounts under $T, and $T itself.
#
# Functions:
#   require_root, require_cmd CMD...     skip (exit 77) when unmet
#   start_berthd [ARGS]                  berthd on $T/root, $T/state, $T/berthd.sock; sets ROOT STATE SOCK
#   stop_berthd / kill_berthd / restart_berthd [ARGS]
#   bctr ARGS...                         the stock ctr against berthd
#   bctr_pull REF                        ctr images pull --plain-http REF into berthd, failing the test on error
#   start_registry                       Debian's docker-registry on 127.0.0.1:<free port>; sets REGISTRY
#   build_busybox_layout DIR TAG         an OCI layout with a busybox-static rootfs, tagged TAG
#   push_busybox_image NAME:TAG          build and push to $REGISTRY/NAME:TAG
#   fail MSG, assert_eq A B MSG, assert_contains HAYSTACK NEEDLE MSG, assert_not_contains, wait_for CMD...
set -euo pipefail

: "${BERTH_BIN:?BERTH_BIN must point at <build>/bin (ctest sets it)}"
: "${BERTH_SRC:?BERTH_SRC must point at the source tree (ctest sets it)}"

T=$(mktemp -d /tmp/berth-it.XXXXXX)
chmod 0711 "$T"
# Every ctr call of this test uses its own namespace, so runc state and cgroups do not collide.
export CONTAINERD_NAMESPACE="bt$$"
BERTHD_PID=""
REGISTRY_PID=""
HARNESS_PIDS=()
# The berth CLI's networking keeps this test's CNI state under $T (network configs, result cache,
# IPAM leases), and its default `bridge` network is a conflist of the test's own: device bb<pid>
# on a /24 of 10.242.0.0/16 that no host route covers. So the host's berth0, /etc/berth and other
# roots' leases are never touched. On exit the device goes and net.ipv4.ip_forward (which the
# bridge plugin turns on) is put back. A test may write its own bridge conflist over this one.
export BERTH_CNI_NETCONFPATH="$T/cni/net.d" BERTH_CNI_CACHE_DIR="$T/cni/cache" BERTH_CNI_IPAM_DIR="$T/cni/ipam"
HARNESS_BRIDGE="bb$$"
HARNESS_IP_FORWARD=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null || true)
harness_default_network() {
  local i o=""
  for i in $(seq 0 199); do
    o=$(((($$ + i) % 200) + 20))
    ip -4 route show 2>/dev/null | grep -q "^10\.242\.$o\." || break
  done
  mkdir -p "$BERTH_CNI_NETCONFPATH"
  cat >"$BERTH_CNI_NETCONFPATH/berth-bridge.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "bridge",
  "berthLabels": {"berth/default-network": "true"},
  "plugins": [
    {"type": "bridge", "bridge": "$HARNESS_BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.242.$o.0/24", "gateway": "10.242.$o.1"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true},
    {"type": "firewall"}
  ]
}
EOF
}
harness_default_network

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
fail() {
  log "FAIL: $*"
  if [[ -f "$T/berthd.log" ]]; then
    log "---- last lines of berthd.log ----"
    tail -n 40 "$T/berthd.log" >&2 || true
  fi
  exit 1
}
skip() {
  log "SKIP: $*"
  exit 77
}
assert_eq() { [[ "$1" == "$2" ]] || fail "${3:-values differ}: expected [$2], got [$1]"; }
assert_contains() { [[ "$1" == *"$2"* ]] || fail "${3:-missing text}: [$2] not in [$1]"; }
assert_not_contains() { [[ "$1" != *"$2"* ]] || fail "${3:-unexpected text}: [$2] found in [$1]"; }
require_root() { [[ $(id -u) -eq 0 ]] || skip "needs root"; }
require_cmd() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "needs $c"; done
}
# wait_for TIMEOUT_S CMD...: retries CMD every 0.1 s until it succeeds or the timeout passes.
wait_for() {
  local timeout=$1
  shift
  local end=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < end)) || return 1
    sleep 0.1
  done
}

bctr() { ctr --address "$SOCK" "$@"; }
# bctr_pull REF: the stock ctr pulls REF into berthd over plain HTTP, or the test fails with its output.
bctr_pull() {
  local out
  out=$(bctr images pull --plain-http "$1" 2>&1) || fail "ctr pull $1: $out"
}

start_berthd() {
  ROOT="$T/root"
  STATE="$T/state"
  SOCK="$T/berthd.sock"
  mkdir -p "$ROOT" "$STATE"
  local level=(--log-level debug)
  [[ " $* " == *" --log-level "* ]] && level=()  # the caller's own level
  # The build tree's shim first in berthd's PATH: the binary under test, even where an installed
  # one (scripts/quickstart.sh puts one in /usr/local/bin) would come first. A test that picks
  # the shims itself names its directory in BERTHD_PATH_PREFIX.
  PATH="${BERTHD_PATH_PREFIX:-$BERTH_BIN}:$PATH" "$BERTH_BIN/berthd" --root "$ROOT" --state "$STATE" --address "$SOCK" "${level[@]}" "$@" \
    >>"$T/berthd.log" 2>&1 &
  BERTHD_PID=$!
  if ! wait_for 30 ctr --address "$SOCK" --connect-timeout 1s version; then
    fail "berthd did not become ready"
  fi
  kill -0 "$BERTHD_PID" 2>/dev/null || fail "berthd exited at start"
}

stop_berthd() {
  [[ -n "$BERTHD_PID" ]] || return 0
  kill -TERM "$BERTHD_PID" 2>/dev/null || true
  wait "$BERTHD_PID" 2>/dev/null || true
  BERTHD_PID=""
}

kill_berthd() {
  [[ -n "$BERTHD_PID" ]] || return 0
  kill -KILL "$BERTHD_PID" 2>/dev/null || true
  wait "$BERTHD_PID" 2>/dev/null || true
  BERTHD_PID=""
}

restart_berthd() {
  stop_berthd
  start_berthd "$@"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_registry() {
  require_cmd docker-registry
  local port
  port=$(free_port)
  mkdir -p "$T/registry"
  cat >"$T/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $T/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YML
  docker-registry serve "$T/registry.yml" >>"$T/registry.log" 2>&1 &
  REGISTRY_PID=$!
  REGISTRY="127.0.0.1:$port"
  wait_for 30 curl -fsS "http://$REGISTRY/v2/" || fail "registry did not start"
}

# build_busybox_layout DIR TAG: shared with the quick start (scripts/lib/busybox_image.sh).
source "$BERTH_SRC/scripts/lib/busybox_image.sh"
require_busybox_tools() { require_cmd umoci busybox; }

# push_busybox_image NAME:TAG -> $REGISTRY/NAME:TAG
push_busybox_image() {
  require_cmd skopeo
  [[ -n "${REGISTRY:-}" ]] || start_registry
  local ref=$1 layout="$T/oci-busybox"
  require_busybox_tools
  [[ -d "$layout" ]] || build_busybox_layout "$layout" latest
  skopeo copy --quiet --dest-tls-verify=false "oci:$layout:latest" "docker://$REGISTRY/$ref" >/dev/null
}

harness_cleanup() {
  local rc=$?
  set +e
  # berthd first: left running, its restart monitor (or a late exit) could start a shim again
  # after the sweep below.
  [[ -n "$BERTHD_PID" ]] && kill -KILL "$BERTHD_PID" 2>/dev/null
  # Containers of this test's namespace, whoever started them.
  local rroot
  for rroot in "/run/containerd/runc/$CONTAINERD_NAMESPACE" "$T/runc"; do
    if [[ -d "$rroot" ]]; then
      local id
      for id in $(runc --root "$rroot" list -q 2>/dev/null); do
        runc --root "$rroot" kill "$id" KILL >/dev/null 2>&1
        runc --root "$rroot" delete -f "$id" >/dev/null 2>&1
      done
      rm -rf "$rroot"
    fi
  done
  # The berth CLI's detached health monitors of this namespace.
  pkill -KILL -f -- "-n $CONTAINERD_NAMESPACE .*internal health-monitor" 2>/dev/null
  # Shims and anything else running with a working directory inside $T.
  local p cwd
  for p in /proc/[0-9]*; do
    cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
    [[ "$cwd" == "$T"* ]] && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  [[ -n "$BERTHD_PID" ]] && kill -KILL "$BERTHD_PID" 2>/dev/null
  [[ -n "$REGISTRY_PID" ]] && kill -KILL "$REGISTRY_PID" 2>/dev/null
  local pid
  for pid in "${HARNESS_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  # Mounts under $T, deepest first.
  local m
  for m in $(awk -v t="$T" '$5 ~ "^"t {print $5}' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null
  done
  ip link delete "$HARNESS_BRIDGE" 2>/dev/null
  [[ -n "$HARNESS_IP_FORWARD" ]] && echo "$HARNESS_IP_FORWARD" >/proc/sys/net/ipv4/ip_forward 2>/dev/null
  # cgroups of this namespace (runc leaves /<ns> parents behind, as containerd does).
  for m in /sys/fs/cgroup/*/"$CONTAINERD_NAMESPACE" /sys/fs/cgroup/"$CONTAINERD_NAMESPACE"; do
    [[ -d "$m" ]] && find "$m" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  if [[ $rc -ne 0 && $rc -ne 77 && -n "${BERTH_KEEP_FAILED:-}" ]]; then
    log "keeping $T for inspection"
  else
    rm -rf "$T"
  fi
  exit $rc
}
trap harness_cleanup EXIT

# start_dockerd [ARGS]: Debian's dockerd on private paths under $T, using berthd ($SOCK) as its
# containerd: no bridge, no iptables rules, no own containerd, its trust key and config file in $T,
# containers' cgroups under /<namespace>-docker, $REGISTRY as an insecure registry. Sets DSOCK
# (its API socket) and DOCKERD_PID; `dk ARGS...` runs /usr/bin/docker against it. On exit, dockerd,
# its containers (runc state under $T/docker-exec), their cgroups, the bridges a test listed in
# $T/docker-bridges (one name a line) and /run/docker/plugins if it made it are removed first.
DOCKERD_PID=""
DOCKERD_MADE_RUN_DIR=""
start_dockerd() {
  require_cmd dockerd /usr/bin/docker
  # dockerd always makes /run/docker/plugins (its plugins' exec root, no flag moves it); it is
  # removed on exit when this test made it.
  [[ -e /run/docker || -n "$DOCKERD_MADE_RUN_DIR" ]] || DOCKERD_MADE_RUN_DIR=1
  DSOCK="$T/docker.sock"
  mkdir -p "$T/docker" "$T/docker-exec" "$T/docker-config"
  printf '{"deprecated-key-path": "%s"}\n' "$T/docker-key.json" >"$T/docker-daemon.json"
  local reg=()
  [[ -n "${REGISTRY:-}" ]] && reg=(--insecure-registry "$REGISTRY")
  dockerd --config-file "$T/docker-daemon.json" --data-root "$T/docker" --exec-root "$T/docker-exec" \
    -H "unix://$DSOCK" --pidfile "$T/docker.pid" --containerd "$SOCK" \
    --bridge=none --iptables=false --ip-masq=false --ip6tables=false --ip-forward=false --userland-proxy=false \
    --cgroup-parent "/$CONTAINERD_NAMESPACE-docker" "${reg[@]}" "$@" >>"$T/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  HARNESS_PIDS+=("$DOCKERD_PID")
  trap harness_dockerd_cleanup EXIT
  wait_for 60 dk version || { tail -n 30 "$T/dockerd.log" >&2; fail "dockerd did not become ready"; }
}
dk() { DOCKER_CONFIG="$T/docker-config" /usr/bin/docker -H "unix://$DSOCK" "$@"; }
harness_dockerd_cleanup() {
  local rc=$?
  set +e
  [[ -n "$DOCKERD_PID" ]] && kill -KILL "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
  local rroot id
  for rroot in $(find "$T/docker-exec" -name state.json -printf '%h\n' 2>/dev/null | xargs -r -n1 dirname | sort -u); do
    for id in $(runc --root "$rroot" list -q 2>/dev/null); do
      runc --root "$rroot" kill "$id" KILL >/dev/null 2>&1
      runc --root "$rroot" delete -f "$id" >/dev/null 2>&1
    done
  done
  local b
  for b in $(cat "$T/docker-bridges" 2>/dev/null); do ip link delete "$b" 2>/dev/null; done
  [[ -n "$DOCKERD_MADE_RUN_DIR" ]] && rmdir /run/docker/plugins /run/docker 2>/dev/null
  local m
  for m in /sys/fs/cgroup/*/"$CONTAINERD_NAMESPACE-docker"; do
    [[ -d "$m" ]] && find "$m" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  (exit "$rc")
  harness_cleanup
}

# shim_of ID: pid of the shim serving task ID of berthd ($STATE) in this test's namespace (its
# working directory is the task's bundle), "" when none.
shim_of() {
  local bundle="$STATE/io.containerd.runtime.v2.task/$CONTAINERD_NAMESPACE/$1" p
  for p in /proc/[0-9]*; do
    [[ "$(readlink "$p/cwd" 2>/dev/null)" == "$bundle" ]] || continue
    [[ "$(tr '\0' ' ' <"$p/cmdline")" == *" -id $1 "* ]] || continue
    echo "${p#/proc/}"
    return
  done
}
