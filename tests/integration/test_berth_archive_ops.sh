#!/usr/bin/env bash
# Issue 13: berth save -> load on a fresh berthd root gives identical images (same target and
# config digests; docker's manifest.json + OCI layout, OCI-only, and a classic docker-archive
# made by skopeo), cp both ways keeps a directory's modes, events shows start/die, top, rename,
# system info/df/prune, completion.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc python3 skopeo
start_registry
push_busybox_image busybox:arch
IMG="$REGISTRY/busybox:arch"

start_berthd
export BERTH_ADDRESS="$SOCK" BERTH_NAMESPACE="$CONTAINERD_NAMESPACE"
export BERTH_FIFO_DIR="$T/fifo" BERTH_LOG_DIR="$T/logs"
berth() { "$BERTH_BIN/berth" "$@"; }
berth pull --plain-http "$IMG" >/dev/null
berth tag "$IMG" second/image:two
target() { bctr images ls | awk -v n="$1" '$1==n {print $3}'; }
want=$(target "$IMG")
want_cfg=$(berth inspect --format '{{.Id}}' "$IMG")
[[ $want == sha256:* && $want_cfg == sha256:* ]] || fail "no digests: [$want] [$want_cfg]"

log "save: two images in one tar (OCI layout + manifest.json), and an OCI-only tar"
berth save -o "$T/both.tar" "$IMG" second/image:two
tar -tf "$T/both.tar" >"$T/both.list"
for f in oci-layout index.json manifest.json "blobs/sha256/${want#sha256:}"; do
  grep -qx "$f" "$T/both.list" || fail "$f missing from the saved tar"
done
python3 - "$T/both.tar" "$IMG" <<'PY' || fail "manifest.json does not name the images"
import json, sys, tarfile
t = tarfile.open(sys.argv[1])
m = json.load(t.extractfile("manifest.json"))
tags = sorted(x for e in m for x in e["RepoTags"])
assert tags == sorted([sys.argv[2], "second/image:two"]), tags
assert all(e["Layers"] and e["Config"].startswith("blobs/sha256/") for e in m)
PY
berth save --format oci "$IMG" >"$T/oci.tar"
tar -tf "$T/oci.tar" | grep -qx manifest.json && fail "--format oci wrote manifest.json"
skopeo copy --quiet --src-tls-verify=false "docker://$IMG" "docker-archive:$T/docker.tar:legacy/busybox:old" >/dev/null

log "load on a fresh root"
stop_berthd
mv "$T/root" "$T/root-old"; mv "$T/state" "$T/state-old"
start_berthd
[[ -z $(bctr images ls -q) ]] || fail "fresh root has images"
out=$(berth load -i "$T/both.tar")
assert_contains "$out" "Loaded image: $IMG" "load output"
assert_contains "$out" "Loaded image: second/image:two" "load output (second image)"
assert_eq "$(target "$IMG")" "$want" "same target digest after save/load"
assert_eq "$(target docker.io/second/image:two)" "$want" "second image's digest"
assert_eq "$(berth inspect --format '{{.Id}}' "$IMG")" "$want_cfg" "same config digest"
assert_eq "$(berth run --rm "$IMG" echo loaded)" "loaded" "a loaded image runs (unpacked)"
berth rmi "$IMG" docker.io/second/image:two >/dev/null
out=$(berth load <"$T/oci.tar")
assert_contains "$out" "Loaded image: $IMG" "OCI tar from stdin"
assert_eq "$(target "$IMG")" "$want" "same digest from the OCI-only tar"
out=$(berth load -i "$T/docker.tar")
assert_contains "$out" "Loaded image: legacy/busybox:old" "classic docker-archive"
assert_eq "$(berth inspect --format '{{.Id}}' legacy/busybox:old)" "$want_cfg" "docker-archive keeps the image id (config digest)"
assert_eq "$(berth run --rm legacy/busybox:old echo legacy)" "legacy" "docker-archive image runs"
rc=0; echo "not a tar" >"$T/junk"; berth load -i "$T/junk" 2>"$T/junk.err" || rc=$?
[[ $rc -ne 0 ]] || fail "load of junk succeeded"

log "events: start and die of a container"
berth events --filter type=container --format '{{.Action}} {{.Actor.ID}} {{json .Actor.Attributes}}' >"$T/events.out" 2>&1 &
EV=$!
HARNESS_PIDS+=($EV)
sleep 1
berth run --name evc "$IMG" sh -c 'exit 3' || true
wait_for 30 grep -q '^die evc .*"exitCode":"3"' "$T/events.out" || fail "no die event: $(cat "$T/events.out")"
grep -q "^start evc" "$T/events.out" || fail "no start event: $(cat "$T/events.out")"
kill "$EV"; wait "$EV" 2>/dev/null || true
berth events --filter event=nothing >/dev/null 2>&1 &
EV2=$!; HARNESS_PIDS+=($EV2); sleep 0.5; kill "$EV2"; wait "$EV2" 2>/dev/null || true
rc=0; berth events --filter bogus=1 2>/dev/null || rc=$?
[[ $rc -ne 0 ]] || fail "unknown filter accepted"

log "top"
berth run -d --name topc "$IMG" sleep 1000 >/dev/null
out=$(berth top topc)
assert_contains "$out" "PID" "top header"
assert_contains "$out" "sleep 1000" "top shows the process"
out=$(berth top topc -o pid,comm)
assert_contains "$(head -1 <<<"$out")" "COMMAND" "ps options passed on"
assert_contains "$out" "sleep" "top with -o"

log "cp: a directory with modes, into a running container and back out"
mkdir -p "$T/src/sub"
echo hello >"$T/src/a.txt"; chmod 0640 "$T/src/a.txt"
printf '#!/bin/sh\necho run\n' >"$T/src/sub/run.sh"; chmod 0755 "$T/src/sub/run.sh"
chmod 0750 "$T/src/sub"; ln -s a.txt "$T/src/link"
berth cp "$T/src" topc:/tmp/
assert_eq "$(berth exec topc stat -c '%a %n' /tmp/src/a.txt /tmp/src/sub /tmp/src/sub/run.sh)" \
  "$(printf '640 /tmp/src/a.txt\n750 /tmp/src/sub\n755 /tmp/src/sub/run.sh')" "modes inside the container"
assert_eq "$(berth exec topc readlink /tmp/src/link)" "a.txt" "symlink kept"
berth exec topc sh -c 'echo changed >> /tmp/src/a.txt'
berth cp topc:/tmp/src "$T/back"
assert_eq "$(stat -c '%a' "$T/back/a.txt" "$T/back/sub" "$T/back/sub/run.sh" | paste -sd' ')" "640 750 755" "modes after the round trip"
assert_eq "$(cat "$T/back/a.txt")" "$(printf 'hello\nchanged')" "content after the round trip"
# A symlink inside the container pointing at / cannot lead the copy to the host's files.
berth exec topc ln -s / /tmp/escape
berth cp topc:/tmp/escape/etc/hostname "$T/escaped"
[[ "$(cat "$T/escaped")" != "$(cat /etc/hostname)" || "$(berth exec topc cat /etc/hostname)" == "$(cat /etc/hostname)" ]] ||
  fail "cp followed a container symlink to the host"
# A stopped container: through its snapshot.
berth stop -t 1 topc >/dev/null
berth cp "$T/src/a.txt" topc:/tmp/offline.txt
berth cp topc:/tmp/offline.txt "$T/offline.txt"
assert_eq "$(stat -c %a "$T/offline.txt")" "640" "cp with a stopped container"

log "rename"
berth rename topc renamed
berth ps -a --format '{{.Names}}' | grep -qx renamed || fail "renamed container not listed"
berth ps -a --format '{{.Names}}' | grep -qx topc && fail "old name still listed"
berth start renamed >/dev/null
assert_eq "$(berth exec renamed cat /tmp/offline.txt)" "hello" "renamed container keeps its filesystem"
rc=0; berth rename renamed other 2>/dev/null || rc=$?
[[ $rc -ne 0 ]] || fail "rename of a container with a task succeeded"
berth rm -f renamed >/dev/null

log "system info, df, prune"
out=$(berth system info)
assert_contains "$out" "Images:" "info images"
assert_contains "$out" "Storage Driver: overlayfs" "info driver"
assert_eq "$(berth system info --format '{{.OSType}}')" "linux" "info --format"
out=$(berth system df)
assert_contains "$out" "TYPE" "df header"
assert_contains "$out" "Images" "df images row"
assert_contains "$out" "Local Volumes" "df volumes row"
berth run --name stopped1 "$IMG" true
berth volume create --label berth/anonymous=1 anonvol >/dev/null 2>&1 || berth volume create anonvol >/dev/null
out=$(berth system prune -f)
assert_contains "$out" "stopped1" "prune removes stopped containers"
berth ps -a --format '{{.Names}}' | grep -qx stopped1 && fail "stopped container left"
[[ -n $(bctr images ls -q) ]] || fail "prune without -a removed tagged images"
berth system prune -a -f --volumes >/dev/null
[[ -z $(bctr images ls -q) ]] || fail "prune -a left images: $(bctr images ls -q)"

log "completion and help"
berth completion bash >"$T/comp.bash"
bash -n "$T/comp.bash" || fail "completion script does not parse"
grep -q '"system prune"' "$T/comp.bash" || fail "completion misses subcommands"
for c in login logout push save load events top cp rename system completion; do
  berth "$c" --help >/dev/null || fail "$c --help"
done
log "ok"
