#!/usr/bin/env bash
# Layer apply speed: berth's diff applier (libarchive + openat2-confined *at calls, diffID hashed
# on the fly) against GNU tar extracting the same layer (no hashing, no confinement), for a
# gzip and a zstd layer made from /usr (default /usr/include, override with $1). Prints times and
# the berth/tar ratio. Not a test.
#
#   sudo BERTH_BIN=build/bin bench/apply_layer.sh [SOURCE_DIR]
set -euo pipefail
: "${BERTH_BIN:?set BERTH_BIN to <build>/bin}"
SRC=${1:-/usr/include}
B=$(mktemp -d /tmp/berth-bench-apply.XXXXXX)
trap 'rm -rf "$B"' EXIT
say() { printf '%s\n' "$*" >&2; }

say "building layers from $SRC"
tar -C "$SRC" -cf "$B/layer.tar" .
gzip -1 -c "$B/layer.tar" >"$B/layer.tar.gz"
zstd -q -3 -c "$B/layer.tar" >"$B/layer.tar.zst"
entries=$(tar -tf "$B/layer.tar" | wc -l)
size_mb=$(($(stat -c %s "$B/layer.tar") >> 20))
expect="sha256:$(sha256sum "$B/layer.tar" | cut -d' ' -f1)"
say "layer: $entries entries, $size_mb MiB uncompressed"

ms() { date +%s%3N; }
for kind in gz zst; do
  rm -rf "$B/out" && mkdir "$B/out" && sync
  read -r berth_ms digest _ < <("$BERTH_BIN/berth-apply-layer" "$B/layer.tar.$kind" "$B/out")
  [[ "$digest" == "$expect" ]] || { say "diffID mismatch: $digest vs $expect"; exit 1; }
  rm -rf "$B/out" && mkdir "$B/out" && sync
  t0=$(ms)
  if [[ $kind == gz ]]; then tar -C "$B/out" -xzf "$B/layer.tar.gz"; else tar -C "$B/out" --zstd -xf "$B/layer.tar.zst"; fi
  tar_ms=$(($(ms) - t0))
  ratio=$(awk -v a="$berth_ms" -v b="$tar_ms" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  printf '%-4s berth %6d ms   gnu tar %6d ms   berth/tar %s\n' "$kind" "$berth_ms" "$tar_ms" "$ratio"
done
