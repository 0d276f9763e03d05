#!/usr/bin/env bash
# berth pull (daemon-side pull with streaming unpack) gives the same result as ctr's client-side
# pull: same image record, snapshots, blob labels and rootfs; berth images / rmi; a SIGKILL of
# berthd during a pull leaves no mounts and a re-pull succeeds.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
source "$BERTH_SRC/tests/integration/lib/images.sh"
require_root
require_cmd ctr umoci skopeo docker-registry busybox python3
BERTH="$BERTH_BIN/berth"
[[ -x $BERTH ]] || fail "berth CLI not built"

start_registry
start_berthd
build_multilayer_layout "$T/oci-multi" latest
push_layout "$T/oci-multi" latest test/multi:gzip
IMG="$REGISTRY/test/multi:gzip"

log "ctr pull into namespace ctrns, berth pull into namespace berthns"
CONTAINERD_NAMESPACE=ctrns bctr images pull --plain-http "$IMG" >/dev/null
"$BERTH" --address "$SOCK" --namespace berthns pull --plain-http "$IMG" >"$T/berth-pull.out" ||
  fail "berth pull failed: $(cat "$T/berth-pull.out")"
cat "$T/berth-pull.out" >&2
assert_contains "$(cat "$T/berth-pull.out")" "done $IMG" "berth pull output"
assert_contains "$(cat "$T/berth-pull.out")" "unpacked" "per-layer progress lines"

view() { CONTAINERD_NAMESPACE=$1 bctr "${@:2}"; }
# Same image target.
t1=$(view ctrns images ls | awk -v n="$IMG" '$1==n {print $3, $4}')
t2=$(view berthns images ls | awk -v n="$IMG" '$1==n {print $3, $4}')
assert_eq "$t2" "$t1" "image targets differ"
# Same committed snapshots (names and parents).
s1=$(view ctrns snapshots ls | awk 'NR>1 {print $1, $2, $3}' | sort)
s2=$(view berthns snapshots ls | awk 'NR>1 {print $1, $2, $3}' | sort)
assert_eq "$s2" "$s1" "snapshots differ"
# Same blobs with the same labels (digest, size, labels).
# Labels are printed in map order: sort them within the field.
blobs() {
  view "$1" content ls | awk 'NR>1 {print $1, $2, $NF}' | while read -r d s l; do
    echo "$d $s $(tr , '\n' <<<"$l" | sort | paste -sd,)"
  done | sort
}
c1=$(blobs ctrns)
c2=$(blobs berthns)
assert_eq "$c2" "$c1" "blobs or labels differ"
CONTAINERD_NAMESPACE=berthns check_rootfs "$T/oci-multi" latest

log "berth images / rmi"
out=$("$BERTH" --address "$SOCK" --namespace berthns images)
assert_contains "$out" "REPOSITORY" "images header"
assert_contains "$out" "$REGISTRY/test/multi" "images row"
json=$("$BERTH" --address "$SOCK" --namespace berthns images --format json)
assert_contains "$json" "\"tag\": \"gzip\"" "images json"
"$BERTH" --address "$SOCK" --namespace berthns rmi --sync "$IMG" >/dev/null
assert_eq "$(view berthns content ls -q)" "" "blobs left after rmi --sync"
assert_eq "$(view berthns snapshots ls | tail -n +2)" "" "snapshots left after rmi --sync"

log "SIGKILL during a pull, restart, re-pull"
big="$T/oci-big"
build_busybox_layout "$big" latest
work=$(mktemp -d "$T/big.XXXXXX")
umoci unpack --image "$big:latest" "$work/b" >/dev/null
head -c 150000000 /dev/urandom >"$work/b/rootfs/big.bin"
umoci repack --image "$big:latest" "$work/b" >/dev/null
push_layout "$big" latest test/big:latest
"$BERTH" --address "$SOCK" --namespace faultns pull --plain-http "$REGISTRY/test/big:latest" >"$T/fault.out" 2>&1 &
pull_pid=$!
wait_for 60 grep -q "unpacking" "$T/fault.out" || true
kill_berthd
wait "$pull_pid" 2>/dev/null || true
mounts=$(grep -c "$ROOT" /proc/self/mountinfo || true)
assert_eq "$mounts" "0" "mounts left after SIGKILL"
start_berthd
"$BERTH" --address "$SOCK" --namespace faultns pull --plain-http "$REGISTRY/test/big:latest" >"$T/fault2.out" 2>&1 ||
  fail "re-pull after SIGKILL failed: $(cat "$T/fault2.out")"
active=$(view faultns snapshots ls | awk '$3=="Active"' | wc -l)
assert_eq "$active" "0" "active snapshots after re-pull"
log "PASS"
