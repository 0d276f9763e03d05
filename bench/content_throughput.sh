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
# fresh_blob TAG: makes the blob unique (first bytes = TAG) so every run writes a new blob all the way.
fresh_blob() {
  printf '%-16s' "$1" | dd of="$B/blob" conv=notrunc status=none
  DIGEST="sha256:$(sha256sum "$B/blob" | cut -d' ' -f1)"
}

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
min() { printf '%s\n' "$@" | sort -n | head -1; }

bench_start_berthd "$FS/berth"
have_containerd=0
bench_start_containerd "$FS/containerd" && have_containerd=1 || say "containerd not installed: berth figures only"

# Rounds alternate the order (a fresh loop filesystem still initialises itself in the background
# at first). Every run ingests a blob never seen before (containerd deletes bytes only at its
# next garbage collection, and would otherwise share the old ones without a write).
ROUNDS=${ROUNDS:-2}
b_ing=(); b_read=(); c_ing=(); c_read=()
for round in $(seq "$ROUNDS"); do
  order="berth containerd"
  ((round % 2 == 0)) && order="containerd berth"
  for who in $order; do
    fresh_blob "$who-$round"
    if [[ $who == berth ]]; then
      read -r i r < <(run_one berth "$BERTH_SOCK" "$BERTHD_PID")
      b_ing+=("$i"); b_read+=("$r")
      ctr -a "$BERTH_SOCK" content rm "$DIGEST" >/dev/null
    elif ((have_containerd)); then
      read -r i r < <(run_one containerd "$CTRD_SOCK" "$CTRD_PID")
      c_ing+=("$i"); c_read+=("$r")
      ctr -a "$CTRD_SOCK" content rm "$DIGEST" >/dev/null
    fi
  done
  say "round $round: berth ${b_ing[-1]}/${b_read[-1]} ms${c_ing:+, containerd ${c_ing[-1]}/${c_read[-1]} ms} (ingest/read)"
done

bi=$(min "${b_ing[@]}"); br=$(min "${b_read[@]}")
printf '%-12s ingest %8s MB/s (best %s ms)   read %8s MB/s (best %s ms)\n' berthd "$(mbps "$bi")" "$bi" \
  "$(mbps "$br")" "$br"
if ((have_containerd)); then
  ci=$(min "${c_ing[@]}"); cr=$(min "${c_read[@]}")
  printf '%-12s ingest %8s MB/s (best %s ms)   read %8s MB/s (best %s ms)\n' containerd "$(mbps "$ci")" "$ci" \
    "$(mbps "$cr")" "$cr"
  printf 'berth/containerd throughput ratio: ingest %s  read %s  (>1 means berth is faster)\n' \
    "$(ratio "$ci" "$bi")" "$(ratio "$cr" "$br")"
fi
