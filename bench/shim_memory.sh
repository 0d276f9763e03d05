#!/bin/bash
# Shim memory, N idle containers (sleep) at a time, mean PSS, RSS and Private_Dirty of each shim
# process (/proc/PID/smaps_rollup), through the stock ctr:
#   1. berthd and containerd 1.6 side by side (temporary roots, CRI disabled), each with ctr's
#      DEFAULT runtime (no --runtime: io.containerd.runc.v2; on berthd that name runs whatever shim
#      its config maps it to, which the figures name): the ratio berthd/containerd;
#   2. under the same containerd, io.containerd.berth.v2 (our shim, from $BERTH_BIN in its PATH)
#      against its default runc-v2 shim.
# Prints figures and ratios; never fails on a number. Needs root. Usage:
#   BERTH_BIN=build/bin bench/shim_memory.sh [N=50]
set -u
N=${1:-50}
BERTH_SRC=${BERTH_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BERTH_BIN=${BERTH_BIN:-$BERTH_SRC/build/bin}
source "$BERTH_SRC/bench/lib/common.sh"
set +e

bench_start_berthd "$B/berth" || exit 1
bench_start_containerd "$B/ctrd" || { say "containerd not installed"; exit 1; }
bench_busybox_image "$BERTH_SOCK" "$CTRD_SOCK" || exit 1

# measure LABEL SOCK STATE PREFIX [ctr run flags...]: prints "LABEL shims binaries PSS RSS Private_Dirty"
measure() {
  local label=$1 sock=$2 state=$3 pre=$4 i p n=0 pss=0 rss=0 priv=0 a b c
  shift 4
  for i in $(seq "$N"); do
    ctr -a "$sock" run -d "$@" "$IMG" "$pre$i" sleep 100000 >/dev/null || say "run $pre$i failed"
  done
  sleep 2
  for p in $(bench_shim_pids "$state"); do
    read -r a b c < <(awk '/^Pss:/{p=$2} /^Rss:/{r=$2} /^Private_Dirty:/{d=$2} END{print p, r, d}' "/proc/$p/smaps_rollup")
    pss=$((pss + a)); rss=$((rss + b)); priv=$((priv + c)); n=$((n + 1))
  done
  local bins
  bins=$(bench_shim_binaries "$state" | tr -s ' ' ',' | sed 's/,$//')
  for i in $(seq "$N"); do ctr -a "$sock" tasks kill -s SIGKILL "$pre$i" >/dev/null 2>&1; done
  sleep 1
  for i in $(seq "$N"); do
    ctr -a "$sock" tasks delete "$pre$i" >/dev/null 2>&1
    ctr -a "$sock" containers rm "$pre$i" >/dev/null 2>&1
  done
  if [[ $n -eq 0 ]]; then
    printf '%-34s %5d %-28s %8s %8s %8s\n' "$label" 0 "-" 0 0 0
  else
    printf '%-34s %5d %-28s %8d %8d %8d\n' "$label" "$n" "${bins:--}" $((pss / n)) $((rss / n)) $((priv / n))
  fi
}

printf '%-34s %5s %-28s %8s %8s %8s\n' "daemon / runtime" shims binary "PSS_kB" "RSS_kB" "PrivD_kB"
BD=$(measure "berthd, default runtime" "$BERTH_SOCK" "$B/berth/state" bd)
echo "$BD"
CD=$(measure "containerd, default runtime" "$CTRD_SOCK" "$B/ctrd/state" cd)
echo "$CD"
CB=$(measure "containerd, io.containerd.berth.v2" "$CTRD_SOCK" "$B/ctrd/state" cb --runtime io.containerd.berth.v2)
echo "$CB"
pss() { awk '{print $(NF-2)}' <<<"$1"; }
printf 'mean shim PSS ratio, default runtime, berthd/containerd: %s\n' "$(ratio "$(pss "$BD")" "$(pss "$CD")")"
printf 'mean shim PSS ratio under containerd, berth.v2/runc.v2: %s\n' "$(ratio "$(pss "$CB")" "$(pss "$CD")")"
