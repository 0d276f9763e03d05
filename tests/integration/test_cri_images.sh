#!/usr/bin/env bash
# Issue 12: the CRI's Version, Status and ImageService on berthd's socket, each call made to
# berthd and to Debian's containerd 1.6 (its CRI plugin, private root) and the answers compared
# field by field where they are defined; images stored as containerd's CRI stores them.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
source "$BERTH_SRC/tests/integration/lib/cri_env.sh"
require_root
require_cmd jq skopeo umoci busybox containerd
[[ -x "$CRI_TOOL" ]] || fail "no $CRI_TOOL (build target berth-cri-test)"

# Two images: busybox (no User) and the same with User "nobody"; and one with User 1000:1000.
start_registry
push_busybox_image cri/busybox:1
layout="$T/oci-busybox"
umoci config --image "$layout:latest" --tag nobody --config.user nobody >/dev/null
umoci config --image "$layout:latest" --tag numeric --config.user 1000:1000 >/dev/null
skopeo copy --quiet --dest-tls-verify=false "oci:$layout:nobody" "docker://$REGISTRY/cri/busybox:nobody" >/dev/null
skopeo copy --quiet --dest-tls-verify=false "oci:$layout:numeric" "docker://$REGISTRY/cri/busybox:numeric" >/dev/null
IMG="$REGISTRY/cri/busybox:1"

cri_berthd_config "$T/berthd.toml"
start_berthd --config "$T/berthd.toml"
start_cri_containerd

# both METHOD JSON JQ: the same call to both; the jq projection of both answers must be equal.
both() {
  local m=$1 req=$2 proj=$3 a b
  a=$(bcri "$m" "$req") || fail "berthd $m $req failed"
  b=$(ccri "$m" "$req") || fail "containerd $m $req failed"
  a=$(jq -cS "$proj" <<<"$a")
  b=$(jq -cS "$proj" <<<"$b")
  assert_eq "$a" "$b" "$m $req: berthd and containerd differ"
  echo "$a"
}

log "Version"
v=$(bcri Version '{"version":"0.1.0"}')
assert_eq "$(jq -r .runtime_name <<<"$v")" berth "runtime_name"
assert_eq "$(jq -r .runtime_api_version <<<"$v")" v1 "runtime_api_version"
assert_eq "$(jq -r .runtime_version <<<"$v")" "$("$BERTH_BIN/berthd" --version | grep -o '[0-9][0-9.]*' | head -1)" "runtime_version"
both Version '{}' '{version, runtime_api_version}' >/dev/null

log "Status without a CNI config: NetworkReady false, NetworkPluginNotReady"
s=$(both Status '{}' '[.status.conditions[] | {type, status: (.status // false), reason}]')
assert_eq "$s" '[{"reason":null,"status":true,"type":"RuntimeReady"},{"reason":"NetworkPluginNotReady","status":false,"type":"NetworkReady"}]' "conditions"
sv=$(bcri Status '{"verbose":true}')
assert_eq "$(jq -r '.info.config | fromjson | .cni.confDir' <<<"$sv")" "$CNI_CONF_DIR" "verbose config"
assert_contains "$(jq -r '.status.conditions[1].message' <<<"$sv")" "cni plugin not initialized" "NetworkReady message"

log "PullImage: the same image id from both"
id=$(both PullImage "{\"image\":{\"image\":\"$IMG\"}}" '.image_ref' | jq -r .)
[[ "$id" == sha256:* ]] || fail "image_ref is not an id: $id"
both PullImage "{\"image\":{\"image\":\"$REGISTRY/cri/busybox:nobody\"}}" '.image_ref' >/dev/null
both PullImage "{\"image\":{\"image\":\"$REGISTRY/cri/busybox:numeric\"}}" '.image_ref' >/dev/null
# auth from the request is accepted (this registry ignores it)
auth=$(printf 'user:secret' | base64)
both PullImage "{\"image\":{\"image\":\"$IMG\"},\"auth\":{\"auth\":\"$auth\"}}" '.image_ref' >/dev/null
both PullImage "{\"image\":{\"image\":\"$IMG\"},\"auth\":{\"username\":\"u\",\"password\":\"p\"}}" '.image_ref' >/dev/null
for sock in "$SOCK" "$CD_SOCK"; do
  out=$("$CRI_TOOL" "$sock" PullImage "{\"image\":{\"image\":\"$REGISTRY/cri/none:1\"}}" 2>&1) && fail "pulling a missing image succeeded"
  assert_contains "${out,,}" "not found" "missing image error from $sock"
done

log "records as containerd's CRI keeps them (ctr -n k8s.io images ls)"
names() { ctr --address "$1" -n k8s.io images ls -q | sort | tr '\n' ' '; }
assert_eq "$(names "$SOCK")" "$(names "$CD_SOCK")" "k8s.io image names"
assert_contains "$(names "$SOCK")" "$id" "id record"
assert_contains "$(names "$SOCK")" "$REGISTRY/cri/busybox@sha256:" "repo digest record"
lbl=$(ctr --address "$SOCK" -n k8s.io images ls | awk -v n="$IMG" '$1==n {print $NF}')
assert_eq "$lbl" "io.cri-containerd.image=managed" "managed label"

log "ListImages"
proj='[.images[] | {id, repo_tags, repo_digests, size, uid, username}] | sort_by(.id)'
l=$(both ListImages '{}' "$proj")
assert_eq "$(jq length <<<"$l")" 3 "three images"
assert_eq "$(jq -r '[.[] | select(.username=="nobody")] | length' <<<"$l")" 1 "username from User"
assert_eq "$(jq -r '[.[] | select(.uid.value=="1000")] | length' <<<"$l")" 1 "uid from User"

log "ImageStatus by tag, short name, digest, id and id prefix"
sproj='.image | {id, repo_tags, repo_digests, size, uid, username}'
ref_digest=$(jq -r --arg id "$id" '.[] | select(.id==$id) | .repo_digests[0]' <<<"$l")
for q in "$IMG" "$ref_digest" "$id" "${id:7:12}" "$id"; do
  st=$(both ImageStatus "{\"image\":{\"image\":\"$q\"}}" "$sproj")
  assert_eq "$(jq -r .id <<<"$st")" "$id" "ImageStatus $q"
done
st=$(bcri ImageStatus "{\"image\":{\"image\":\"$IMG\"},\"verbose\":true}")
assert_eq "$(jq -r '.info.info | fromjson | .imageSpec.config.Cmd[0]' <<<"$st")" sh "verbose imageSpec"
both ImageStatus '{"image":{"image":"docker.io/library/nothere:1"}}' '.' >/dev/null
assert_eq "$(bcri ImageStatus '{"image":{"image":"docker.io/library/nothere:1"}}')" "{}" "unknown image: empty answer"

log "ImageFsInfo"
fs=$(bcri ImageFsInfo)
assert_eq "$(jq -r '.image_filesystems[0].fs_id.mountpoint' <<<"$fs")" "$ROOT/io.containerd.snapshotter.v1.overlayfs" "mountpoint"
cfs=$(ccri ImageFsInfo)
assert_eq "$(jq -r '.image_filesystems[0].fs_id.mountpoint' <<<"$cfs")" "$T/cd/root/io.containerd.snapshotter.v1.overlayfs" "containerd mountpoint"
(( $(jq -r '.image_filesystems[0].used_bytes.value' <<<"$fs") > 0 )) || fail "used_bytes is 0"
(( $(jq -r '.image_filesystems[0].inodes_used.value' <<<"$fs") > 0 )) || fail "inodes_used is 0"

log "RemoveImage by tag removes every record of the image; a second remove is fine"
both RemoveImage "{\"image\":{\"image\":\"$IMG\"}}" '.' >/dev/null
both ImageStatus "{\"image\":{\"image\":\"$id\"}}" '.' >/dev/null
assert_eq "$(bcri ImageStatus "{\"image\":{\"image\":\"$id\"}}")" "{}" "removed"
both RemoveImage "{\"image\":{\"image\":\"$IMG\"}}" '.' >/dev/null
assert_eq "$(names "$SOCK")" "$(names "$CD_SOCK")" "k8s.io image names after remove"
assert_not_contains "$(names "$SOCK")" "$id" "id record removed"
l=$(both ListImages '{}' "$proj")
assert_eq "$(jq length <<<"$l")" 2 "two images left"

log "images survive a berthd restart"
restart_berthd --config "$T/berthd.toml"
assert_eq "$(jq -cS "$proj" <<<"$(bcri ListImages)")" "$l" "ListImages after restart"

stop_cri_containerd
log "PASS"
