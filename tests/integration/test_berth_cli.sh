#!/usr/bin/env bash
# Issue 6: the berth CLI runs real containers through berthd, docker-like: run (attached with
# exit codes, stdout/stderr apart, -e, -i, -t, -d, --name, --rm, missing image pulled first,
# spec from the image config, -d --rm removed by berthd at exit), ps (-a, -q, --format json), exec (-t, exit codes), logs (-f),
# stats, pause, unpause, stop, kill, rm (-f), signals forwarded to attached containers, clean errors with docker's exit
# codes; each with our shim and with io.containerd.runc.v2 when it is installed. The stock ctr
# sees the same containers. A -d container outlives a berthd SIGKILL and keeps logging.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc script python3
start_registry
push_busybox_image busybox:cli
IMG="$REGISTRY/busybox:cli"

start_berthd
export BERTH_ADDRESS="$SOCK" BERTH_NAMESPACE="$CONTAINERD_NAMESPACE"
export BERTH_FIFO_DIR="$T/fifo" BERTH_LOG_DIR="$T/logs"
berth() { "$BERTH_BIN/berth" "$@"; }
# json_get JSON ID FIELD: FIELD of the container ID in `berth ps --format json` output.
json_get() {
  python3 -c 'import json,sys; print(next((str(c[sys.argv[3]]) for c in json.loads(sys.argv[1]) if c["id"] == sys.argv[2]), "absent"))' "$@"
}

log "berth run pulls a missing image first"
out=$(berth run --rm --plain-http "$IMG" echo first 2>"$T/pull.err") || fail "run with pull: $(cat "$T/pull.err")"
assert_eq "$out" "first" "output after pull"
assert_contains "$(cat "$T/pull.err")" "Unable to find image '$IMG' locally" "pull announced on stderr"
assert_contains "$(berth images -q)" "$IMG" "image pulled"

log "the image config shapes the process: Env, Cmd, WorkingDir"
assert_eq "$(berth run --rm "$IMG" sh -c 'echo $PATH; pwd')" $'/usr/sbin:/usr/bin:/sbin:/bin\n/' "image env and cwd"
assert_eq "$(echo 'echo from-default-cmd' | berth run --rm -i "$IMG")" "from-default-cmd" "image Cmd (sh) reads stdin"

log "the spec's defaults: capabilities, no_new_privs, seccomp, masked and read-only paths"
st=$(berth run --rm "$IMG" sh -c 'grep -E "^(CapBnd|CapEff|NoNewPrivs|Seccomp):" /proc/self/status')
assert_contains "$st" $'CapBnd:\t00000000a80425fb' "docker's default bounding set"
assert_contains "$st" $'CapEff:\t00000000a80425fb' "docker's default effective set"
assert_contains "$st" $'NoNewPrivs:\t1' "no_new_privs"
assert_contains "$st" $'Seccomp:\t2' "a seccomp filter"
# unshare is outside the default allow-list (ctr's default spec has no seccomp and allows it).
berth run --rm "$IMG" unshare -U true 2>/dev/null && fail "unshare allowed: seccomp profile not applied"
if [[ -s /proc/timer_list ]]; then
  assert_eq "$(berth run --rm "$IMG" sh -c 'wc -c </proc/timer_list; ls /sys/firmware | wc -l')" $'0\n0' "masked paths"
fi
berth run --rm "$IMG" sh -c 'echo x >/proc/sys/kernel/hostname' 2>/dev/null && fail "/proc/sys is writable"
assert_eq "$(berth run --rm --name hn-test "$IMG" hostname)" "hn-test" "hostname is the container name"

log "short names are normalised as docker does"
bctr images tag "$IMG" docker.io/library/bbtest:latest >/dev/null
assert_eq "$(berth run --rm bbtest echo normalised)" "normalised" "bbtest -> docker.io/library/bbtest:latest"

runtimes=(io.containerd.berth.v2)
[[ -x /usr/bin/containerd-shim-runc-v2 ]] && runtimes+=(/usr/bin/containerd-shim-runc-v2)

for rt in "${runtimes[@]}"; do
  short=${rt##*/}
  short=${short#io.containerd.}
  short=${short#containerd-shim-}
  short=${short%.v2}
  short=${short%-v2}
  R=(--runtime "$rt")

  log "[$rt] attached: output, exit codes, stdout and stderr apart, -e, -i"
  assert_eq "$(berth run --rm "${R[@]}" "$IMG" echo hi)" "hi" "echo hi"
  rc=0; berth run --rm "${R[@]}" "$IMG" sh -c 'exit 3' || rc=$?
  assert_eq "$rc" 3 "exit code 3"
  berth run --rm "${R[@]}" "$IMG" sh -c 'echo to-out; echo to-err >&2' >"$T/o" 2>"$T/e"
  assert_eq "$(cat "$T/o")" "to-out" "stdout alone"
  assert_eq "$(cat "$T/e")" "to-err" "stderr alone"
  assert_eq "$(FOO=from-us berth run --rm "${R[@]}" -e A=1 -e FOO -e PATH=/bin "$IMG" sh -c 'echo $A $FOO $PATH')" \
    "1 from-us /bin" "-e KEY=VALUE, -e KEY, image env overridden"
  assert_eq "$(printf 'line1\nline2\n' | berth run --rm -i "${R[@]}" "$IMG" sh -c 'cat; echo eof-seen')" \
    $'line1\nline2\neof-seen' "stdin copied, EOF delivered"
  head -c 1000000 /dev/urandom | base64 -w 0 >"$T/big"
  berth run --rm -i "${R[@]}" "$IMG" cat <"$T/big" >"$T/big.out"
  cmp -s "$T/big" "$T/big.out" || fail "1.3 MB through stdin and stdout differs"

  log "[$rt] -t gives a terminal"
  # --foreground: script runs this under $SHELL (dash in CI), which forks (see test_run.sh).
  out=$(script -qec "timeout --foreground 60 $BERTH_BIN/berth run --rm -t ${R[*]} $IMG sh -c 'tty; test -t 0 && echo is-a-tty'" /dev/null </dev/null 2>&1)
  assert_contains "$out" "/dev/pts/" "tty inside"
  assert_contains "$out" "is-a-tty" "stdin is a terminal"

  log "[$rt] a signal to berth reaches the attached process"
  "$BERTH_BIN/berth" run --rm "${R[@]}" --name sig-$short "$IMG" \
    sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while true; do sleep 0.1; done' >"$T/sig.out" &
  bpid=$!
  HARNESS_PIDS+=("$bpid")  # killed by the cleanup if the test fails before waiting for it
  wait_for 30 grep -q ready "$T/sig.out" || fail "signal container did not start"
  kill -TERM "$bpid"
  rc=0; wait "$bpid" || rc=$?
  assert_eq "$rc" 7 "exit status after forwarded SIGTERM"
  assert_contains "$(cat "$T/sig.out")" "got-term" "trap ran"

  log "[$rt] -d --name, ps, logs, exec"
  id=$(berth run -d "${R[@]}" --name web-$short "$IMG" sh -c 'echo started; echo to-err >&2; exec sleep 1000')
  assert_eq "$id" "web-$short" "run -d prints the id"
  ps_out=$(berth ps)
  assert_contains "$ps_out" "CONTAINER ID" "ps header"
  assert_contains "$ps_out" "web-$short" "ps lists it"
  assert_contains "$ps_out" "Up " "ps: Up"
  json=$(berth ps --format json)
  assert_eq "$(json_get "$json" web-$short state)" running "json state"
  assert_eq "$(json_get "$json" web-$short runtime)" "$rt" "json runtime"
  assert_eq "$(json_get "$json" web-$short image)" "$IMG" "json image"
  pid=$(json_get "$json" web-$short pid)
  assert_eq "$(bctr tasks ls | awk -v id=web-$short '$1 == id {print $2 " " $3}')" "$pid RUNNING" "ctr sees the task"
  wait_for 10 sh -c "'$BERTH_BIN/berth' logs web-$short | grep -c -e started -e to-err | grep -qx 2" || fail "logs: $(berth logs web-$short 2>&1)"
  # stdout and stderr are two pipes: their relative order in the shared log is not defined.
  assert_eq "$(berth logs web-$short | sort)" $'started\nto-err' "logs has stdout and stderr"
  assert_eq "$(berth exec web-$short echo exec-ok)" "exec-ok" "exec output"
  assert_eq "$(berth exec -e PATH=/bin -e X=y web-$short sh -c 'echo $PATH $X')" "/bin y" "exec -e replaces and adds"
  rc=0; berth exec web-$short sh -c 'exit 5' || rc=$?
  assert_eq "$rc" 5 "exec exit code"
  rc=0; berth exec web-$short no-such-command 2>"$T/exec.err" || rc=$?
  assert_eq "$rc" 127 "exec of a missing command"
  out=$(script -qec "timeout --foreground 60 $BERTH_BIN/berth exec -t web-$short sh -c 'tty; echo exec-tty-ok'" /dev/null </dev/null 2>&1)
  assert_contains "$out" "/dev/pts/" "exec -t has a tty"
  assert_contains "$out" "exec-tty-ok" "exec -t output"

  log "[$rt] stats"
  berth run -d "${R[@]}" --name busy-loop-$short "$IMG" sh -c 'while :; do :; done' >/dev/null
  st=$(berth stats web-$short busy-loop-$short)
  assert_contains "$st" "MEM USAGE / LIMIT" "stats header"
  assert_contains "$st" "web-$short" "stats row"
  sj=$(berth stats --format json busy-loop-$short)
  python3 - "$sj" <<'PY' || fail "stats json: $sj"
import json, sys
s = json.loads(sys.argv[1])[0]
assert s["pids"] >= 1 and s["memory_usage"] > 0 and s["memory_limit"] >= s["memory_usage"], s
assert s["cpu_percent"] > 0, s  # a busy loop used some CPU in half a second
PY
  berth rm -f busy-loop-$short >/dev/null

  log "[$rt] pause and unpause"
  assert_eq "$(berth pause web-$short)" "web-$short" "pause prints the id"
  assert_contains "$(berth ps)" "(Paused)" "ps shows Paused"
  assert_eq "$(json_get "$(berth ps --format json)" web-$short state)" paused "json state paused"
  assert_eq "$(berth unpause web-$short)" "web-$short" "unpause prints the id"
  assert_eq "$(json_get "$(berth ps --format json)" web-$short state)" running "json state running again"

  log "[$rt] logs -f follows until the container exits"
  berth run -d "${R[@]}" --name follow-$short "$IMG" sh -c 'for i in 1 2 3; do echo tick$i; sleep 0.3; done' >/dev/null
  out=$(timeout 30 "$BERTH_BIN/berth" logs -f follow-$short)
  assert_eq "$out" $'tick1\ntick2\ntick3' "logs -f"

  log "[$rt] stop: TERM ignored by pid 1, SIGKILL after the grace period"
  assert_eq "$(berth stop -t 1 web-$short)" "web-$short" "stop prints the id"
  assert_not_contains "$(berth ps)" "web-$short" "ps without -a hides it"
  assert_contains "$(berth ps -a)" "Exited (137)" "ps -a: Exited (137)"
  assert_not_contains "$(bctr tasks ls)" "web-$short" "stop deleted the task"
  assert_eq "$(berth logs web-$short | sort)" $'started\nto-err' "logs kept after stop"

  log "[$rt] kill by id prefix; a generated id"
  kid=$(berth run -d "${R[@]}" "$IMG" sleep 1000)
  [[ "$kid" =~ ^[0-9a-f]{64}$ ]] || fail "generated id: $kid"
  assert_contains "$(berth ps -q)" "${kid:0:12}" "ps -q short id"
  # pid 1 of a pid namespace ignores TERM without a handler, so this kill changes nothing...
  assert_eq "$(berth kill -s TERM "${kid:0:8}")" "${kid:0:8}" "kill -s TERM by prefix"
  sleep 0.3
  assert_eq "$(json_get "$(berth ps --format json)" "$kid" state)" running "TERM ignored by pid 1"
  # ...and the default, KILL, ends it.
  assert_eq "$(berth kill "${kid:0:12}")" "${kid:0:12}" "kill by prefix"
  exited_137() { [[ $(json_get "$(berth ps -a --format json)" "$kid" exit_code) == 137 ]]; }
  wait_for 10 exited_137 || fail "killed container: $(berth ps -a)"
  # Its task is still there, stopped: berthd's Tasks.List filter (status!=stopped) hides it.
  assert_contains "$(bctr tasks ls)" "STOPPED" "ctr sees the stopped task"
  assert_not_contains "$(berth ps)" "${kid:0:12}" "ps without -a hides a stopped task"

  log "[$rt] rm refuses a running container, rm -f removes it; rm removes snapshot and log"
  berth run -d "${R[@]}" --name busy-$short "$IMG" sleep 1000 >/dev/null
  rc=0; berth rm busy-$short 2>"$T/rm.err" || rc=$?
  assert_eq "$rc" 1 "rm of a running container fails"
  assert_contains "$(cat "$T/rm.err")" "is running" "rm error"
  assert_eq "$(berth rm -f busy-$short)" "busy-$short" "rm -f"
  berth rm web-$short follow-$short "$kid" >/dev/null
  assert_eq "$(berth ps -a -q)" "" "ps -a empty"
  assert_not_contains "$(bctr snapshots ls)" "web-$short" "snapshot removed"
  [[ ! -e "$T/logs/$CONTAINERD_NAMESPACE/web-$short.log" ]] || fail "log file left behind"

  log "[$rt] -d --rm: berthd removes the container when its process exits"
  berth run -d --rm "${R[@]}" --name auto-$short "$IMG" sh -c 'echo bye; sleep 0.5' >/dev/null
  gone() { [[ $(json_get "$(berth ps -a --format json)" auto-$short state) == absent ]]; }
  wait_for 20 gone || fail "auto-removed container still listed: $(berth ps -a)"
  assert_not_contains "$(bctr snapshots ls)" "auto-$short" "its snapshot went too"
  assert_not_contains "$(bctr tasks ls)" "auto-$short" "its task went too"
  berth run -d "${R[@]}" --name sweeper-$short "$IMG" true >/dev/null
  [[ ! -e "$T/logs/$CONTAINERD_NAMESPACE/auto-$short.log" ]] || fail "auto-removed container's log left behind"
  berth rm sweeper-$short >/dev/null

  log "[$rt] attached without --rm: the task goes, the exit stays"
  rc=0; berth run "${R[@]}" --name keep-$short "$IMG" sh -c 'exit 4' || rc=$?
  assert_eq "$rc" 4 "exit code"
  assert_eq "$(json_get "$(berth ps -a --format json)" keep-$short exit_code)" 4 "ps -a json exit_code"
  assert_not_contains "$(bctr tasks ls)" "keep-$short" "no task left"
  assert_contains "$(bctr containers ls)" "keep-$short" "ctr sees the container"
  berth rm keep-$short >/dev/null

  log "[$rt] errors"
  rc=0; berth run --rm "${R[@]}" "$IMG" /no/such/binary 2>"$T/err" || rc=$?
  assert_eq "$rc" 127 "missing command: 127"
  rc=0; berth run --rm --plain-http "${R[@]}" "$REGISTRY/busybox:no-such-tag" true 2>"$T/err" || rc=$?
  assert_eq "$rc" 125 "missing image: 125"
  assert_contains "$(cat "$T/err")" "not found" "missing image error"
  berth run -d "${R[@]}" --name dup-$short "$IMG" sleep 1000 >/dev/null
  rc=0; berth run -d "${R[@]}" --name dup-$short "$IMG" true 2>"$T/err" || rc=$?
  assert_eq "$rc" 125 "duplicate name: 125"
  assert_contains "$(cat "$T/err")" "already in use" "duplicate name error"
  rc=0; berth logs nope-$short 2>"$T/err" || rc=$?
  assert_eq "$rc" 1 "logs of an unknown container"
  assert_contains "$(cat "$T/err")" "no such container" "unknown container error"
  berth rm -f dup-$short >/dev/null
  assert_eq "$(berth ps -a -q)" "" "nothing left behind by failures"
done

log "berthd killed and restarted: a -d container keeps running and logging, berth still drives it"
berth run -d --name survivor "$IMG" sh -c 'i=0; while :; do echo line$i; i=$((i+1)); sleep 0.1; done' >/dev/null
has_line() { berth logs survivor | grep -qx "$1"; }
wait_for 20 has_line line3 || fail "survivor logs: $(berth logs survivor 2>&1 | tail -3)"
pid_before=$(json_get "$(berth ps --format json)" survivor pid)
# An attached run across the restart: its output goes on (the FIFOs are the shim's) and berth
# waits again once berthd is back, then exits with the process's status.
# Both without a network: CNI ADD/DEL would stretch the 2 s window the attached run must outlive.
"$BERTH_BIN/berth" run --rm --network none --name attached "$IMG" sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do echo a$i; sleep 0.2; done; exit 6' \
  >"$T/attached.out" 2>"$T/attached.err" &
attached_pid=$!
HARNESS_PIDS+=("$attached_pid")
wait_for 20 grep -q a2 "$T/attached.out" || fail "attached run did not start: $(cat "$T/attached.err")"
# A -d --rm container that exits while berthd is down is removed once berthd is back.
berth run -d --rm --network none --name auto-down "$IMG" sleep 1 >/dev/null
kill_berthd
lines_down=$(wc -l <"$T/logs/$CONTAINERD_NAMESPACE/survivor.log")
sleep 0.5
(( $(wc -l <"$T/logs/$CONTAINERD_NAMESPACE/survivor.log") > lines_down )) || fail "the shim stopped logging with berthd down"
sleep 1  # auto-down has exited by now
start_berthd
auto_down_gone() { [[ $(json_get "$(berth ps -a --format json)" auto-down state) == absent ]]; }
wait_for 20 auto_down_gone || fail "auto-down not removed after the restart: $(berth ps -a)"
rc=0; wait "$attached_pid" || rc=$?
assert_eq "$rc" 6 "attached run's exit status across the restart ($(cat "$T/attached.err"))"
assert_eq "$(cat "$T/attached.out")" "$(printf 'a%s\n' 1 2 3 4 5 6 7 8 9 10)" "attached output complete across the restart"
assert_eq "$(json_get "$(berth ps -a --format json)" attached state)" absent "attached --rm container removed"
assert_eq "$(json_get "$(berth ps --format json)" survivor pid)" "$pid_before" "same pid after the restart"
assert_eq "$(json_get "$(berth ps --format json)" survivor state)" running "still running"
assert_eq "$(berth exec survivor echo after-restart)" "after-restart" "exec after the restart"
n=$(berth logs survivor | wc -l)
wait_for 20 has_line "line$((n + 3))" || fail "no new log lines after the restart"
assert_eq "$(berth stop -t 1 survivor)" "survivor" "stop after the restart"
assert_eq "$(json_get "$(berth ps -a --format json)" survivor exit_code)" 137 "exit code after the restart"
berth rm survivor >/dev/null

log "no task, container or FIFO left"
assert_eq "$(bctr tasks ls -q)" "" "tasks ls empty"
assert_eq "$(bctr containers ls -q)" "" "containers ls empty"
assert_eq "$(find "$T/fifo" -mindepth 1 2>/dev/null)" "" "FIFO dirs removed"

log "PASS"
