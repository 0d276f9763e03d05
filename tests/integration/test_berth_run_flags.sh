#!/usr/bin/env bash
# Issue 13: berth run's docker flags, each checked by its effect inside (or on) the container:
# -w -u --entrypoint -l --label-file -e --env-file --memory (cgroup limit, OOM kill) --cpus
# --pids-limit --cap-add/--cap-drop (CapEff) --privileged --security-opt (seccomp unconfined, a
# profile file, no-new-privileges) --read-only --stop-signal --stop-timeout (image StopSignal too)
# --ulimit --device --shm-size --cidfile --hostname --add-host --dns --pull --platform --init,
# --restart always|on-failure:N|unless-stopped on berthd's restart monitor, and create/start/restart.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc python3 umoci skopeo
start_registry
push_busybox_image busybox:flags
IMG="$REGISTRY/busybox:flags"
# An image with a StopSignal (for stop) and a VOLUME (for the volumes test's copy-up).
umoci config --image "$T/oci-busybox:latest" --tag stopsig --config.stopsignal SIGUSR1 >/dev/null
skopeo copy --quiet --dest-tls-verify=false "oci:$T/oci-busybox:stopsig" "docker://$REGISTRY/busybox:stopsig" >/dev/null

cat >"$T/berthd.toml" <<'TOML'
version = 2
[plugins."io.containerd.internal.v1.restart"]
  interval = "1s"
TOML
start_berthd --config "$T/berthd.toml"
export BERTH_ADDRESS="$SOCK" BERTH_NAMESPACE="$CONTAINERD_NAMESPACE"
export BERTH_FIFO_DIR="$T/fifo" BERTH_LOG_DIR="$T/logs"
berth() { "$BERTH_BIN/berth" "$@"; }
berth pull --plain-http "$IMG" >/dev/null
run() { berth run --rm "$@"; }
# cgroup_file ID V1-CONTROLLER V1-FILE V2-FILE: a container's cgroup setting, from the host.
cgroup_file() {
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    cat "/sys/fs/cgroup/$CONTAINERD_NAMESPACE/$1/$4"
  else
    cat "/sys/fs/cgroup/$2/$CONTAINERD_NAMESPACE/$1/$3"
  fi
}
label_of() { bctr containers info "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Labels"].get(sys.argv[1], "absent"))' "$2"; }

log "process: -w, -u (numbers and names from the image), --entrypoint, -e, --env-file"
assert_eq "$(run -w /tmp "$IMG" pwd)" "/tmp" "-w"
assert_eq "$(run -u 1000:1001 "$IMG" sh -c 'id -u; id -g')" $'1000\n1001' "-u uid:gid"
assert_eq "$(run -u nobody "$IMG" sh -c 'id -u; id -g')" $'65534\n65534' "-u name from the image's /etc/passwd"
rc=0; run -u no-such-user "$IMG" true 2>"$T/err" || rc=$?
assert_eq "$rc" 125 "-u unknown user"
assert_contains "$(cat "$T/err")" "no-such-user" "unknown user named"
assert_eq "$(run --entrypoint echo "$IMG" from entrypoint)" "from entrypoint" "--entrypoint"
printf '# a comment\nFROM_FILE=yes\n\nSPACED=a b\nBARE\n' >"$T/env"
assert_eq "$(BARE=from-us run --env-file "$T/env" -e LAST=1 "$IMG" sh -c 'echo "$FROM_FILE|$SPACED|$BARE|$LAST"')" \
  "yes|a b|from-us|1" "--env-file and -e"

log "labels: -l and --label-file"
printf 'from.file=1\n' >"$T/labels"
berth create --name labelled -l a=b -l tier=web --label-file "$T/labels" "$IMG" true >/dev/null
assert_eq "$(label_of labelled a)" "b" "-l a=b"
assert_eq "$(label_of labelled from.file)" "1" "--label-file"
assert_contains "$(berth ps -a --format '{{.Names}} {{.Labels}}')" "labelled " "ps --format names"
assert_contains "$(berth ps -a --format '{{.Labels}}')" "tier=web" "labels in ps --format"
berth rm labelled >/dev/null

log "resources: --memory, --cpus, --pids-limit in the container's cgroup"
berth run -d --name limited --memory 64m --cpus 0.5 --pids-limit 20 "$IMG" sleep 1000 >/dev/null
assert_eq "$(cgroup_file limited memory memory.limit_in_bytes memory.max)" "$((64 * 1024 * 1024))" "--memory"
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
  assert_eq "$(cgroup_file limited cpu x cpu.max)" "50000 100000" "--cpus"
else
  assert_eq "$(cgroup_file limited cpu cpu.cfs_quota_us x)" "50000" "--cpus quota"
  assert_eq "$(cgroup_file limited cpu cpu.cfs_period_us x)" "100000" "--cpus period"
fi
assert_eq "$(cgroup_file limited pids pids.max pids.max)" "20" "--pids-limit"
berth rm -f limited >/dev/null
log "--memory is enforced: an allocation past it is OOM-killed"
rc=0; run --memory 16m --memory-swap 16m "$IMG" dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null || rc=$?
assert_eq "$rc" 137 "64 MiB buffer under a 16 MiB limit: SIGKILL"
assert_eq "$(run --memory 64m "$IMG" dd if=/dev/zero of=/dev/null bs=8M count=1 2>&1 | grep -c "records out")" 1 "8 MiB fits in 64"

log "capabilities: --cap-drop, --cap-add, --privileged"
capeff() { run "$@" "$IMG" sh -c 'grep ^CapEff: /proc/self/status' | cut -f2; }
assert_eq "$(capeff)" "00000000a80425fb" "default set"
assert_eq "$(capeff --cap-drop NET_RAW)" "00000000a80405fb" "--cap-drop NET_RAW clears bit 13"
assert_eq "$(capeff --cap-add sys_admin)" "00000000a82425fb" "--cap-add sys_admin sets bit 21"
assert_eq "$(capeff --cap-drop ALL --cap-add CHOWN)" "0000000000000001" "--cap-drop ALL --cap-add CHOWN"
host_bnd=$(grep ^CapBnd: /proc/self/status | cut -f2)
priv=$(run --privileged "$IMG" sh -c 'grep -E "^(CapEff|Seccomp):" /proc/self/status; echo 1 >/proc/sys/kernel/printk_ratelimit && echo procsys-writable; ls /dev/ | wc -l')
assert_contains "$priv" $'CapEff:\t'"$host_bnd" "--privileged: every capability"
assert_contains "$priv" $'Seccomp:\t0' "--privileged: no seccomp"
assert_contains "$priv" "procsys-writable" "--privileged: /proc/sys writable"
run "$IMG" sh -c 'echo 1 >/proc/sys/kernel/printk_ratelimit' 2>/dev/null && fail "/proc/sys writable without --privileged"

log "--security-opt: seccomp=unconfined, a profile file, no-new-privileges"
assert_contains "$(run --security-opt seccomp=unconfined "$IMG" grep ^Seccomp: /proc/self/status)" $'\t0' "unconfined"
run --security-opt seccomp=unconfined "$IMG" unshare -U true || fail "unshare refused without seccomp"
cat >"$T/seccomp.json" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
              {"names": ["chdir"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}
JSON
out=$(run --security-opt seccomp="$T/seccomp.json" "$IMG" sh -c 'mkdir /tmp/d 2>&1 || echo mkdir-denied; cd /tmp && echo chdir-ok')
assert_contains "$out" "mkdir-denied" "profile denies mkdir"
assert_contains "$out" "chdir-ok" "a rule whose includes do not hold is left out"
assert_contains "$(run --security-opt no-new-privileges:false "$IMG" grep ^NoNewPrivs: /proc/self/status)" $'\t0' "no-new-privileges:false"
assert_contains "$(run --security-opt no-new-privileges "$IMG" grep ^NoNewPrivs: /proc/self/status)" $'\t1' "no-new-privileges"
rc=0; run --security-opt label=disable "$IMG" true 2>"$T/err" || rc=$?
assert_eq "$rc" 125 "unknown --security-opt refused"

log "--read-only, --ulimit, --device, --shm-size, --sysctl"
run --read-only "$IMG" sh -c 'touch /file' 2>/dev/null && fail "--read-only: the root is writable"
assert_eq "$(run --read-only --tmpfs /tmp "$IMG" sh -c 'touch /tmp/f && echo tmp-ok')" "tmp-ok" "--read-only with a --tmpfs"
assert_eq "$(run --ulimit nofile=512:1024 "$IMG" sh -c 'ulimit -n; ulimit -Hn')" $'512\n1024' "--ulimit nofile"
# /dev/fuse (10:229) is outside runc's always-allowed devices.
if [[ -c /dev/fuse ]]; then
  assert_eq "$(run --device /dev/fuse:/dev/myfuse "$IMG" sh -c 'exec 3<>/dev/myfuse && echo opened; stat -c "%t,%T" /dev/myfuse')" \
    $'opened\na,e5' "--device"
  run "$IMG" sh -c 'mknod /dev/x c 10 229 && exec 3<>/dev/x' 2>/dev/null && fail "a device not given is usable"
fi
assert_eq "$(run --shm-size 10m "$IMG" sh -c "df -k /dev/shm | awk 'NR==2 {print \$2}'")" "10240" "--shm-size"
assert_eq "$(run --sysctl net.ipv4.ip_forward=1 "$IMG" cat /proc/sys/net/ipv4/ip_forward)" "1" "--sysctl"

log "names and /etc: --hostname, --add-host, --dns, --dns-search, --cidfile"
out=$(run -h box.example --add-host db:10.1.2.3 --dns 192.0.2.53 --dns-search corp.example "$IMG" \
  sh -c 'hostname; cat /etc/hostname; cat /etc/hosts; cat /etc/resolv.conf')
assert_contains "$out" $'box.example\nbox.example' "--hostname and /etc/hostname"
assert_contains "$out" $'10.1.2.3\tdb' "--add-host"
assert_contains "$out" "nameserver 192.0.2.53" "--dns"
assert_contains "$out" "search corp.example" "--dns-search"
assert_contains "$out" $'127.0.0.1\tlocalhost' "localhost in /etc/hosts"
cid=$(berth run -d --cidfile "$T/cid" "$IMG" true)
assert_eq "$(cat "$T/cid")" "$cid" "--cidfile holds the id"
rc=0; berth run -d --cidfile "$T/cid" "$IMG" true 2>"$T/err" || rc=$?
assert_eq "$rc" 125 "an existing --cidfile is refused"
assert_contains "$(cat "$T/err")" "exists" "cidfile error"
berth rm -f "$cid" >/dev/null

log "--pull and --platform"
rc=0; berth run --rm --pull never "$REGISTRY/busybox:stopsig" true 2>"$T/err" || rc=$?
assert_eq "$rc" 125 "--pull never with the image missing"
assert_contains "$(cat "$T/err")" "--pull=never" "--pull never error"
assert_eq "$(berth run --rm --pull always --plain-http "$IMG" echo pulled 2>/dev/null)" "pulled" "--pull always"
assert_eq "$(run --platform linux/amd64 "$IMG" echo amd64)" "amd64" "--platform"

log "--init: berth-init is pid 1, forwards SIGTERM, reaps orphans"
assert_eq "$(run --init "$IMG" sh -c 'cat /proc/1/cmdline | tr "\0" " "')" "/sbin/berth-init -- sh -c cat /proc/1/cmdline | tr \"\\0\" \" \" " "pid 1"
berth run -d --init --name init-term "$IMG" sleep 1000 >/dev/null
berth stop -t 30 init-term >/dev/null
assert_contains "$(berth ps -a)" "Exited (143)" "sleep got the forwarded SIGTERM (143), no SIGKILL (137)"
# An orphan that exits is reaped: no zombie under berth-init.
assert_eq "$(run --init "$IMG" sh -c '(sleep 0.2 &) ; sleep 1; ps -o stat | grep -c Z')" "0" "no zombies"
rc=0; run --init "$IMG" sh -c 'exit 9' || rc=$?
assert_eq "$rc" 9 "berth-init exits with the child's status"
berth rm init-term >/dev/null

log "--stop-signal, the image's StopSignal, --stop-timeout"
sigwatch='trap "echo got-usr1; exit 0" USR1; trap "echo got-term; exit 0" TERM; while :; do sleep 0.1; done'
berth run -d --name ss --stop-signal USR1 "$IMG" sh -c "$sigwatch" >/dev/null
berth run -d --plain-http --name ss-image "$REGISTRY/busybox:stopsig" sh -c "$sigwatch" >/dev/null 2>"$T/pull.err"
sleep 0.5
berth stop ss ss-image >/dev/null
assert_eq "$(berth logs ss)" "got-usr1" "--stop-signal USR1"
assert_eq "$(berth logs ss-image)" "got-usr1" "the image's StopSignal"
berth run -d --name st --stop-timeout 1 "$IMG" sleep 1000 >/dev/null
start=$SECONDS
berth stop st >/dev/null
(( SECONDS - start < 9 )) || fail "--stop-timeout 1 not used: stop took $((SECONDS - start)) s"
assert_contains "$(berth ps -a)" "Exited (137)" "SIGKILL after the timeout"
berth rm ss ss-image st >/dev/null

log "--restart: always, on-failure:2, unless-stopped (berthd's restart monitor, 1 s interval)"
rc=0; berth run --rm --restart always "$IMG" true 2>"$T/err" || rc=$?
assert_eq "$rc" 125 "--restart with --rm refused"
berth run -d --name again --restart always "$IMG" sh -c 'echo run; sleep 0.2' >/dev/null
runs() { berth logs "$1" | grep -c run; }
wait_for 60 sh -c "[ \$('$BERTH_BIN/berth' logs again | grep -c run) -ge 3 ]" || fail "always: $(runs again) runs"
assert_eq "$(label_of again containerd.io/restart.policy)" "always" "policy label"
berth stop again >/dev/null
n=$(runs again)
sleep 3
assert_eq "$(runs again)" "$n" "a stopped always container stays stopped"
assert_eq "$(label_of again containerd.io/restart.status)" "stopped" "stop set restart.status"
berth start again >/dev/null
wait_for 60 sh -c "[ \$('$BERTH_BIN/berth' logs again | grep -c run) -gt $n ]" || fail "start did not run it again"
berth rm -f again >/dev/null

berth run -d --name flaky --restart on-failure:2 "$IMG" sh -c 'echo run; exit 3' >/dev/null
two() { [[ $(label_of flaky containerd.io/restart.count) == 2 ]]; }
wait_for 60 two || fail "on-failure:2: count $(label_of flaky containerd.io/restart.count)"
exited() { berth ps -a | grep flaky | grep -q "Exited (3)"; }
wait_for 30 exited || fail "flaky: $(berth ps -a)"
sleep 3  # three intervals: a third restart would have happened
assert_eq "$(runs flaky)" 3 "on-failure:2 restarts exactly twice (three runs)"
assert_eq "$(label_of flaky containerd.io/restart.count)" 2 "restart count"
berth rm -f flaky >/dev/null

berth run -d --name fine --restart on-failure "$IMG" sh -c 'echo run; exit 0' >/dev/null
sleep 3
assert_eq "$(runs fine)" 1 "on-failure: exit 0 is not restarted"
berth rm -f fine >/dev/null

berth run -d --name us --restart unless-stopped "$IMG" sleep 1000 >/dev/null
berth kill us >/dev/null
restarted() { [[ $(label_of us containerd.io/restart.count) == 1 ]] && berth ps --format '{{.Names}}' | grep -qx us; }
wait_for 60 restarted || fail "unless-stopped after kill: $(berth ps -a)"
berth stop -t 1 us >/dev/null
sleep 3
assert_eq "$(berth ps --format '{{.Names}}')" "" "unless-stopped stays down after stop"
berth rm us >/dev/null

log "create, start, restart"
id=$(berth create --name later -e WHO=later "$IMG" sh -c 'echo hello $WHO; sleep 1000')
assert_eq "$id" "later" "create prints the id"
assert_contains "$(berth ps -a)" "Created" "created, not started"
assert_eq "$(bctr tasks ls -q)" "" "no task yet"
assert_eq "$(berth start later)" "later" "start prints the argument"
wait_for 20 sh -c "'$BERTH_BIN/berth' logs later | grep -q 'hello later'" || fail "started container's output"
pid1=$(bctr tasks ls | awk '$1 == "later" {print $2}')
assert_eq "$(berth restart -t 1 later)" "later" "restart prints the argument"
wait_for 20 sh -c "[ \$('$BERTH_BIN/berth' logs later | grep -c 'hello later') -eq 2 ]" || fail "restart: $(berth logs later)"
pid2=$(bctr tasks ls | awk '$1 == "later" {print $2}')
[[ -n "$pid2" && "$pid2" != "$pid1" ]] || fail "restart: same pid $pid2"
berth rm -f later >/dev/null

log "nothing left behind"
assert_eq "$(berth ps -a -q)" "" "no containers"
assert_eq "$(bctr tasks ls -q)" "" "no tasks"
assert_eq "$(ls "$ROOT/containers/$CONTAINERD_NAMESPACE" 2>/dev/null)" "" "no container directories"
log "PASS"
