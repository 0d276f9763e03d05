#!/usr/bin/env bash
# Snapshots through the stock ctr, as on containerd: prepare / mounts (mounted by the test
# exactly as ctr prints them) / commit / view / ls / tree / info / usage / label / rm, the
# overlay mount shapes (bind for a parentless snapshot, overlay with index=off and lowerdir
# nearest first), an extra "ro" on a single overlay (what ctr does when it mounts), namespaces,
# the native snapshotter, unknown snapshotters, and persistence and crash cleanup across restarts.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr mount umount
grep -qw overlay /proc/filesystems || skip "needs overlayfs"

start_berthd
OVL="$ROOT/io.containerd.snapshotter.v1.overlayfs/snapshots"
M="$T/mnt"
mkdir -p "$M"

# mount_snapshot KEY [EXTRA_OPTION]: runs the mount command `ctr snapshots mounts` prints.
mount_snapshot() {
  local cmd
  cmd=$(bctr snapshots mounts "$M" "$1")
  [[ -n "${2:-}" ]] && cmd="$cmd,$2"
  eval "$cmd" || fail "mount of $1 failed: $cmd"
}

log "prepare a parentless snapshot: a rw bind mount"
bctr snapshots prepare k1
out=$(bctr snapshots mounts "$M" k1)
assert_eq "$out" "mount -t bind $OVL/1/fs $M -o rw,rbind" "mounts of a parentless snapshot"
mount_snapshot k1
echo hello >"$M/hello"
mkdir -p "$M/etc" && echo base >"$M/etc/conf"
umount "$M"
bctr snapshots commit base k1
ls_out=$(bctr snapshots ls)
assert_contains "$ls_out" "base" "committed name listed"
assert_contains "$(echo "$ls_out" | grep base)" "Committed" "kind Committed"
assert_not_contains "$ls_out" "k1 " "active key gone after commit"

log "prepare on a parent: an overlay with index=off, workdir, upperdir, lowerdir"
bctr snapshots prepare k2 base
out=$(bctr snapshots mounts "$M" k2)
assert_contains "$out" "mount -t overlay overlay $M -o " "overlay mount"
assert_contains "$out" "index=off" "index=off"
assert_contains "$out" "workdir=$OVL/2/work,upperdir=$OVL/2/fs,lowerdir=$OVL/1/fs" "overlay options"
mount_snapshot k2
assert_eq "$(cat "$M/hello")" "hello" "parent content visible"
echo two >"$M/two"
echo changed >"$M/etc/conf"
umount "$M"
bctr snapshots commit top k2

log "view of two parents: an overlay with only lowerdir (nearest first), read-only"
bctr snapshots view v top
out=$(bctr snapshots mounts "$M" v)
assert_contains "$out" "lowerdir=$OVL/2/fs:$OVL/1/fs" "lowerdir nearest first"
assert_not_contains "$out" "upperdir" "no upperdir in a view"
mount_snapshot v
assert_eq "$(cat "$M/two")" "two" "top layer visible"
assert_eq "$(cat "$M/etc/conf")" "changed" "top layer wins"
if touch "$M/new" 2>/dev/null; then fail "a view must be read-only"; fi
umount "$M"

log "view of a single parent: a read-only bind of its layer"
bctr snapshots view v1 base
assert_eq "$(bctr snapshots mounts "$M" v1)" "mount -t bind $OVL/1/fs $M -o ro,rbind" "view of one parent"

log "an active overlay mounted the way ctr mounts rootfs (with ro appended)"
bctr snapshots prepare work top
mount_snapshot work ro
assert_eq "$(cat "$M/hello")" "hello" "ro overlay mount"
umount "$M"

log "tree, info, usage, label"
tree=$(bctr snapshots tree)
assert_contains "$tree" "base" "tree root"
assert_contains "$tree" "\\_ top" "tree child"
info=$(bctr snapshots info top)
assert_contains "$info" '"Kind": "Committed"' "info kind"
assert_contains "$info" '"Parent": "base"' "info parent"
assert_contains "$(bctr snapshots info work)" '"Kind": "Active"' "active kind"
usage=$(bctr snapshots usage top)
assert_contains "$usage" "top" "usage row"
[[ $(echo "$usage" | awk '/^top/ {print $NF}') -ge 3 ]] || fail "usage inodes of top: $usage"
bctr snapshots label top team=berth >/dev/null
assert_contains "$(bctr snapshots info top)" '"team": "berth"' "label set"
bctr snapshots label top team= >/dev/null
assert_not_contains "$(bctr snapshots info top)" '"team"' "label removed"

log "errors as containerd's"
err=$(bctr snapshots rm base 2>&1) && fail "removing a parent must fail"
assert_contains "$err" "cannot remove snapshot with child" "rm of a parent"
err=$(bctr snapshots prepare k1 nothere 2>&1) && fail "missing parent must fail"
assert_contains "$err" "not found" "missing parent"
err=$(bctr snapshots prepare top 2>&1) && fail "existing key must fail"
assert_contains "$err" "already exists" "existing key"
err=$(bctr snapshots --snapshotter nope ls 2>&1) && fail "unknown snapshotter must fail"
assert_contains "$err" "snapshotter not loaded: nope" "unknown snapshotter"

log "namespaces: a snapshot of one namespace is invisible from another"
assert_eq "$(bctr -n other snapshots ls | tail -n +2)" "" "other namespace empty"
bctr -n other snapshots prepare top
assert_contains "$(bctr -n other snapshots info top)" '"Kind": "Active"' "same name, other namespace"
assert_contains "$(bctr snapshots info top)" '"Kind": "Committed"' "original untouched"
bctr -n other snapshots rm top

log "native snapshotter"
bctr snapshots --snapshotter native prepare n1
out=$(bctr snapshots --snapshotter native mounts "$M" n1)
assert_contains "$out" "mount -t bind $ROOT/io.containerd.snapshotter.v1.native/snapshots/" "native bind"
eval "$out"
echo n >"$M/n"
umount "$M"
bctr snapshots --snapshotter native commit nbase n1
bctr snapshots --snapshotter native prepare n2 nbase
eval "$(bctr snapshots --snapshotter native mounts "$M" n2)"
assert_eq "$(cat "$M/n")" "n" "native copy of the parent"
umount "$M"

log "persistence, and cleanup after a crash"
kill_berthd
mkdir -p "$OVL/new-crashed/fs" "$OVL/999/fs"
start_berthd
[[ ! -e "$OVL/new-crashed" ]] || fail "half-built snapshot directory left after restart"
[[ ! -e "$OVL/999" ]] || fail "directory without metadata left after restart"
assert_contains "$(bctr snapshots info top)" '"Parent": "base"' "snapshots survive a restart"
mount_snapshot v
assert_eq "$(cat "$M/two")" "two" "view still mounts after a restart"
umount "$M"

log "rm in dependency order removes the directories"
bctr snapshots rm work v v1
bctr snapshots rm top
bctr snapshots rm base
assert_eq "$(bctr snapshots ls | tail -n +2)" "" "all removed"
left=$(ls "$OVL")
assert_eq "$left" "" "no snapshot directories left"
log "PASS"
