#!/usr/bin/env bash
# Image pull from a local registry: a ~200 MB image of 5 layers (random data files, built with
# umoci, busybox-static at the bottom), pulled and unpacked
#   - into berthd with `ctr images pull --plain-http` (client-side pull),
#   - into berthd with `berth pull --plain-http` (daemon-side pull, streaming unpack),
#   - into containerd 1.6 (temporary root, CRI disabled) with `ctr images pull --plain-http`,
# with both daemon roots side by side on one journaled ext4 loop filesystem. Each pull starts
# from an empty store (a fresh namespace, with the previous one removed and collected).
#
#   sudo BERTH_BIN=build/bin bench/pull.sh [LAYER_MB]
source "$(dirname "$0")/lib/common.sh"
trap bench_cleanup EXIT

LAYER_MB=${1:-50}
ROUNDS=${ROUNDS:-2}
bench_loopfs 8
bench_registry

say "building a 5-layer image of ~$((LAYER_MB * 5)) MB"
L="$B/oci"
umoci init --layout "$L"
umoci new --image "$L:latest"
umoci unpack --image "$L:latest" "$B/bundle" >/dev/null
mkdir -p "$B/bundle/rootfs/bin"
cp "$(command -v busybox)" "$B/bundle/rootfs/bin/busybox"
umoci repack --image "$L:latest" "$B/bundle" >/dev/null
for i in 1 2 3 4; do
  rm -rf "$B/bundle"
  umoci unpack --image "$L:latest" "$B/bundle" >/dev/null
  mkdir -p "$B/bundle/rootfs/data$i"
  for f in $(seq 1 $((LAYER_MB / 4))); do head -c 4000000 /dev/urandom >"$B/bundle/rootfs/data$i/f$f"; done
  umoci repack --image "$L:latest" "$B/bundle" >/dev/null
done
rm -rf "$B/bundle"
skopeo copy --quiet --dest-tls-verify=false "oci:$L:latest" "docker://$REGISTRY/bench/big:latest" >/dev/null
IMG="$REGISTRY/bench/big:latest"
say "image pushed: $(du -sh "$B/registry" | cut -f1) in the registry"

bench_start_berthd "$FS/berth"
have_containerd=0
bench_start_containerd "$FS/containerd" && have_containerd=1 || say "containerd not installed: berth figures only"

# pull_ms KIND SOCK NS: time of one pull into an empty namespace.
pull_ms() {
  local kind=$1 sock=$2 ns=$3 t0 t1
  sync
  echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  t0=$(now_ms)
  case $kind in
    ctr) ctr -a "$sock" -n "$ns" images pull --plain-http "$IMG" >/dev/null ;;
    berth) "$BERTH_BIN/berth" --address "$sock" --namespace "$ns" pull --plain-http "$IMG" >/dev/null ;;
  esac
  t1=$(now_ms)
  ctr -a "$sock" -n "$ns" images rm --sync "$IMG" >/dev/null
  echo $((t1 - t0))
}
min() { printf '%s\n' "$@" | sort -n | head -1; }

declare -a B_CTR B_BERTH C_CTR
for r in $(seq "$ROUNDS"); do
  B_CTR+=("$(pull_ms ctr "$BERTH_SOCK" "ctr$r")")
  B_BERTH+=("$(pull_ms berth "$BERTH_SOCK" "berth$r")")
  if ((have_containerd)); then C_CTR+=("$(pull_ms ctr "$CTRD_SOCK" "ctrd$r")"); fi
  say "round $r: berthd/ctr ${B_CTR[-1]} ms, berthd/berth ${B_BERTH[-1]} ms${C_CTR:+, containerd/ctr ${C_CTR[-1]} ms}"
done
bc=$(min "${B_CTR[@]}")
bb=$(min "${B_BERTH[@]}")
echo "pull of a 5-layer ~$((LAYER_MB * 5)) MB image (best of $ROUNDS):"
echo "  berthd, ctr pull:     $bc ms"
echo "  berthd, berth pull:   $bb ms"
if ((have_containerd)); then
  cc=$(min "${C_CTR[@]}")
  echo "  containerd, ctr pull: $cc ms"
  echo "  ratio berthd(ctr)/containerd:   $(ratio "$bc" "$cc")"
  echo "  ratio berthd(berth)/containerd: $(ratio "$bb" "$cc")"
fi
echo "  ratio berth pull / ctr pull (berthd): $(ratio "$bb" "$bc")"
