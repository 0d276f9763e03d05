# The shim contract matrix (issue 9): the same check on containerd-shim-berth-v2 and on containerd's
# own containerd-shim-runc-v2, the control. Source it after harness.sh.
#
# Checks do not stop the test at the first difference (errexit is off after sourcing this): each records "ok" or "DIVERGENCE" and
# shim_matrix_finish fails the test at the end when any check failed, so one run lists them all.
#
#   SHIM_RUNTIMES                 runtime names of the matrix: our shim by name, the control by
#                                 absolute path (berthd runs an absolute runtime path as is)
#   shim_label RT                 berth | runc (for container ids and messages)
#   check_eq ACTUAL WANT MSG, check_has TEXT NEEDLE MSG, check_hasnt TEXT NEEDLE MSG, check_true MSG CMD...
#   shim_matrix_finish            exit 1 when a check failed, else log PASS
#   shim_pid_of ID                pid of the shim process serving task ID on berthd (cwd = its bundle)
#   shim_exe_of ID                that shim's executable (readlink /proc/PID/exe)
#   shim_path_dir WHICH           a directory whose containerd-shim-runc-v2, -runc-v1 and -berth-v2 all run
#                                 WHICH's binary (berth: $BERTH_BIN's, runc: /usr/bin's)
#   start_berthd_shim WHICH       (re)starts berthd with that directory first in PATH, so that the runtime
#                                 name io.containerd.runc.v2 (the only one for which the stock ctr sends
#                                 --runc-binary/--runc-root/--uidmap as runc Options) runs WHICH
#   bctr_t SECS ARGS...           bctr under a timeout (TERM, which ctr run forwards to the task, then KILL)
#   task_status ID / wait_status ID STATUS   column 3 of ctr tasks ls; wait up to 20 s (fails at once
#                                 when the task does not exist)
#   host_pids_of CMDLINE          host pids whose whole command line is CMDLINE (words joined by spaces);
#                                 some_host_pids_of / no_host_pids_of CMDLINE test for them
#   exit_events FILE CID [EXEC_ID] the /tasks/exit lines of ctr events in FILE for that process

# A command that fails is a finding to record, not a reason to stop: no errexit from here on.
set +e

SHIM_RUNTIMES=(io.containerd.berth.v2 /usr/bin/containerd-shim-runc-v2)
SHIM_FAILS=0
CONTROL_SHIM=/usr/bin/containerd-shim-runc-v2

shim_label() { if [[ "$1" == *berth* ]]; then echo berth; else echo runc; fi; }

check_ok() { log "ok: $*"; }
check_bad() {
  log "DIVERGENCE: $*"
  SHIM_FAILS=$((SHIM_FAILS + 1))
}
check_eq() { if [[ "$1" == "$2" ]]; then check_ok "$3"; else check_bad "$3: expected [$2], got [$1]"; fi; }
check_has() { if [[ "$1" == *"$2"* ]]; then check_ok "$3"; else check_bad "$3: [$2] not in [$1]"; fi; }
check_hasnt() { if [[ "$1" != *"$2"* ]]; then check_ok "$3"; else check_bad "$3: [$2] found in [$1]"; fi; }
check_true() {
  local msg=$1
  shift
  if "$@"; then check_ok "$msg"; else check_bad "$msg"; fi
}
shim_matrix_finish() {
  if ((SHIM_FAILS > 0)); then
    log "---- last lines of berthd.log ----"
    tail -n 30 "$T/berthd.log" >&2 || true
    log "FAIL: $SHIM_FAILS check(s) diverged"
    exit 1
  fi
  log "PASS"
}

shim_pid_of() {
  local bundle="$STATE/io.containerd.runtime.v2.task/$CONTAINERD_NAMESPACE/$1" p
  for p in /proc/[0-9]*; do
    [[ "$(readlink "$p/cwd" 2>/dev/null)" == "$bundle" ]] || continue
    [[ "$(readlink "$p/exe" 2>/dev/null)" == *containerd-shim* ]] || continue
    echo "${p#/proc/}"
    return 0
  done
  return 1
}
shim_exe_of() {
  local pid
  pid=$(shim_pid_of "$1") || return 1
  readlink "/proc/$pid/exe"
}

shim_binary_of() {  # WHICH -> the real binary
  if [[ "$1" == berth ]]; then readlink -f "$BERTH_BIN/containerd-shim-berth-v2"; else echo "$CONTROL_SHIM"; fi
}
shim_path_dir() {
  local dir="$T/shim-path-$1" bin n
  bin=$(shim_binary_of "$1")
  mkdir -p "$dir"
  for n in containerd-shim-runc-v2 containerd-shim-runc-v1 containerd-shim-berth-v2; do ln -sf "$bin" "$dir/$n"; done
  echo "$dir"
}
start_berthd_shim() {
  local dir
  dir=$(shim_path_dir "$1")
  stop_berthd
  BERTHD_PATH_PREFIX="$dir" start_berthd
}

bctr_t() {
  local secs=$1
  shift
  timeout -k 5 "$secs" ctr --address "$SOCK" "$@"
}

task_status() { bctr tasks ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}'; }
wait_status() {  # fails at once when the task does not exist
  local end=$((SECONDS + 20)) st
  while :; do
    st=$(task_status "$1")
    [[ "$st" == "$2" ]] && return 0
    [[ -n "$st" && $SECONDS -lt $end ]] || return 1
    sleep 0.1
  done
}

host_pids_of() { pgrep -x -f -- "$1" || true; }
some_host_pids_of() { [[ -n "$(host_pids_of "$1")" ]]; }
no_host_pids_of() { [[ -z "$(host_pids_of "$1")" ]]; }

exit_events() {
  local file=$1 cid=$2 eid=${3:-$2}
  grep -F -- "/tasks/exit " "$file" | grep -F -- "\"container_id\":\"$cid\"" | grep -F -- "\"id\":\"$eid\"" || true
}
count_lines() { if [[ -z "$1" ]]; then echo 0; else wc -l <<<"$1" | tr -d ' '; fi; }
