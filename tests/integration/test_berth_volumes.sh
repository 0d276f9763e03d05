#!/usr/bin/env bash
# Issue 13: volumes and mounts in berth: -v /host:/ctr[:ro], named volumes (berth volume
# create|ls|inspect|rm|prune, under berthd's root, learned from berthd), --mount
# type=bind|volume|tmpfs, --tmpfs, anonymous volumes (-v /path and the image's VOLUME) with
# docker's copy-up, data kept across container replacement, volumes in use not removable.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc python3 umoci skopeo
start_registry
push_busybox_image busybox:vol
IMG="$REGISTRY/busybox:vol"
umoci config --image "$T/oci-busybox:latest" --tag withvol --config.volume /etc >/dev/null
skopeo copy --quiet --dest-tls-verify=false "oci:$T/oci-busybox:withvol" "docker://$REGISTRY/busybox:withvol" >/dev/null

start_berthd
export BERTH_ADDRESS="$SOCK" BERTH_NAMESPACE="$CONTAINERD_NAMESPACE"
export BERTH_FIFO_DIR="$T/fifo" BERTH_LOG_DIR="$T/logs"
berth() { "$BERTH_BIN/berth" "$@"; }
berth pull --plain-http "$IMG" >/dev/null
run() { berth run --rm "$@"; }
VOLS="$ROOT/volumes/$CONTAINERD_NAMESPACE"

log "-v /host:/ctr: the host's files inside, writes back out, :ro refuses writes"
mkdir -p "$T/host"
echo from-host >"$T/host/in.txt"
assert_eq "$(run -v "$T/host:/data" "$IMG" cat /data/in.txt)" "from-host" "host file visible"
run -v "$T/host:/data" "$IMG" sh -c 'echo from-ctr >/data/out.txt'
assert_eq "$(cat "$T/host/out.txt")" "from-ctr" "container write visible on the host"
run -v "$T/host:/data:ro" "$IMG" sh -c 'echo x >/data/nope' 2>/dev/null && fail ":ro bind is writable"
assert_eq "$(run -v "$T/host:/data:ro" "$IMG" cat /data/in.txt)" "from-host" ":ro still readable"
run -v "$T/made-by-v:/m" "$IMG" true
[[ -d "$T/made-by-v" ]] || fail "-v did not make the missing host directory"
rc=0; run --mount "type=bind,source=$T/no-such-dir,target=/m" "$IMG" true 2>"$T/err" || rc=$?
assert_eq "$rc" 125 "--mount bind of a missing source"
assert_contains "$(cat "$T/err")" "does not exist" "missing source error"
assert_eq "$(run --mount "type=bind,source=$T/host,target=/b,readonly" "$IMG" sh -c 'cat /b/in.txt; touch /b/x 2>/dev/null || echo ro')" \
  $'from-host\nro' "--mount type=bind,readonly"

log "bind mount keeps data across container replacement"
berth run -d --name writer -v "$T/host:/data" "$IMG" sh -c 'echo generation1 >/data/gen; sleep 1000' >/dev/null
wait_for 20 test -f "$T/host/gen" || fail "writer did not write"
berth rm -f writer >/dev/null
assert_eq "$(run -v "$T/host:/data" "$IMG" cat /data/gen)" "generation1" "a new container sees the old one's data"

log "named volumes: create, ls, inspect (under berthd's root), data across replacement"
assert_eq "$(berth volume create -l purpose=test data)" "data" "volume create prints the name"
assert_eq "$(berth volume create data)" "data" "create of an existing volume is fine"
assert_contains "$(berth volume ls)" "DRIVER" "ls header"
assert_contains "$(berth volume ls)" "data" "ls lists it"
assert_eq "$(berth volume ls -q)" "data" "ls -q"
assert_eq "$(berth volume ls --format '{{.Name}} {{.Driver}}')" "data local" "ls --format"
insp=$(berth volume inspect data)
python3 - "$insp" "$VOLS/data/_data" <<'PY' || fail "volume inspect: $insp"
import json, sys
v = json.loads(sys.argv[1])
assert len(v) == 1 and v[0]["Name"] == "data" and v[0]["Driver"] == "local", v
assert v[0]["Mountpoint"] == sys.argv[2], v
assert v[0]["Labels"] == {"purpose": "test"}, v
PY
assert_eq "$(berth volume inspect -f '{{.Mountpoint}}' data)" "$VOLS/data/_data" "inspect --format"
berth run -d --name v1 -v data:/store "$IMG" sh -c 'echo kept >/store/f; sleep 1000' >/dev/null
wait_for 20 test -f "$VOLS/data/_data/f" || fail "volume not written"
rc=0; berth volume rm data 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "rm of a volume in use fails"
assert_contains "$(cat "$T/err")" "in use" "in use error"
berth rm -f v1 >/dev/null
assert_eq "$(run --mount type=volume,source=data,target=/again "$IMG" cat /again/f)" "kept" "--mount type=volume, data kept"
assert_eq "$(run -v data:/ro:ro "$IMG" sh -c 'touch /ro/x 2>/dev/null || echo ro')" "ro" "volume :ro"
assert_eq "$(run -v auto:/a "$IMG" sh -c 'echo made >/a/f; cat /a/f')" "made" "-v NAME makes the volume on first use"
assert_contains "$(berth volume ls -q)" "auto" "auto-made volume listed"

log "copy-up: an empty volume gets the image's files at its path; nocopy leaves it empty"
assert_contains "$(run -v etc:/etc "$IMG" cat /etc/passwd)" "nobody" "image's /etc copied into the volume"
[[ -f "$VOLS/etc/_data/passwd" ]] || fail "copy-up did not land in the volume"
assert_eq "$(stat -c %a "$VOLS/etc/_data")" "$(run "$IMG" stat -c %a /etc)" "copy-up keeps the directory's mode"
assert_eq "$(run -v empty:/etc:nocopy "$IMG" ls /etc | grep -c passwd || true)" "0" "nocopy"

log "anonymous volumes: -v /path and the image's VOLUME; rm -v and --rm remove them"
berth run --name anon -v /scratch "$IMG" sh -c 'echo a >/scratch/f'
anon=$(bctr containers info anon | python3 -c 'import json,sys; print(json.load(sys.stdin)["Labels"]["berth/anonymous-volumes"])')
[[ -f "$VOLS/$anon/_data/f" ]] || fail "anonymous volume $anon holds no data"
berth rm -v anon >/dev/null
[[ ! -e "$VOLS/$anon" ]] || fail "rm -v left the anonymous volume"
before=$(berth volume ls -q | wc -l)
berth pull --plain-http "$REGISTRY/busybox:withvol" >/dev/null
out=$(run "$REGISTRY/busybox:withvol" sh -c 'cat /etc/passwd; grep " /etc " /proc/mounts')
assert_contains "$out" "nobody" "image VOLUME /etc: the image's files are there"
assert_contains "$out" " /etc " "image VOLUME /etc: a mount (an anonymous volume)"
assert_eq "$(berth volume ls -q | wc -l)" "$before" "--rm removed the image VOLUME's anonymous volume"

log "--tmpfs and --mount type=tmpfs"
assert_eq "$(run --tmpfs /scratch:size=1m "$IMG" sh -c "df -k /scratch | awk 'NR==2 {print \$2}'")" "1024" "--tmpfs size"
assert_eq "$(run --mount type=tmpfs,target=/t,tmpfs-size=2m,tmpfs-mode=1770 "$IMG" sh -c "stat -c %a /t; df -k /t | awk 'NR==2 {print \$2}'")" \
  $'1770\n2048' "--mount type=tmpfs"
assert_contains "$(run --tmpfs /scratch "$IMG" grep ' /scratch ' /proc/mounts)" "tmpfs" "--tmpfs is a tmpfs"

log "prune: anonymous only, then -a; rm"
berth volume create keepme >/dev/null
berth create --name holder -v /anon-held "$IMG" true >/dev/null
berth volume create "$(printf 'a%.0s' {1..10})" >/dev/null
out=$(berth volume prune -f)
assert_contains "$(berth volume ls -q)" "keepme" "prune keeps named volumes"
held=$(bctr containers info holder | python3 -c 'import json,sys; print(json.load(sys.stdin)["Labels"]["berth/anonymous-volumes"])')
assert_contains "$(berth volume ls -q)" "$held" "prune keeps a volume in use"
berth volume prune -a -f >/dev/null
assert_eq "$(berth volume ls -q)" "$held" "prune -a removes every unused volume"
berth rm -v holder >/dev/null
assert_eq "$(berth volume ls -q)" "" "rm -v removed the last one"
rc=0; berth volume rm nope 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "rm of a missing volume"
assert_contains "$(cat "$T/err")" "no such volume" "missing volume error"

log "BERTH_ROOT overrides what berthd says"
BERTH_ROOT="$T/other-root" berth volume create elsewhere >/dev/null
[[ -d "$T/other-root/volumes/$CONTAINERD_NAMESPACE/elsewhere/_data" ]] || fail "BERTH_ROOT not used"

log "nothing left behind"
assert_eq "$(berth ps -a -q)" "" "no containers"
log "PASS"
