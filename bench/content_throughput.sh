#!/usr/bin/env bash
# Content store throughput through the stock ctr: ingest a 1 GiB blob from stdin and read it
# back (ctr content get), on berthd and, when installed, on containerd 1.6 (temporary root, CRI
# disabled). Both roots sit side by side on one journaled ext4 loop filesystem. Also records
# berthd's resident memory during the ingest, to show it stays flat whatever the blob size.
#
#   sudo BERTH_BIN=build/bin bench/content_throughput.sh [SIZE_MIB]
source "$(dirname "$0")/lib/common.sh"

SIZE_MIB=${1:-1024}
bench_loopfs 8
say "generating ${SIZE_MIB} MiB of random data"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$B/blob"
DIGEST="sha256:$(sha256sum "$B/blob" | cut -d' ' -f1)"

# run_one NAME SOCK PID: prints "ingest_ms read_ms" on stdout; memory figures to stderr.
run_one() {
  local name=$1 sock=$2 pid=$3 t0 t1 t2 peak=0 rss
  sync
  echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  cat "$B/blob" >/dev/null  # the source file cached for both daemons alike
  local rss0
  rss0=$(rss_kb "$pid")
  (
    while kill -0 "$pid" 2>/dev/null; do
      rss_kb "$pid"
      sleep 0.1
    done
  ) >"$B/$name.rss" &
  local sampler=$!
  t0=$(now_ms)
  ctr -a "$sock" content ingest --expected-digest "$DIGEST" "bench-$name" <"$B/blob"
  t1=$(now_ms)
  kill "$sampler" 2>/dev/null
  wait "$sampler" 2>/dev/null || true
  peak=$(sort -n "$B/$name.rss" | tail -1)
  ctr -a "$sock" content get "$DIGEST" >/dev/null
  t2=$(now_ms)
  local got
  got="sha256:$(ctr -a "$sock" content get "$DIGEST" | sha256sum | cut -d' ' -f1)"
  [[ "$got" == "$DIGEST" ]] || say "WARNING: $name returned different bytes"
  say "$name: RSS before ingest ${rss0} kB, peak during ingest ${peak} kB, VmHWM $(awk '/^VmHWM:/ {print $2}' /proc/$pid/status) kB"
  echo "$((t1 - t0)) $((t2 - t1))"
}

mbps() { awk -v mib="$SIZE_MIB" -v ms="$1" 'BEGIN { printf "%.1f", mib * 1.048576 / (ms / 1000) }'; }

bench_start_berthd "$FS/berth"
read -r b_ing b_read < <(run_one berth "$BERTH_SOCK" "$BERTHD_PID")
printf '%-12s ingest %8s MB/s (%s ms)   read %8s MB/s (%s ms)\n' berthd "$(mbps "$b_ing")" "$b_ing" \
  "$(mbps "$b_read")" "$b_read"

if bench_start_containerd "$FS/containerd"; then
  read -r c_ing c_read < <(run_one containerd "$CTRD_SOCK" "$CTRD_PID")
  printf '%-12s ingest %8s MB/s (%s ms)   read %8s MB/s (%s ms)\n' containerd "$(mbps "$c_ing")" "$c_ing" \
    "$(mbps "$c_read")" "$c_read"
  printf 'berth/containerd throughput ratio: ingest %s  read %s  (>1 means berth is faster)\n' \
    "$(ratio "$c_ing" "$b_ing")" "$(ratio "$c_read" "$b_read")"
else
  say "containerd not installed: berth figures only"
fi
