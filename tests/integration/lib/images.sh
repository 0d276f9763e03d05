# Test image builders on top of harness.sh (source harness.sh first).
#
#   build_multilayer_layout DIR TAG   busybox base + a layer adding files and dirs + a layer (raw tar)
#                                     with a whiteout (.wh.old) and an opaque dir (.wh..wh..opq)
#   push_layout DIR TAG NAME:TAG [skopeo copy args...]   push an OCI layout tag to $REGISTRY
#   push_multilayer_image NAME:TAG [--dest-compress-format zstd]
#   build_index_layout DIR TAG        an OCI index (linux/amd64 + linux/arm64) over the busybox image
#   push_index_image NAME:TAG
#   build_hostile_layout DIR TAG KIND one busybox layer + one hostile raw layer (KIND: traversal)
#   umoci_rootfs DIR TAG OUT          what `umoci unpack` gives for DIR:TAG (rootfs in OUT/rootfs)
#   top_chain LAYOUT TAG              chain ID of the image's top layer (amd64 for an index)
#   check_rootfs LAYOUT TAG           berthd's committed top snapshot (mounted via a view) equals umoci's unpack
#   tree_listing DIR                  path, type, mode, owner, size, link target and file digest
#                                     of every entry under DIR, sorted (for byte-for-byte compares)

build_multilayer_layout() {
  local dir=$1 tag=$2 work
  build_busybox_layout "$dir" "$tag"
  work=$(mktemp -d "$T/ml.XXXXXX")
  umoci unpack --image "$dir:$tag" "$work/bundle" >/dev/null
  local r="$work/bundle/rootfs"
  mkdir -p "$r/data/keep" "$r/data/opaque/sub" "$r/data/perm"
  echo old >"$r/data/old"
  echo keep >"$r/data/keep/file"
  echo gone >"$r/data/opaque/gone"
  echo gone2 >"$r/data/opaque/sub/gone2"
  head -c 300000 /dev/urandom >"$r/data/random.bin"
  echo secret >"$r/data/perm/secret" && chmod 0600 "$r/data/perm/secret" && chown 1000:1000 "$r/data/perm/secret"
  chmod 0750 "$r/data/perm"
  ln -s ../keep/file "$r/data/opaque/link"
  ln "$r/data/keep/file" "$r/data/hardlink"
  umoci repack --image "$dir:$tag" "$work/bundle" >/dev/null
  # A raw layer with a whiteout and an opaque directory, as other tools write them.
  python3 - "$work/layer3.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    def add(name, data=None, kind=tarfile.REGTYPE, mode=0o644):
        ti = tarfile.TarInfo(name); ti.type = kind; ti.mode = mode; ti.mtime = 1700000000
        if data is not None: ti.size = len(data)
        t.addfile(ti, io.BytesIO(data) if data is not None else None)
    add("data/", kind=tarfile.DIRTYPE, mode=0o755)
    add("data/.wh.old", b"")
    add("data/opaque/", kind=tarfile.DIRTYPE, mode=0o755)
    add("data/opaque/.wh..wh..opq", b"")
    add("data/opaque/new", b"new\n")
PY
  umoci raw add-layer --image "$dir:$tag" "$work/layer3.tar" >/dev/null
  rm -rf "$work"
}

push_layout() {
  local dir=$1 tag=$2 ref=$3
  shift 3
  [[ -n "${REGISTRY:-}" ]] || start_registry
  skopeo copy --quiet --dest-tls-verify=false "$@" "oci:$dir:$tag" "docker://$REGISTRY/$ref" >/dev/null
}

push_multilayer_image() {
  local ref=$1
  shift
  local layout="$T/oci-multi"
  [[ -d "$layout" ]] || build_multilayer_layout "$layout" latest
  push_layout "$layout" latest "$ref" "$@"
}

# An index over the busybox manifest (amd64) and a second manifest whose config says arm64.
build_index_layout() {
  local dir=$1 tag=$2
  build_busybox_layout "$dir" amd64
  umoci new --image "$dir:arm64"
  umoci config --image "$dir:arm64" --architecture arm64 --config.cmd sh >/dev/null
  python3 - "$dir" "$tag" <<'PY'
import hashlib, json, os, sys
d, tag = sys.argv[1], sys.argv[2]
idx = json.load(open(os.path.join(d, "index.json")))
ents = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in idx["manifests"]}
ms = []
for arch in ("arm64", "amd64"):
    m = dict(ents[arch]); m.pop("annotations", None)
    m["platform"] = {"os": "linux", "architecture": arch}
    ms.append(m)
body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": ms}).encode()
h = hashlib.sha256(body).hexdigest()
open(os.path.join(d, "blobs", "sha256", h), "wb").write(body)
idx["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + h,
                         "size": len(body), "annotations": {"org.opencontainers.image.ref.name": tag}})
json.dump(idx, open(os.path.join(d, "index.json"), "w"))
PY
}

push_index_image() {
  local ref=$1 layout="$T/oci-index"
  [[ -d "$layout" ]] || build_index_layout "$layout" multi
  push_layout "$layout" multi "$ref" --all
}

# build_hostile_layout DIR TAG traversal: a layer whose entries climb out of the root.
build_hostile_layout() {
  local dir=$1 tag=$2 kind=$3 work
  build_busybox_layout "$dir" "$tag"
  work=$(mktemp -d "$T/hl.XXXXXX")
  python3 - "$work/evil.tar" "$kind" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name in ("../../../../../../tmp/berth-escape-" + sys.argv[2], "ok/../../escape2"):
        data = b"pwned\n"
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644
        t.addfile(ti, io.BytesIO(data))
PY
  umoci raw add-layer --image "$dir:$tag" "$work/evil.tar" >/dev/null
  rm -rf "$work"
}

umoci_rootfs() {
  local dir=$1 tag=$2 out=$3
  umoci unpack --image "$dir:$tag" "$out" >/dev/null
}

tree_listing() {
  (cd "$1" && find . -mindepth 1 -printf '%p %y %m %U:%G %s %l\n' | sort) | while read -r p y rest; do
    if [[ $y == f ]]; then
      printf '%s %s %s %s\n' "$p" "$y" "$rest" "$(sha256sum <"$1/$p" | cut -c1-16)"
    else
      # Directory sizes differ between filesystems; drop them.
      [[ $y == d ]] && rest=$(awk '{print $1, $2}' <<<"$rest")
      printf '%s %s %s\n' "$p" "$y" "$rest"
    fi
  done
}

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

