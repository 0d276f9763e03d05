#!/bin/bash
# Memory of containerd-shim-berth-v2 vs containerd-shim-runc-v2 under real containerd 1.6:
# N idle containers (sleep) per runtime, mean PSS and RSS of each shim process from
# /proc/PID/smaps_rollup, and the ratio. Needs root. Usage:
#   BERTH_BIN=build/bin bench/shim_memory.sh [N=50]
set -u
N=${1:-50}
BERTH_SRC=${BERTH_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BERTH_BIN=${BERTH_BIN:-$BERTH_SRC/build/bin}
source "$BERTH_SRC/tests/integration/lib/containerd_env.sh"
C() { timeout 60 ctr --address "$CD_SOCK" -n "$CD_NS" "$@"; }

cd_start || exit 1
cd_import_busybox || exit 1

shim_pids_of() {  # binary name
  for p in $(cd_shim_pids); do
    [ "$(readlink /proc/$p/exe)" != "" ] && basename "$(readlink /proc/$p/exe)" | grep -qx "$1" && echo $p
  done
}

measure() {  # runtime prefix binary
  local rt=$1 pre=$2 bin=$3 i
  for i in $(seq "$N"); do
    C run -d --runtime "$rt" "$CD_IMAGE" "$pre$i" sleep 100000 > /dev/null || echo "run $pre$i failed"
  done
  sleep 2
  local pids; pids=$(shim_pids_of "$bin")
  local n=0 pss=0 rss=0 priv=0
  for p in $pids; do
    read -r a b c < <(awk '/^Pss:/{p=$2} /^Rss:/{r=$2} /^Private_Dirty:/{d=$2} END{print p, r, d}' /proc/$p/smaps_rollup)
    pss=$((pss + a)); rss=$((rss + b)); priv=$((priv + c)); n=$((n + 1))
  done
  [ $n -gt 0 ] || { echo "$bin: no shims found"; return 1; }
  echo "$bin $n $((pss / n)) $((rss / n)) $((priv / n))"
  for i in $(seq "$N"); do
    C tasks kill -s KILL "$pre$i" > /dev/null 2>&1
  done
  sleep 1
  for i in $(seq "$N"); do
    C tasks delete "$pre$i" > /dev/null 2>&1; C containers rm "$pre$i" > /dev/null 2>&1
  done
}

echo "runtime shims mean_PSS_kB mean_RSS_kB mean_Private_Dirty_kB"
B=$(measure io.containerd.berth.v2 b containerd-shim-berth-v2) || exit 1
R=$(measure io.containerd.runc.v2 r containerd-shim-runc-v2) || exit 1
echo "$B"; echo "$R"
bp=$(awk '{print $3}' <<< "$B"); rp=$(awk '{print $3}' <<< "$R")
awk -v b="$bp" -v r="$rp" 'BEGIN { printf "PSS ratio runc-v2 / berth = %.1fx\n", r / b }'
