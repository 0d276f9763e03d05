#!/usr/bin/env bash
# ctr images pull into berthd from a real registry: rootfs byte-for-byte equal to umoci's unpack
# (multi-layer with whiteout + opaque dir, gzip and zstd, a multi-platform index), images
# ls/check/rm, GC of blobs and snapshots, a second pull downloading nothing, a hostile layer.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
source "$BERTH_SRC/tests/integration/lib/images.sh"
require_root
require_cmd ctr umoci skopeo docker-registry busybox python3

start_registry
start_berthd

blob_dir() { echo "$ROOT/io.containerd.content.v1.content/blobs/sha256"; }

# 1. A one-layer busybox image.
log "busybox: pull"
build_busybox_layout "$T/oci-busybox" latest
push_layout "$T/oci-busybox" latest test/busybox:latest
bctr images pull --plain-http "$REGISTRY/test/busybox:latest" >"$T/pull1.out"
out=$(bctr images ls)
assert_contains "$out" "$REGISTRY/test/busybox:latest" "images ls"
check_rootfs "$T/oci-busybox" latest

# 2. Multi-layer: whiteout, opaque dir, hard link, symlink, owners and modes.
log "multi-layer: pull"
build_multilayer_layout "$T/oci-multi" latest
push_layout "$T/oci-multi" latest test/multi:gzip
bctr images pull --plain-http "$REGISTRY/test/multi:gzip" >/dev/null
check_rootfs "$T/oci-multi" latest
! grep -q '^./data/old ' "$T/got-oci-multi-latest" || fail "whited-out file is visible"
grep -q '^./data/opaque/new ' "$T/got-oci-multi-latest" || fail "file of the opaque layer missing"
! grep -q '^./data/opaque/gone ' "$T/got-oci-multi-latest" || fail "opaque dir kept a lower file"
out=$(bctr images check)
assert_contains "$out" "complete" "images check"
assert_not_contains "$out" "incomplete" "images check"

# 3. The same image with zstd layers.
log "zstd: pull"
push_layout "$T/oci-multi" latest test/multi:zstd --dest-compress-format zstd
bctr images pull --plain-http "$REGISTRY/test/multi:zstd" >/dev/null
# The uncompressed layers are the same, so the snapshots are shared: check the content.
out=$(bctr content ls)
assert_contains "$out" "containerd.io/uncompressed" "layers labelled with their diffID"

# 4. A multi-platform index: linux/amd64 is chosen.
log "index: pull"
build_index_layout "$T/oci-index" multi
push_layout "$T/oci-index" multi test/index:multi --all
bctr images pull --plain-http "$REGISTRY/test/index:multi" >/dev/null
# umoci cannot unpack an index: compare with the amd64 manifest it must have chosen.
check_rootfs "$T/oci-index" amd64

# 5. A second pull downloads nothing: no blob file is rewritten.
log "second pull"
before=$(ls -li --time-style=full-iso "$(blob_dir)")
bctr images pull --plain-http "$REGISTRY/test/multi:gzip" >/dev/null
after=$(ls -li --time-style=full-iso "$(blob_dir)")
assert_eq "$after" "$before" "blobs rewritten by a second pull"
ingests=$(ls "$ROOT/io.containerd.content.v1.content/ingest" 2>/dev/null | wc -l)
assert_eq "$ingests" "0" "ingests left behind"

# 6. A hostile layer (path traversal) fails cleanly: nothing outside, no active snapshot left.
log "hostile layer"
build_hostile_layout "$T/oci-evil" latest traversal
push_layout "$T/oci-evil" latest test/evil:latest
rm -f /tmp/berth-escape-traversal
if bctr images pull --plain-http "$REGISTRY/test/evil:latest" >"$T/evil.out" 2>&1; then
  fail "pull of a hostile layer succeeded"
fi
log "hostile pull failed as expected: $(tail -1 "$T/evil.out")"
[[ ! -e /tmp/berth-escape-traversal ]] || fail "a layer wrote outside its snapshot"
[[ ! -e "$ROOT/escape2" && ! -e "$ROOT/io.containerd.snapshotter.v1.overlayfs/snapshots/escape2" ]] ||
  fail "escape2 written outside"
active=$(bctr snapshots ls | awk '$3=="Active"' | wc -l)
assert_eq "$active" "0" "active extract snapshot left after a failed unpack"

# 7. rm + GC: blobs and snapshots are gone.
log "rm and GC"
# shellcheck disable=SC2046
bctr images rm --sync $(bctr images ls -q) >/dev/null
# Leases from the pulls are gone, so a sync delete of the last image collected everything.
wait_for 10 bash -c "[[ -z \"\$(ctr --address $SOCK content ls -q)\" ]]" || fail "blobs left: $(bctr content ls -q)"
wait_for 10 bash -c "[[ -z \"\$(ctr --address $SOCK snapshots ls | tail -n +2)\" ]]" ||
  fail "snapshots left: $(bctr snapshots ls)"
left=$(ls "$(blob_dir)" | wc -l)
assert_eq "$left" "0" "blob files left on disk"
log "PASS"
