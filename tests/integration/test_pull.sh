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

# top_chain LAYOUT TAG: chain ID of the image's top layer (from the config's diff_ids).
top_chain() {
  python3 - "$1" "$2" <<'PY'
import hashlib, json, os, sys
d, tag = sys.argv[1], sys.argv[2]
blob = lambda dg: json.load(open(os.path.join(d, "blobs", *dg.split(":"))))
idx = json.load(open(os.path.join(d, "index.json")))
m = next(x for x in idx["manifests"] if x.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
m = blob(m["digest"])
if "manifests" in m:
    m = blob(next(x for x in m["manifests"] if x["platform"]["architecture"] == "amd64")["digest"])
chain = None
for d_ in blob(m["config"]["digest"])["rootfs"]["diff_ids"]:
    chain = d_ if chain is None else "sha256:" + hashlib.sha256(f"{chain} {d_}".encode()).hexdigest()
print(chain)
PY
}

# check_rootfs LAYOUT TAG: the committed top snapshot, mounted through a view, equals umoci's unpack.
check_rootfs() {
  local layout=$1 tag=$2 name
  name=$(basename "$layout")-$tag
  local chain
  chain=$(top_chain "$layout" "$tag")
  mkdir -p "$T/mnt-$name" "$T/umoci-$name"
  bctr snapshots view "view-$name" "$chain" >/dev/null
  eval "$(bctr snapshots mounts "$T/mnt-$name" "view-$name")"
  umoci_rootfs "$layout" "$tag" "$T/umoci-$name/bundle"
  tree_listing "$T/umoci-$name/bundle/rootfs" >"$T/want-$name"
  tree_listing "$T/mnt-$name" >"$T/got-$name"
  diff -r --no-dereference "$T/umoci-$name/bundle/rootfs" "$T/mnt-$name" >"$T/diff-$name" 2>&1 ||
    { cat "$T/diff-$name" >&2; umount "$T/mnt-$name"; fail "rootfs of $name differs from umoci's"; }
  diff "$T/want-$name" "$T/got-$name" >&2 || { umount "$T/mnt-$name"; fail "modes/owners of $name differ"; }
  umount "$T/mnt-$name"
  bctr snapshots rm "view-$name"
  log "rootfs of $name matches umoci unpack ($(wc -l <"$T/got-$name") entries)"
}

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
