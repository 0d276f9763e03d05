#!/bin/bash
# Container start latency and memory: berthd vs containerd 1.6 (temporary roots, CRI disabled,
# same busybox image, same runc) vs bare `runc run`, through the stock ctr and its DEFAULT runtime
# (no --runtime: io.containerd.runc.v2 on both daemons; on berthd that name runs whatever shim its
# config maps it to, which the figures name).
#   1. `ctr run --rm IMG id echo hi`, N times each (and `berth run --rm IMG echo hi` on berthd),
#      against `runc run` of the same bundle (the floor): mean and median wall time and ratios.
#   2. M `ctr run -d IMG id sleep` on each daemon: wall time per container and ratio; then daemon
#      RSS and mean shim PSS with M containers, and ratios.
# Prints figures and ratios; never fails on a number. Needs root.
#   BERTH_BIN=build/bin bench/run_latency.sh [N=20] [M=50] [RUNTIME (berthd only; default: ctr's default)]
set -u
N=${1:-20}
M=${2:-50}
RT=${3:-}
BERTH_SRC=${BERTH_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BERTH_BIN=${BERTH_BIN:-$BERTH_SRC/build/bin}
source "$BERTH_SRC/bench/lib/common.sh"
set +e

bench_start_berthd "$B/berth" || exit 1
bench_start_containerd "$B/ctrd" || { say "containerd not installed"; exit 1; }
bench_busybox_image "$BERTH_SOCK" "$CTRD_SOCK" || exit 1
BRT=()
[[ -n "$RT" ]] && BRT=(--runtime "$RT")
RT_LABEL=${RT:-default runtime}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mean() { awk '{s+=$1} END {printf "%.1f", s/NR}'; }

run_series() {  # sock prefix [ctr run flags...] -> one ms figure per line
  local sock=$1 pre=$2 i t0
  shift 2
  ctr -a "$sock" run "$@" --rm "$IMG" "${pre}warm" echo hi >/dev/null
  for i in $(seq "$N"); do
    t0=$(now_ms)
    ctr -a "$sock" run "$@" --rm "$IMG" "$pre$i" echo hi >/dev/null
    echo $(($(now_ms) - t0))
  done
}

berth_cli_series() {  # the same through the berth CLI -> one ms figure per line
  local i t0
  local cli=("$BERTH_BIN/berth" -a "$BERTH_SOCK" -n "$CONTAINERD_NAMESPACE" --fifo-dir "$B/fifo")
  "${cli[@]}" run --rm "${BRT[@]}" "$IMG" echo hi >/dev/null
  for i in $(seq "$N"); do
    t0=$(now_ms)
    "${cli[@]}" run --rm "${BRT[@]}" "$IMG" echo hi >/dev/null
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

say "ctr run --rm echo hi, $N runs each (berthd: $RT_LABEL; containerd: default runtime)"
berth_ms=$(run_series "$BERTH_SOCK" b "${BRT[@]}")
ctrd_ms=$(run_series "$CTRD_SOCK" c)
cli_ms=$(berth_cli_series)
runc_ms=$(runc_series)
bm=$(median <<<"$berth_ms"); cm=$(median <<<"$ctrd_ms"); rm_=$(median <<<"$runc_ms"); lm=$(median <<<"$cli_ms")
printf '%-36s mean %7s ms  median %7s ms\n' "berthd ctr run --rm ($RT_LABEL)" "$(mean <<<"$berth_ms")" "$bm"
printf '%-36s mean %7s ms  median %7s ms\n' "berth run --rm (CLI, ${RT:-its default runtime})" "$(mean <<<"$cli_ms")" "$lm"
printf '%-36s mean %7s ms  median %7s ms\n' "containerd ctr run --rm (default)" "$(mean <<<"$ctrd_ms")" "$cm"
printf '%-36s mean %7s ms  median %7s ms\n' "bare runc run (floor)" "$(mean <<<"$runc_ms")" "$rm_"
printf 'ratio ctr run --rm berthd/containerd (median): %s   berthd/runc: %s   containerd/runc: %s\n' \
  "$(ratio "$bm" "$cm")" "$(ratio "$bm" "$rm_")" "$(ratio "$cm" "$rm_")"
printf 'ratio berth run/ctr run on containerd (median): %s\n' "$(ratio "$lm" "$cm")"

detached() {  # sock prefix [flags] -> total ms for M detached runs
  local sock=$1 pre=$2 i t0
  shift 2
  t0=$(now_ms)
  for i in $(seq "$M"); do
    ctr -a "$sock" run -d "$@" "$IMG" "$pre$i" sleep 100000 >/dev/null || say "run $pre$i failed"
  done
  echo $(($(now_ms) - t0))
}
say "$M detached containers on each daemon (ctr run -d, one after another)"
bd_ms=$(detached "$BERTH_SOCK" bd "${BRT[@]}")
cd_ms=$(detached "$CTRD_SOCK" cd)
bd_per=$(awk -v t="$bd_ms" -v m="$M" 'BEGIN {printf "%.1f", t / m}')
cd_per=$(awk -v t="$cd_ms" -v m="$M" 'BEGIN {printf "%.1f", t / m}')
printf 'ctr run -d per container: berthd (%s) %s ms, containerd (default) %s ms, ratio %s\n' \
  "$RT_LABEL" "$bd_per" "$cd_per" "$(ratio "$bd_per" "$cd_per")"
sleep 2
b_rss=$(rss_kb "$BERTHD_PID"); c_rss=$(rss_kb "$CTRD_PID")
b_pss=$(bench_shim_pss_mean "$B/berth/state"); c_pss=$(bench_shim_pss_mean "$B/ctrd/state")
printf 'daemon RSS with %d containers: berthd %d kB, containerd %d kB, ratio %s\n' "$M" "$b_rss" "$c_rss" "$(ratio "$b_rss" "$c_rss")"
printf 'mean shim PSS with %d containers: berthd %d kB [%s], containerd %d kB [%s], ratio %s\n' "$M" \
  "$b_pss" "$(bench_shim_binaries "$B/berth/state")" "$c_pss" "$(bench_shim_binaries "$B/ctrd/state")" "$(ratio "$b_pss" "$c_pss")"
for i in $(seq "$M"); do
  ctr -a "$BERTH_SOCK" tasks kill -s SIGKILL "bd$i" >/dev/null 2>&1
  ctr -a "$CTRD_SOCK" tasks kill -s SIGKILL "cd$i" >/dev/null 2>&1
done
