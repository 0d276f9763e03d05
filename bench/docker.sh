#!/bin/bash
# Docker Engine on berthd against Docker Engine on containerd 1.6, side by side in one run: two
# Debian dockerd 20.10 instances on private paths (own --data-root, --exec-root, -H, --pidfile; no
# bridge, no iptables), one with `--containerd` at berthd, one at containerd (temporary roots, CRI
# disabled), the same busybox image imported into each, every container with `--network none`.
#   1. `docker run --rm IMG true`, N times on each: mean, median and the ratio.
#   2. M `docker run -d IMG sleep` on each: then the PSS of the runtime daemon, of its shims (sum
#      and mean) and of the two together, and the ratio; dockerd's own PSS printed beside (the same
#      program on both sides).
# Prints figures and ratios; never fails on a number. Needs root, dockerd and containerd.
#   BERTH_BIN=build/bin bench/docker.sh [N=20] [M=20]
set -u
N=${1:-20}
M=${2:-20}
BERTH_SRC=${BERTH_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BERTH_BIN=${BERTH_BIN:-$BERTH_SRC/build/bin}
source "$BERTH_SRC/bench/lib/common.sh"
set +e
command -v dockerd >/dev/null && [[ -x /usr/bin/docker ]] || { say "dockerd (docker.io) not installed"; exit 1; }

DOCKERD_PIDS=()
MADE_RUN_DOCKER=""
[[ -e /run/docker ]] || MADE_RUN_DOCKER=1

# start_dockerd NAME CONTAINERD_SOCK: dockerd on $B/NAME; its API socket is $B/NAME/docker.sock.
start_dockerd() {
  local d="$B/$1"
  mkdir -p "$d/data" "$d/exec" "$d/config"
  printf '{"deprecated-key-path": "%s"}\n' "$d/key.json" >"$d/daemon.json"
  dockerd --config-file "$d/daemon.json" --data-root "$d/data" --exec-root "$d/exec" \
    -H "unix://$d/docker.sock" --pidfile "$d/docker.pid" --containerd "$2" \
    --bridge=none --iptables=false --ip-masq=false --ip6tables=false --ip-forward=false \
    --userland-proxy=false --cgroup-parent "/bench$$-$1" >>"$d/dockerd.log" 2>&1 &
  DOCKERD_PIDS+=($!)
  eval "${1}_DOCKERD_PID=$!"
  for _ in $(seq 600); do dk "$1" version >/dev/null 2>&1 && return 0; sleep 0.1; done
  say "dockerd $1 did not start"; tail -n 20 "$d/dockerd.log" >&2; return 1
}
dk() { local n=$1; shift; DOCKER_CONFIG="$B/$n/config" /usr/bin/docker -H "unix://$B/$n/docker.sock" "$@"; }

docker_cleanup() {
  set +e
  local n p r id
  for n in onberth onctrd; do
    [[ -S "$B/$n/docker.sock" ]] && dk "$n" rm -f $(dk "$n" ps -aq 2>/dev/null) >/dev/null 2>&1
  done
  for p in "${DOCKERD_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${DOCKERD_PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
  done
  for r in $(find "$B"/on*/exec -name state.json -printf '%h\n' 2>/dev/null | xargs -r -n1 dirname | sort -u); do
    for id in $(runc --root "$r" list -q 2>/dev/null); do runc --root "$r" delete -f "$id" >/dev/null 2>&1; done
  done
  for n in onberth onctrd; do
    for p in /sys/fs/cgroup/*/"bench$$-$n" /sys/fs/cgroup/"bench$$-$n"; do
      [[ -d "$p" ]] && find "$p" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
  done
  [[ -n "$MADE_RUN_DOCKER" ]] && rmdir /run/docker/plugins /run/docker 2>/dev/null
  bench_cleanup
}
trap docker_cleanup EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mean() { awk '{s+=$1} END {printf "%.1f", s/NR}'; }

bench_start_berthd "$B/berth" || exit 1
bench_start_containerd "$B/ctrd" || { say "containerd not installed"; exit 1; }
bench_busybox_image || exit 1  # builds $B/ocibundle (the rootfs imported below)
start_dockerd onberth "$BERTH_SOCK" || exit 1
start_dockerd onctrd "$CTRD_SOCK" || exit 1
IMG=bench-busybox:latest
for n in onberth onctrd; do
  tar -C "$B/ocibundle/rootfs" -c . | dk "$n" import -c 'ENV PATH=/bin' - "$IMG" >/dev/null || { say "docker import on $n failed"; exit 1; }
done

run_series() {  # NAME -> one ms figure per line
  local n=$1 i t0
  dk "$n" run --rm --network none "$IMG" true >/dev/null || say "warm-up run on $n failed"
  for i in $(seq "$N"); do
    t0=$(now_ms)
    dk "$n" run --rm --network none "$IMG" true >/dev/null
    echo $(($(now_ms) - t0))
  done
}
say "docker run --rm IMG true, $N runs on each"
b_ms=$(run_series onberth)
c_ms=$(run_series onctrd)
bm=$(median <<<"$b_ms"); cm=$(median <<<"$c_ms")
printf '%-34s mean %7s ms  median %7s ms\n' "docker on berthd: run --rm true" "$(mean <<<"$b_ms")" "$bm"
printf '%-34s mean %7s ms  median %7s ms\n' "docker on containerd: run --rm true" "$(mean <<<"$c_ms")" "$cm"
printf 'ratio docker run --rm berthd/containerd (median): %s\n' "$(ratio "$bm" "$cm")"

say "$M detached containers on each (docker run -d, one after another)"
for n in onberth onctrd; do
  for i in $(seq "$M"); do dk "$n" run -d --network none "$IMG" sleep 100000 >/dev/null || say "run -d $i on $n failed"; done
done
sleep 2
shim_pss_sum() {
  local p s=0
  for p in $(bench_shim_pids "$1"); do s=$((s + $(pss_kb "$p"))); done
  echo "$s"
}
b_d=$(pss_kb "$BERTHD_PID"); c_d=$(pss_kb "$CTRD_PID")
b_s=$(shim_pss_sum "$B/berth/state"); c_s=$(shim_pss_sum "$B/ctrd/state")
b_n=$(bench_shim_pids "$B/berth/state" | wc -l); c_n=$(bench_shim_pids "$B/ctrd/state" | wc -l)
printf 'with %d docker containers each:\n' "$M"
printf '  berthd     %6d kB + %2d shims %6d kB (mean %d kB) [%s] = %6d kB\n' "$b_d" "$b_n" "$b_s" \
  "$((b_n > 0 ? b_s / b_n : 0))" "$(bench_shim_binaries "$B/berth/state")" "$((b_d + b_s))"
printf '  containerd %6d kB + %2d shims %6d kB (mean %d kB) [%s] = %6d kB\n' "$c_d" "$c_n" "$c_s" \
  "$((c_n > 0 ? c_s / c_n : 0))" "$(bench_shim_binaries "$B/ctrd/state")" "$((c_d + c_s))"
printf '  dockerd (beside; not counted): on berthd %d kB, on containerd %d kB\n' \
  "$(pss_kb "$onberth_DOCKERD_PID")" "$(pss_kb "$onctrd_DOCKERD_PID")"
printf 'ratio runtime daemon + shims PSS berthd/containerd: %s\n' "$(ratio "$((b_d + b_s))" "$((c_d + c_s))")"
