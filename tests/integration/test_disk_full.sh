#!/usr/bin/env bash
# Issue 15: berthd's root on a small (64 MiB) ext4 loop filesystem, filled up. A content ingest
# (`ctr content ingest`), a pull whose blobs do not fit (ctr and berth pull) and an unpack whose
# layer does not fit (a small gzip of a large file) each fail with ResourceExhausted and a
# message, and leave no partial blob (no ingest, no new blob that does not verify), no snapshot
# and no image. Everything stored before stays intact: after the space is freed, a container
# runs from the image pulled before, and the same ingest and pulls succeed.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr skopeo docker-registry python3 mkfs.ext4 umoci busybox
BERTH="$BERTH_BIN/berth"
PULL_METHOD=berth.services.images.v1.Images/Pull

# The loop filesystem is mounted at $T/root, so the harness unmounts it (and the loop device,
# attached with autoclear by mount -o loop, goes with it) whatever happens.
truncate -s 64M "$T/disk.img"
mkfs.ext4 -q -m 0 -F "$T/disk.img"
mkdir -p "$T/root"
mount -o loop "$T/disk.img" "$T/root" || skip "cannot mount a loop filesystem"
start_registry
start_berthd --log-level trace
BLOBS="$ROOT/io.containerd.content.v1.content/blobs/sha256"

# Before: an image pulled and a blob ingested.
push_busybox_image test/busybox:latest
bctr_pull "$REGISTRY/test/busybox:latest"
head -c 100000 /dev/urandom >"$T/small.bin"
bctr content ingest small <"$T/small.bin" || fail "ingest of the small blob"
small_dg="sha256:$(sha256sum <"$T/small.bin" | cut -c1-64)"
# A GC root, or the collection after each pull's lease would (rightly) take it.
bctr content label "$small_dg" containerd.io/gc.root=keep >/dev/null

# The images that will not fit: 16 MiB of random bytes (a fetch failure), and 24 MiB of zeros
# gzip'ed to a few KiB (fetched fine, the unpack fails).
mkdir -p "$T/layout"
python3 - "$T/layout" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
out = sys.argv[1]
blobs = os.path.join(out, "blobs", "sha256"); os.makedirs(blobs, exist_ok=True)
def blob(data):
    h = hashlib.sha256(data).hexdigest(); open(os.path.join(blobs, h), "wb").write(data); return "sha256:" + h, len(data)
def tar(name, data):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1700000000; t.addfile(ti, io.BytesIO(data))
    return b.getvalue()
idx = {"schemaVersion": 2, "manifests": []}
for tag, data in (("random", os.urandom(16 << 20)), ("zeros", b"\0" * (24 << 20))):
    t = tar(tag, data); g = gzip.compress(t, mtime=0)
    ld, ls = blob(g)
    cd, cs = blob(json.dumps({"architecture": "amd64", "os": "linux",
                              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(t).hexdigest()]}}).encode())
    md, ms = blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                              "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                              "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld,
                                          "size": ls}]}).encode())
    idx["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
                             "annotations": {"org.opencontainers.image.ref.name": tag}})
json.dump(idx, open(os.path.join(out, "index.json"), "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(out, "oci-layout"), "w"))
PY
for tag in random zeros; do
  skopeo copy --quiet --dest-tls-verify=false "oci:$T/layout:$tag" "docker://$REGISTRY/test/big:$tag" >/dev/null
done
head -c $((24 << 20)) /dev/urandom >"$T/big.bin"

# Fill the filesystem, leaving about 4 MiB.
avail_kb() { df --output=avail -k "$ROOT" | tail -1 | tr -d ' '; }
fill=$(( $(avail_kb) - 4096 ))
((fill > 0)) || fail "the loop filesystem is already full"
fallocate -l "${fill}K" "$ROOT/filler" || fail "fallocate"
log "filesystem filled, $(avail_kb) KiB left"

snapshot_list() { bctr snapshots ls | sort; }
state() {
  bctr images ls -q | sort
  bctr content ls -q | sort
  snapshot_list
  bctr content active 2>&1 | tail -n +2
}
state >"$T/state.before"
check_unchanged() {
  local what=$1 f
  [[ "$(state)" == "$(cat "$T/state.before")" ]] || {
    diff <(state) "$T/state.before" >&2
    fail "$what: the store changed (partial blob, snapshot or image left)"
  }
  for f in "$BLOBS"/*; do
    [[ "$(sha256sum <"$f" | cut -c1-64)" == "$(basename "$f")" ]] || fail "$what: blob $f does not verify"
  done
  out=$(awk -v r="$ROOT/" 'index($5, r) == 1 {print $5}' /proc/self/mountinfo)
  assert_eq "$out" "" "$what: mounts left under the root"
}
# Whole blobs a failed pull fetched before its failure (manifest, config) verify and are removed;
# no other blob may be new.
drop_new_blobs() {
  local b
  for b in $(bctr content ls -q | grep -v -x -F -f <(sed -n '/^sha256:/p' "$T/state.before")); do
    [[ "$(sha256sum <"$BLOBS/${b#sha256:}" | cut -c1-64)" == "${b#sha256:}" ]] || fail "new blob $b does not verify"
    bctr content rm "$b" >/dev/null
  done
}
# expect_exhausted WHAT METHOD CMD...: CMD fails with a "no space" message, and berthd's trace of
# the gRPC call METHOD it served for it shows ResourceExhausted.
expect_exhausted() {
  local what=$1 method=$2 rc=0 from
  shift 2
  from=$(wc -l <"$T/berthd.log")
  "$@" >"$T/out" 2>&1 || rc=$?
  ((rc != 0)) || fail "$what succeeded on a full disk"
  msg=$(tail -3 "$T/out" | tr '\n' ' ')
  log "$what: $msg"
  assert_contains "$msg" "o space left on device" "$what: error message"
  tail -n +"$((from + 1))" "$T/berthd.log" | grep -q "grpc /$method ResourceExhausted" ||
    fail "$what: berthd did not answer $method with ResourceExhausted"
}

expect_exhausted "content ingest" containerd.services.content.v1.Content/Write bash -c "ctr --address $SOCK content ingest big <$T/big.bin"
check_unchanged "content ingest"
expect_exhausted "ctr pull (fetch)" containerd.services.content.v1.Content/Write bctr images pull --plain-http "$REGISTRY/test/big:random"
drop_new_blobs
check_unchanged "ctr pull (fetch)"
expect_exhausted "berth pull (fetch)" "$PULL_METHOD" "$BERTH" --address "$SOCK" pull --plain-http "$REGISTRY/test/big:random"
drop_new_blobs
check_unchanged "berth pull (fetch)"
expect_exhausted "ctr pull (unpack)" containerd.services.diff.v1.Diff/Apply bctr images pull --plain-http "$REGISTRY/test/big:zeros"
# ctr itself records the image after the fetch and before it unpacks (so does it on containerd):
# that record, ctr's, is all that may stay; no snapshot may.
bctr images rm "$REGISTRY/test/big:zeros" >/dev/null 2>&1 || true
drop_new_blobs
check_unchanged "ctr pull (unpack)"
expect_exhausted "berth pull (unpack)" "$PULL_METHOD" "$BERTH" --address "$SOCK" pull --plain-http "$REGISTRY/test/big:zeros"
drop_new_blobs
check_unchanged "berth pull (unpack)"

# Space freed: what was stored before is usable, and the same work now succeeds.
rm -f "$ROOT/filler"
[[ "$(bctr content get "$small_dg" | sha256sum | cut -c1-64)" == "${small_dg#sha256:}" ]] || fail "small blob damaged"
out=$(bctr run --rm "$REGISTRY/test/busybox:latest" "df$$" /bin/echo still-works 2>&1) || fail "run after ENOSPC: $out"
assert_contains "$out" "still-works" "container output"
bctr content ingest big <"$T/big.bin" || fail "ingest after freeing space"
bctr content rm "sha256:$(sha256sum <"$T/big.bin" | cut -c1-64)" >/dev/null
bctr_pull "$REGISTRY/test/big:zeros"
bctr images rm --sync "$REGISTRY/test/big:zeros" >/dev/null  # room for the next one
"$BERTH" --address "$SOCK" pull --plain-http "$REGISTRY/test/big:random" >/dev/null || fail "berth pull after freeing space"
out=$(bctr images check)
assert_not_contains "$out" "incomplete" "images check"
log "PASS"
