#!/usr/bin/env bash
# Issue 11: Docker Engine on berthd. Debian's dockerd 20.10 runs on private paths under $T
# (--data-root, --exec-root, -H, --pidfile, no bridge, no iptables) with `--containerd` pointing at
# berthd, and Debian's /usr/bin/docker drives it as a Docker user would: pull from the registry on
# 127.0.0.1; run --rm exit codes 0, 42, 126, 127; run -d, exec (also -it under a pty), logs,
# stats --no-stream, top, pause/unpause, update --memory, cp both ways, stop -t, kill, rm -f,
# ps -a states, inspect exit codes, restart policies on-failure:2 and always counted, docker events
# (start, die, oom). The containers are ordinary containerd containers on berthd (ctr -n moby
# containers ls / tasks ls) run by containerd-shim-berth-v2, berthd's default for io.containerd.runc.v2.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc script dockerd /usr/bin/docker
# What of the host's Docker paths exists before: dockerd on $T must not create or change them.
# (/run/docker/plugins, which dockerd makes whatever its flags, is removed by the harness.)
host_paths() {
  ls -d --full-time /var/lib/docker /run/docker.sock /run/docker.pid /etc/docker/key.json 2>/dev/null || true
  find /run/docker -mindepth 1 -not -path /run/docker/plugins 2>/dev/null || true
}
before=$(host_paths)
# contrib/systemd/docker.service.d/berth.conf: Debian's dockerd command line, with berthd's socket.
dropin="$BERTH_SRC/contrib/systemd/docker.service.d/berth.conf"
if [[ -f /lib/systemd/system/docker.service ]]; then
  want=$(grep '^ExecStart=' /lib/systemd/system/docker.service | sed 's|--containerd=[^ ]*|--containerd=/run/berth/berthd.sock|')
  assert_eq "$(grep '^ExecStart=' "$dropin" | tail -n 1)" "$want" "drop-in ExecStart"
  assert_eq "$(grep -c '^ExecStart=$' "$dropin")" 1 "drop-in resets ExecStart"
  grep -qx 'Requires=berthd.service' "$dropin" && grep -qx 'After=berthd.service' "$dropin" || fail "drop-in: not after/requiring berthd.service"
fi
start_registry
push_busybox_image busybox:docker
IMG="$REGISTRY/busybox:docker"

start_berthd
start_dockerd

# Events of the whole run, for the checks at the end.
dk events --format '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}' >"$T/docker-events.txt" 2>&1 &
HARNESS_PIDS+=($!)

D() { timeout -k 5 120 env DOCKER_CONFIG="$T/docker-config" /usr/bin/docker -H "unix://$DSOCK" "$@"; }
N=(--network none)
state_of() { D inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$1" 2>/dev/null; }

log "docker pull $IMG"
out=$(D pull "$IMG" 2>&1) || fail "docker pull: $out"
assert_contains "$(D images --format '{{.Repository}}:{{.Tag}}')" "$IMG" "docker images lists the pulled image"

log "docker run --rm: output and exit codes 0, 42, 126, 127"
assert_eq "$(D run --rm "${N[@]}" "$IMG" echo hello-docker)" "hello-docker" "run --rm output"
rc=0; D run --rm "${N[@]}" "$IMG" true || rc=$?
assert_eq "$rc" 0 "run --rm true"
rc=0; D run --rm "${N[@]}" "$IMG" sh -c 'exit 42' || rc=$?
assert_eq "$rc" 42 "run --rm exit 42"
rc=0; out=$(D run --rm "${N[@]}" "$IMG" /etc/passwd 2>&1) || rc=$?
assert_eq "$rc" 126 "run --rm of a non-executable file: $out"
rc=0; out=$(D run --rm "${N[@]}" "$IMG" no-such-command 2>&1) || rc=$?
assert_eq "$rc" 127 "run --rm of a missing command: $out"
assert_eq "$(printf 'via-stdin\n' | D run --rm -i "${N[@]}" "$IMG" cat)" "via-stdin" "run -i: stdin reaches the container"

log "run -d, exec, exec -it, logs, top, stats, ps"
cid=$(D run -d --name web "${N[@]}" "$IMG" sh -c 'echo started-web; echo to-stderr >&2; exec sleep 1000')
[[ "$cid" =~ ^[0-9a-f]{64}$ ]] || fail "run -d printed [$cid]"
assert_eq "$(state_of web)" "running 0" "web running"
assert_eq "$(D exec web sh -c 'echo from-exec')" "from-exec" "exec output"
rc=0; D exec web sh -c 'exit 7' || rc=$?
assert_eq "$rc" 7 "exec exit code"
out=$(script -qec "timeout -k 5 --foreground 60 env DOCKER_CONFIG=$T/docker-config /usr/bin/docker -H unix://$DSOCK exec -it web sh -c 'tty; test -t 0 && echo exec-it-ok'" /dev/null </dev/null 2>&1)
assert_contains "$out" "/dev/pts/" "exec -it has a terminal"
assert_contains "$out" "exec-it-ok" "exec -it stdin is a terminal"
out=$(script -qec "timeout -k 5 --foreground 60 env DOCKER_CONFIG=$T/docker-config /usr/bin/docker -H unix://$DSOCK run --rm -it --network none $IMG sh -c 'tty; echo run-it-ok'" /dev/null </dev/null 2>&1)
assert_contains "$out" "run-it-ok" "run --rm -it"
wait_for 10 bash -c "env DOCKER_CONFIG=$T/docker-config /usr/bin/docker -H unix://$DSOCK logs web 2>&1 | grep -q to-stderr" || fail "logs: $(D logs web 2>&1)"
assert_eq "$(D logs web 2>/dev/null)" "started-web" "logs: stdout"
assert_eq "$(D logs web 2>&1 >/dev/null)" "to-stderr" "logs: stderr"
assert_contains "$(D top web)" "sleep 1000" "top lists the container's process"
out=$(D stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}}' web)
[[ "$out" =~ ^web\ [0-9.]+[KMG]i?B\ /\ [0-9.]+[KMGT]i?B\ 1$ ]] || fail "stats --no-stream: [$out]"
[[ "$out" != "web 0B / 0B"* ]] || fail "stats carry no memory figures: [$out]"
assert_contains "$(D ps --format '{{.Names}} {{.Status}}')" "web Up" "ps: web Up"

log "the container is containerd's: ctr -n moby on berthd, our shim"
assert_contains "$(bctr -n moby containers ls)" "$cid" "ctr -n moby containers ls"
tl=$(bctr -n moby tasks ls | awk -v id="$cid" '$1 == id')
assert_contains "$tl" "RUNNING" "ctr -n moby tasks ls: RUNNING"
assert_eq "$(awk '{print $2}' <<<"$tl")" "$(D inspect -f '{{.State.Pid}}' web)" "the same init pid for ctr and docker"
assert_contains "$(bctr -n moby containers info "$cid")" '"io.containerd.runc.v2"' "docker asked for io.containerd.runc.v2"
shim=""
for p in /proc/[0-9]*; do
  tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "-namespace moby .*-id $cid" && shim=${p#/proc/}
done
[[ -n "$shim" ]] || fail "no shim process for $cid"
assert_eq "$(readlink "/proc/$shim/exe")" "$(readlink -f "$BERTH_BIN/containerd-shim-berth-v2")" "/proc/<shim pid>/exe"

log "pause/unpause, update --memory, cp both ways"
D pause web >/dev/null
assert_eq "$(D inspect -f '{{.State.Status}} {{.State.Paused}}' web)" "paused true" "paused"
assert_contains "$(bctr -n moby tasks ls | awk -v id="$cid" '$1 == id')" "PAUSED" "ctr sees PAUSED"
D unpause web >/dev/null
assert_eq "$(state_of web)" "running 0" "unpaused"
D update --memory 64m --memory-swap 128m web >/dev/null
assert_eq "$(D inspect -f '{{.HostConfig.Memory}}' web)" "67108864" "update --memory recorded"
assert_contains "$(D stats --no-stream --format '{{.MemUsage}}' web)" "/ 64MiB" "update --memory reached the cgroup"
printf 'copied-in\n' >"$T/cp-in.txt"
D cp "$T/cp-in.txt" web:/tmp/cp-in.txt
assert_eq "$(D exec web cat /tmp/cp-in.txt)" "copied-in" "cp into the container"
D exec web sh -c 'echo copied-out > /tmp/cp-out.txt'
D cp web:/tmp/cp-out.txt "$T/cp-out.txt"
assert_eq "$(cat "$T/cp-out.txt")" "copied-out" "cp out of the container"

log "stop -t, kill, start again, rm -f, ps -a states"
D stop -t 1 web >/dev/null
assert_eq "$(state_of web)" "exited 137" "stop -t 1 of a TERM-ignoring pid 1: KILLed after 1 s"
D start web >/dev/null
assert_eq "$(state_of web)" "running 0" "start again"
D kill web >/dev/null
wait_for 30 bash -c "[[ \"\$(env DOCKER_CONFIG=$T/docker-config /usr/bin/docker -H unix://$DSOCK inspect -f '{{.State.Status}}' web)\" == exited ]]" || fail "kill: $(state_of web)"
assert_eq "$(state_of web)" "exited 137" "kill: 137"
D run -d --name trap "${N[@]}" "$IMG" sh -c 'trap "exit 3" TERM; while true; do sleep 0.1; done' >/dev/null
D stop -t 30 trap >/dev/null
assert_eq "$(state_of trap)" "exited 3" "stop: the TERM handler's exit code"
D run --name ex5 "${N[@]}" "$IMG" sh -c 'exit 5' || true
assert_eq "$(state_of ex5)" "exited 5" "inspect: exit code of an attached run"
D create --name created "${N[@]}" "$IMG" true >/dev/null
D run -d --name up "${N[@]}" "$IMG" sleep 1000 >/dev/null
out=$(D ps -a --format '{{.Names}} {{.Status}}')
assert_contains "$out" "web Exited (137)" "ps -a: web"
assert_contains "$out" "trap Exited (3)" "ps -a: trap"
assert_contains "$out" "ex5 Exited (5)" "ps -a: ex5"
assert_contains "$out" "created Created" "ps -a: created"
assert_contains "$out" "up Up" "ps -a: up"
upid=$(D inspect -f '{{.Id}}' up)
D rm -f up web trap ex5 created >/dev/null
assert_eq "$(D ps -aq)" "" "rm -f removed them all"
wait_for 30 bash -c "! ctr --address '$SOCK' -n moby containers ls -q | grep -q $upid" || fail "rm -f left the containerd container"
assert_eq "$(bctr -n moby tasks ls -q)" "" "no tasks left on berthd"

log "restart policies"
D run -d --name onfail --restart on-failure:2 "${N[@]}" "$IMG" sh -c 'exit 3' >/dev/null
wait_for 90 bash -c "[[ \"\$(env DOCKER_CONFIG=$T/docker-config /usr/bin/docker -H unix://$DSOCK inspect -f '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' onfail)\" == '2 exited 3' ]]" ||
  fail "on-failure:2: $(D inspect -f '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' onfail)"
sleep 2
assert_eq "$(D inspect -f '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}' onfail)" "2 exited 3" "on-failure:2 stops after 2 restarts"
D run -d --name always --restart always "${N[@]}" "$IMG" sh -c 'echo run; exit 0' >/dev/null
wait_for 90 bash -c "(( \$(env DOCKER_CONFIG=$T/docker-config /usr/bin/docker -H unix://$DSOCK inspect -f '{{.RestartCount}}' always) >= 3 ))" ||
  fail "always: $(D inspect -f '{{.RestartCount}} {{.State.Status}}' always)"
wait_for 30 bash -c "(( \$(env DOCKER_CONFIG=$T/docker-config /usr/bin/docker -H unix://$DSOCK logs always 2>&1 | grep -c run) >= 4 ))" || fail "always: $(D logs always 2>&1)"
D rm -f always onfail >/dev/null

log "oom: a memory-limited container allocating past its limit"
rc=0; D run --name oom --memory 32m --memory-swap 32m "${N[@]}" "$IMG" sh -c 'tail /dev/zero' || rc=$?
assert_eq "$rc" 137 "the OOM-killed container exits 137"
assert_eq "$(D inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' oom)" "true 137" "inspect: OOMKilled"
D rm -f oom >/dev/null

log "docker events"
wait_for 20 grep -q 'container oom oom' "$T/docker-events.txt" || fail "no oom event: $(cat "$T/docker-events.txt")"
ev=$(cat "$T/docker-events.txt")
for e in "image pull" "container create web" "container start web" "container die web" \
  "container exec_start" "container pause web" "container unpause web" "container kill web" \
  "container stop trap" "container die onfail" "container die oom" "container destroy up"; do
  assert_contains "$ev" "$e" "docker events"
done
assert_eq "$(grep -c 'container start onfail' <<<"$ev")" 3 "on-failure:2: three starts"
assert_eq "$(grep -c 'container die onfail' <<<"$ev")" 3 "on-failure:2: three dies"
(($(grep -c 'container start always' <<<"$ev") >= 3)) || fail "restart always: fewer than 3 starts in the events"

log "DOCKER_BUILDKIT=0 docker build (FROM, RUN, COPY, CMD), then run it"
mkdir -p "$T/build-ctx"
printf 'from-the-context\n' >"$T/build-ctx/file.txt"
cat >"$T/build-ctx/Dockerfile" <<DF
FROM $IMG
RUN echo built-by-run > /built.txt && test -f /built.txt
COPY file.txt /copied.txt
CMD ["sh", "-c", "cat /built.txt /copied.txt"]
DF
out=$(DOCKER_BUILDKIT=0 D build --network none -t berth-built:1 "$T/build-ctx" 2>&1) || fail "docker build: $out"
assert_eq "$(D run --rm "${N[@]}" berth-built:1)" "built-by-run
from-the-context" "the built image runs its CMD"

log "berthd SIGKILLed and restarted under running Docker containers"
mkdir -p "$T/trigger"
for i in 1 2 3 4; do D run -d --name keep$i "${N[@]}" "$IMG" sleep 1000 >/dev/null; done
D run -d --name late "${N[@]}" -v "$T/trigger:/trigger" "$IMG" \
  sh -c 'while [ ! -e /trigger/go ]; do sleep 0.1; done; exit 9' >/dev/null
pids_before=$(for i in 1 2 3 4; do D inspect -f '{{.State.Pid}}' keep$i; done)
kill_berthd
touch "$T/trigger/go"
late_pid=$(D inspect -f '{{.State.Pid}}' late)
wait_for 30 bash -c "! kill -0 $late_pid" || fail "late did not exit while berthd was down"
start_berthd
for i in 1 2 3 4; do assert_eq "$(state_of keep$i)" "running 0" "keep$i still running"; done
assert_eq "$(for i in 1 2 3 4; do D inspect -f '{{.State.Pid}}' keep$i; done)" "$pids_before" "the same processes"
wait_for 60 bash -c "[[ \"\$(env DOCKER_CONFIG=$T/docker-config /usr/bin/docker -H unix://$DSOCK inspect -f '{{.State.Status}} {{.State.ExitCode}}' late)\" == 'exited 9' ]]" ||
  fail "the container that exited while berthd was down: [$(state_of late)], want [exited 9]"
assert_eq "$(D exec keep1 sh -c 'echo after-restart')" "after-restart" "exec after berthd restart"
D stop -t 1 keep2 >/dev/null
assert_eq "$(state_of keep2)" "exited 137" "stop after berthd restart"
D rm -f keep1 keep2 keep3 keep4 late >/dev/null

log "docker-compose: the compose tests' project (web with healthcheck and volume, client by name, worker x2)"
require_cmd docker-compose ip
# The same file test_berth_compose.sh runs with berth compose; the same observable result.
cp -r "$BERTH_SRC/tests/integration/compose-app" "$T/compose"
DC() { timeout -k 5 180 env DOCKER_HOST="unix://$DSOCK" DOCKER_CONFIG="$T/docker-config" IMAGE="$IMG" APP_SUBNET=10.213.202.0/24 docker-compose -p "bt$$" -f "$T/compose/compose.yaml" "$@"; }
bridges_before=$(ip -o link show type bridge | awk -F': ' '{print $2}' | sort)
out=$(DC up -d 2>&1) || fail "docker-compose up -d: $out"
comm -13 <(echo "$bridges_before") <(ip -o link show type bridge | awk -F': ' '{print $2}' | sort) >>"$T/docker-bridges"
wait_for 60 bash -c "[[ \"\$(env DOCKER_CONFIG=$T/docker-config /usr/bin/docker -H unix://$DSOCK inspect -f '{{.State.Status}} {{.State.ExitCode}}' bt$$_client_1 2>/dev/null)\" == 'exited 0' ]]" ||
  fail "compose: the client did not exit 0: $(DC ps 2>&1) $(DC logs client 2>&1)"
assert_contains "$(DC logs client)" "hello-from-web" "compose: the client fetched web's page by service name"
out=$(DC ps)
assert_contains "$out" "bt$$_web_1" "compose ps: web"
assert_contains "$out" "(healthy)" "compose ps: web is healthy"
assert_contains "$out" "bt$$_worker_1" "compose ps: worker 1"
assert_contains "$out" "bt$$_worker_2" "compose ps: worker 2"
assert_eq "$(D exec bt$$_web_1 cat /www/index.html)" "hello-from-web" "compose: the page is in web's volume"
out=$(DC down -v 2>&1) || fail "docker-compose down -v: $out"
assert_eq "$(D ps -aq)" "" "compose down removed the containers"
assert_not_contains "$(D network ls --format '{{.Name}}')" "bt$$_default" "compose down removed the network"
assert_not_contains "$(D volume ls --format '{{.Name}}')" "bt$$_page" "compose down -v removed the volume"

log "dockerd restarted with --live-restore keeps running containers and re-attaches"
kill -TERM "$DOCKERD_PID"; wait "$DOCKERD_PID" 2>/dev/null || true
start_dockerd --live-restore
D run -d --name live "${N[@]}" "$IMG" sh -c 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done' >/dev/null
lpid=$(D inspect -f '{{.State.Pid}}' live)
kill -TERM "$DOCKERD_PID"; wait "$DOCKERD_PID" 2>/dev/null || true
kill -0 "$lpid" || fail "live-restore: dockerd's shutdown stopped the container"
start_dockerd --live-restore
assert_eq "$(state_of live)" "running 0" "live-restore: still running"
assert_eq "$(D inspect -f '{{.State.Pid}}' live)" "$lpid" "live-restore: the same process"
n1=$(D logs live 2>&1 | wc -l)
wait_for 30 bash -c "(( \$(env DOCKER_CONFIG=$T/docker-config /usr/bin/docker -H unix://$DSOCK logs live 2>&1 | wc -l) > $n1 + 3 ))" || fail "live-restore: logs not re-attached"
assert_eq "$(D exec live echo live-exec)" "live-exec" "live-restore: exec"
D stop -t 1 live >/dev/null
assert_eq "$(state_of live)" "exited 137" "live-restore: stop"
D rm -f live >/dev/null

log "dockerd never touched the host's paths"
assert_eq "$(host_paths)" "$before" "/var/lib/docker, /run/docker.sock, /run/docker/*, /etc/docker/key.json untouched"
log "PASS"
