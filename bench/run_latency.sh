#!/bin/bash
# Container start latency and memory: berthd vs containerd 1.6 (temporary roots, CRI disabled,
# same busybox image, same runc) vs bare `runc run`.
#   1. `ctr run --rm IMG id echo hi`, N times each (and `berth run --rm IMG echo hi` on berthd):
#      mean and median wall time.
#   2. M detached containers (sleep) on each daemon: daemon RSS, mean shim PSS.
# Prints figures and ratios; never fails on a number. Needs root.
#   BERTH_BIN=build/bin bench/run_latency.sh [N=20] [M=50] [RUNTIME=io.containerd.berth.v2]
set -u
N=${1:-20}
M=${2:-50}
RT=${3:-io.containerd.berth.v2}
BERTH_SRC=${BERTH_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BERTH_BIN=${BERTH_BIN:-$BERTH_SRC/build/bin}
source "$BERTH_SRC/bench/lib/common.sh"
export CONTAINERD_NAMESPACE=bench$$
B=$(mktemp -d /tmp/berth-bench-run.XXXXXX)
BENCH_PIDS=()
trap bench_cleanup EXIT

# Image: a busybox-static OCI layout built with umoci, imported into both daemons.
oci="$B/oci"
umoci init --layout "$oci" && umoci new --image "$oci:latest" &&
  umoci unpack --image "$oci:latest" "$B/ocibundle" >/dev/null || exit 1
mkdir -p "$B/ocibundle/rootfs/bin" "$B/ocibundle/rootfs/tmp"
cp "$(readlink -f /usr/bin/busybox)" "$B/ocibundle/rootfs/bin/busybox"
for t in sh echo sleep true; do ln -sf busybox "$B/ocibundle/rootfs/bin/$t"; done
umoci repack --image "$oci:latest" "$B/ocibundle" >/dev/null &&
  umoci config --image "$oci:latest" --config.cmd /bin/sh --config.env PATH=/bin >/dev/null || exit 1
tar -C "$oci" -cf "$B/busybox.tar" .
IMG=docker.io/library/bench-busybox:latest

bench_start_berthd "$B/berth" || exit 1
bench_start_containerd "$B/ctrd" || { say "containerd not installed"; exit 1; }
for sock in "$BERTH_SOCK" "$CTRD_SOCK"; do
  ctr -a "$sock" images import --base-name docker.io/library/bench-busybox "$B/busybox.tar" >/dev/null || exit 1
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mean() { awk '{s+=$1} END {printf "%.1f", s/NR}'; }

run_series() {  # sock runtime prefix -> one ms figure per line
  local sock=$1 rt=$2 pre=$3 i t0
  ctr -a "$sock" run --runtime "$rt" --rm "$IMG" "${pre}warm" echo hi >/dev/null
  for i in $(seq "$N"); do
    t0=$(now_ms)
    ctr -a "$sock" run --runtime "$rt" --rm "$IMG" "$pre$i" echo hi >/dev/null
    echo $(($(now_ms) - t0))
  done
}

berth_cli_series() {  # the same through the berth CLI -> one ms figure per line
  local i t0
  local cli=("$BERTH_BIN/berth" -a "$BERTH_SOCK" -n "$CONTAINERD_NAMESPACE" --fifo-dir "$B/fifo")
  "${cli[@]}" run --rm --runtime "$RT" "$IMG" echo hi >/dev/null
  for i in $(seq "$N"); do
    t0=$(now_ms)
    "${cli[@]}" run --rm --runtime "$RT" "$IMG" echo hi >/dev/null
    echo $(($(now_ms) - t0))
  done
}

runc_series() {
  local bundle="$B/runcbundle" i t0
  mkdir -p "$bundle"
  cp -a "$B/ocibundle/rootfs" "$bundle/"
  (cd "$bundle" && runc spec && sed -i 's/"sh"/"echo", "hi"/; s/"terminal": true/"terminal": false/' config.json)
  for i in $(seq "$N"); do
    t0=$(now_ms)
    runc --root "$B/runcroot" run --bundle "$bundle" "bench-runc-$$-$i" >/dev/null </dev/null
    echo $(($(now_ms) - t0))
  done
}

say "ctr run --rm echo hi, $N runs each"
berth_ms=$(run_series "$BERTH_SOCK" "$RT" b)
ctrd_ms=$(run_series "$CTRD_SOCK" io.containerd.runc.v2 c)
cli_ms=$(berth_cli_series)
runc_ms=$(runc_series)
bm=$(median <<<"$berth_ms"); cm=$(median <<<"$ctrd_ms"); rm_=$(median <<<"$runc_ms"); lm=$(median <<<"$cli_ms")
printf '%-34s mean %7s ms  median %7s ms\n' "berthd ($RT)" "$(mean <<<"$berth_ms")" "$bm"
printf '%-34s mean %7s ms  median %7s ms\n' "berth run --rm (CLI, $RT)" "$(mean <<<"$cli_ms")" "$lm"
printf '%-34s mean %7s ms  median %7s ms\n' "containerd (runc.v2)" "$(mean <<<"$ctrd_ms")" "$cm"
printf '%-34s mean %7s ms  median %7s ms\n' "bare runc run" "$(mean <<<"$runc_ms")" "$rm_"
printf 'ratio berthd/containerd (median): %s   berthd/runc: %s   containerd/runc: %s\n' \
  "$(ratio "$bm" "$cm")" "$(ratio "$bm" "$rm_")" "$(ratio "$cm" "$rm_")"
printf 'ratio berth run/ctr run on containerd (median): %s\n' "$(ratio "$lm" "$cm")"

shim_pss_mean() {  # state dir -> mean PSS (kB) of processes whose cwd is a bundle below it
  local state=$1 p cwd n=0 sum=0
  for p in /proc/[0-9]*; do
    cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
    [[ "$cwd" == "$state"/io.containerd.runtime.v2.task/* ]] || continue
    [[ "$(readlink "$p/exe")" == *containerd-shim* ]] || continue
    sum=$((sum + $(pss_kb "${p#/proc/}"))); n=$((n + 1))
  done
  [[ $n -gt 0 ]] && echo $((sum / n)) || echo 0
}

say "$M detached containers on each daemon"
for i in $(seq "$M"); do
  ctr -a "$BERTH_SOCK" run -d --runtime "$RT" "$IMG" "bd$i" sleep 100000 >/dev/null || say "berthd run bd$i failed"
  ctr -a "$CTRD_SOCK" run -d "$IMG" "cd$i" sleep 100000 >/dev/null || say "containerd run cd$i failed"
done
sleep 2
b_rss=$(rss_kb "$BERTHD_PID"); c_rss=$(rss_kb "$CTRD_PID")
b_pss=$(shim_pss_mean "$B/berth/state"); c_pss=$(shim_pss_mean "$B/ctrd/state")
printf 'daemon RSS with %d containers: berthd %d kB, containerd %d kB, ratio %s\n' "$M" "$b_rss" "$c_rss" "$(ratio "$b_rss" "$c_rss")"
printf 'mean shim PSS: berthd (%s) %d kB, containerd (runc.v2) %d kB, ratio %s\n' "$RT" "$b_pss" "$c_pss" "$(ratio "$b_pss" "$c_pss")"
for i in $(seq "$M"); do
  ctr -a "$BERTH_SOCK" tasks kill -s SIGKILL "bd$i" >/dev/null 2>&1
  ctr -a "$CTRD_SOCK" tasks kill -s SIGKILL "cd$i" >/dev/null 2>&1
done
