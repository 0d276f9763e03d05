#!/usr/bin/env bash
# Issue 15: malicious layers, each pushed as an image (a harmless base layer plus the hostile one)
# and pulled twice, through `ctr images pull` (client-side unpack via berthd's Diff service) and
# `berth pull` (berthd's own pull). Every case is either refused with a clear error (the expected
# words are checked) or contained (what it wrote is inside its snapshot). After each pull: a canary
# tree around the snapshot directory ($T, berthd's root, the snapshotter's root) is byte-for-byte
# unchanged, no active snapshot or mount is left behind, `ctr images check` reports no image
# incomplete or missing, and every blob's bytes hash to its name. Decompression bombs are bounded
# by the diff-service limits of berthd's config (a ratio bomb and a size bomb).
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr skopeo docker-registry python3
BERTH="$BERTH_BIN/berth"
[[ -x $BERTH ]] || fail "berth CLI not built"

cat >"$T/berthd.toml" <<'TOML'
version = 2
[plugins."io.containerd.service.v1.diff-service"]
  max_layer_size = 16777216
  max_layer_ratio = 100
  max_layer_ratio_floor = 1048576
TOML
start_registry
start_berthd --config "$T/berthd.toml"
SNAPROOT="$ROOT/io.containerd.snapshotter.v1.overlayfs"
BLOBS="$ROOT/io.containerd.content.v1.content/blobs/sha256"

# The canary tree: files at every level a "../" chain from an upper dir
# (<snaproot>/snapshots/<id>/fs) climbs through.
for d in "$T/canary" "$ROOT/canary" "$SNAPROOT/canary"; do
  mkdir -p "$d/dir"
  echo "canary $d" >"$d/file"
  echo "deep canary" >"$d/dir/file"
done
canary_state() {
  for d in "$T/canary" "$ROOT/canary" "$SNAPROOT/canary"; do
    (cd "$d" && find . -printf '%p %y %m %n %s\n' | sort && find . -type f -exec sha256sum {} + | sort)
  done
  # Nothing a layer names (pwned*, esc, h) anywhere around the snapshots.
  find "$T" -maxdepth 4 \( -path "$SNAPROOT/snapshots" -o -path "$T/registry" -o -path "$T/layout" \) -prune -o \
    \( -name 'pwned*' -o -name esc -o -name h -o -name '*-evil' \) -print
}
canary_state >"$T/canary.before"

# The images: one OCI layout, one tag per case. CASES lists "tag expect" where expect is
# "refuse:<words in the error>" or "contain".
mkdir -p "$T/layout"
python3 - "$T/layout" "$T" <<'PY' >"$T/cases"
import gzip, hashlib, io, json, os, sys, tarfile, zlib

out, T = sys.argv[1], sys.argv[2]
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)

def blob(data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, h), "wb") as f:
        f.write(data)
    return "sha256:" + h, len(data)

def tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e[0]); ti.mtime = 1700000000; ti.mode = 0o644
            kind = e[1]
            if kind == "file":
                ti.size = len(e[2]); t.addfile(ti, io.BytesIO(e[2])); continue
            if kind == "dir": ti.type, ti.mode = tarfile.DIRTYPE, 0o755
            elif kind == "sym": ti.type, ti.linkname = tarfile.SYMTYPE, e[2]
            elif kind == "hard": ti.type, ti.linkname = tarfile.LNKTYPE, e[2]
            elif kind == "chr": ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, e[2], e[3]
            elif kind == "blk": ti.type, ti.devmajor, ti.devminor = tarfile.BLKTYPE, e[2], e[3]
            elif kind == "fifo": ti.type = tarfile.FIFOTYPE
            t.addfile(ti)
    return buf.getvalue()

def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)

base = tar([("etc", "dir"), ("etc/hostname", "file", b"base\n"), ("sub", "dir"), ("sub/file", "file", b"x\n")])
base_gz = gz(base)
C = T + "/canary"  # an absolute path outside the snapshot
cases = {
    # Names that climb out: refused at the first entry that would leave the root.
    "traversal": ("refuse:path escapes the root", [("../pwned", "file", b"p"), ("../../../canary/pwned", "file", b"p"),
                                                    ("../../../../canary/pwned", "file", b"p")]),
    "traversal-inner": ("refuse:path escapes the root", [("sub/../../../../../canary/pwned", "file", b"p")]),
    # Absolute names are relative to the root: contained.
    "absolute": ("contain", [(C + "/pwned", "file", b"p"), ("/etc/pwned", "file", b"p")]),
    # A symlink to "/" (absolute) or climbing "..", then writes through it: resolved inside the root.
    "symlink-abs-write": ("contain", [("esc", "sym", "/"), ("esc" + C + "/pwned", "file", b"p")]),
    "symlink-rel-write": ("contain", [("sub/esc", "sym", "../../../../../../../../.."),
                                      ("sub/esc" + C + "/pwned", "file", b"p")]),
    # A symlink to the canary directory itself: the path does not exist inside the root.
    "symlink-to-outside-write": ("refuse:esc", [("esc", "sym", C), ("esc/pwned", "file", b"p")]),
    "symlink-overwrite": ("contain", [("etc/hostname", "sym", C + "/file"), ("etc/hostname", "file", b"replaced\n")]),
    # Hard links to files outside the root: refused.
    "hardlink-rel": ("refuse:path escapes the root", [("h", "hard", "../../../../canary/file")]),
    "hardlink-abs": ("refuse:hard link target", [("h", "hard", C + "/file")]),
    "hardlink-via-symlink": ("refuse:hard link target", [("esc", "sym", C), ("h", "hard", "esc/file")]),
    # Whiteouts of "..", and through a symlink.
    "whiteout-dotdot": ("refuse:invalid whiteout", [(".wh..", "file", b"")]),
    "whiteout-sub-dotdot": ("refuse:invalid whiteout", [("sub/.wh..", "file", b"")]),
    "whiteout-via-symlink": ("contain", [("esc", "sym", "/"), ("esc" + C + "/.wh.file", "file", b""),
                                         ("esc" + C + "/.wh..wh..opq", "file", b"")]),
    # Device nodes: created inside the snapshot only (as containerd does).
    "devices": ("contain", [("dev", "dir"), ("dev/sda-evil", "blk", 8, 0), ("dev/mem-evil", "chr", 1, 1),
                            ("dev/fifo", "fifo")]),
}
layers = {}
for tag, (expect, entries) in cases.items():
    layers[tag] = (expect, gz(tar(entries)), "application/vnd.oci.image.layer.v1.tar+gzip")
# A ratio bomb: 64 MiB of zeros in one file, gzip'ed to ~64 KiB (ratio ~1000 > 100).
z = zlib.compressobj(9, zlib.DEFLATED, 31)
hdr = tarfile.TarInfo("zeros"); hdr.size = 64 << 20; hdr.mtime = 1700000000
raw = hdr.tobuf(tarfile.PAX_FORMAT)
bomb = z.compress(raw)
chunk = b"\0" * (1 << 20)
for _ in range(64):
    bomb += z.compress(chunk)
bomb += z.compress(b"\0" * 1024) + z.flush()
layers["bomb-ratio"] = ("refuse:decompression bomb", bomb, "application/vnd.oci.image.layer.v1.tar+gzip")
# A size bomb: an uncompressed 20 MiB layer, above max_layer_size (16 MiB).
layers["bomb-size"] = ("refuse:larger than the limit", tar([("big", "file", os.urandom(20 << 20))]),
                       "application/vnd.oci.image.layer.v1.tar")

index = {"schemaVersion": 2, "manifests": []}
bd, bs = blob(base_gz)
for tag, (expect, layer, mt) in layers.items():
    ld, ls = blob(layer)
    diff_ids = ["sha256:" + hashlib.sha256(base).hexdigest(),
                "sha256:" + hashlib.sha256(gzip.decompress(layer) if mt.endswith("gzip") else layer).hexdigest()]
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/true"]},
                      "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cd, cs = blob(cfg)
    m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": bd, "size": bs},
                               {"mediaType": mt, "digest": ld, "size": ls}]}).encode()
    md, ms = blob(m)
    index["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms,
                               "annotations": {"org.opencontainers.image.ref.name": tag}})
    print(tag, expect)
json.dump(index, open(os.path.join(out, "index.json"), "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(os.path.join(out, "oci-layout"), "w"))
PY

check_store() {
  local what=$1 out
  [[ "$(canary_state)" == "$(cat "$T/canary.before")" ]] || {
    diff <(canary_state) "$T/canary.before" >&2
    fail "$what: the canary tree changed"
  }
  out=$(bctr snapshots ls | awk '$3=="Active"' | wc -l)
  assert_eq "$out" "0" "$what: active snapshot left behind"
  out=$(awk -v r="$ROOT" 'index($5, r) == 1 {print $5}' /proc/self/mountinfo)
  assert_eq "$out" "" "$what: mounts left under the root"
  out=$(bctr images check 2>&1) || fail "$what: images check: $out"
  assert_not_contains "$out" "incomplete" "$what: images check"
  assert_not_contains "$out" "missing" "$what: images check"
  local f
  for f in "$BLOBS"/*; do
    [[ -e $f ]] || continue
    [[ "$(sha256sum <"$f" | cut -c1-64)" == "$(basename "$f")" ]] || fail "$what: blob $f does not match its digest"
  done
}
# ctr's own reading of each blob it lists (once, at the end: a ctr call per blob is slow).
verify_content() {
  local f
  for f in $(bctr content ls -q); do
    bctr content get "$f" | sha256sum | grep -q "^${f#sha256:} " || fail "content get $f does not verify"
  done
}

# contained TAG: whatever the layer wrote is inside some snapshot's directory.
contained() {
  local what=$1
  case "$what" in
    absolute | symlink-abs-write | symlink-rel-write)
      find "$SNAPROOT/snapshots" -path "*$T/canary/pwned" | grep -q . || fail "$what: the file is not in the snapshot" ;;
    devices)
      find "$SNAPROOT/snapshots" -path '*/dev/sda-evil' -type b | grep -q . || fail "$what: device node not in the snapshot" ;;
    symlink-overwrite)
      find "$SNAPROOT/snapshots" -path '*/etc/hostname' -type f -exec grep -l replaced {} + | grep -q . ||
        fail "$what: the symlink was not replaced by the file" ;;
  esac
}

pulls=0
while read -r tag expect; do
  ref="$REGISTRY/test/hostile:$tag"
  skopeo copy --quiet --dest-tls-verify=false "oci:$T/layout:$tag" "docker://$ref" >/dev/null
  for via in ctr berth; do
    ns="h-$via"
    if [[ $via == ctr ]]; then
      cmd=(env CONTAINERD_NAMESPACE="$ns" ctr --address "$SOCK" images pull --plain-http "$ref")
    else
      cmd=("$BERTH" --address "$SOCK" --namespace "$ns" pull --plain-http "$ref")
    fi
    rc=0
    "${cmd[@]}" >"$T/out" 2>&1 || rc=$?
    pulls=$((pulls + 1))
    msg=$(tail -3 "$T/out" | tr '\n' ' ')
    case "$expect" in
      refuse:*)
        ((rc != 0)) || fail "$tag via $via: the pull succeeded: $msg"
        assert_contains "$msg" "${expect#refuse:}" "$tag via $via: error message"
        log "$tag via $via: refused: $msg" ;;
      contain)
        ((rc == 0)) || fail "$tag via $via: pull failed: $msg"
        contained "$tag"
        log "$tag via $via: contained" ;;
    esac
    CONTAINERD_NAMESPACE=$ns check_store "$tag via $via"
  done
done <"$T/cases"
log "$pulls pulls checked"
CONTAINERD_NAMESPACE=h-ctr verify_content
CONTAINERD_NAMESPACE=h-berth verify_content

# The refused images unpack nothing, and removing them all leaves a clean store.
for ns in h-ctr h-berth; do
  # shellcheck disable=SC2046
  CONTAINERD_NAMESPACE=$ns bctr images rm --sync $(CONTAINERD_NAMESPACE=$ns bctr images ls -q) >/dev/null
  CONTAINERD_NAMESPACE=$ns check_store "after rm in $ns"
done
log "PASS"
