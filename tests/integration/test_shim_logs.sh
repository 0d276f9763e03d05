#!/usr/bin/env bash
# Issue 10: berthd reads each shim's `log` FIFO and writes its lines to its own log, tagged
# "shim <namespace>/<id>:", for berth's shim and containerd's containerd-shim-runc-v2 (both get
# -debug because berthd runs at debug level, as containerd passes it), and re-opens the FIFO of
# every reconnected shim after a restart (SIGTERM and SIGKILL): a line the shim writes after the
# restart appears in the new berthd's log.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc
start_registry
push_busybox_image busybox:shimlogs
IMG="$REGISTRY/busybox:shimlogs"
start_berthd
bctr_pull "$IMG"

NS=$CONTAINERD_NAMESPACE
ids=(lb)
declare -A rt=([lb]=io.containerd.berth.v2)
if [[ -x /usr/bin/containerd-shim-runc-v2 ]]; then
  ids+=(lr)
  rt[lr]=/usr/bin/containerd-shim-runc-v2
else
  log "no /usr/bin/containerd-shim-runc-v2: containerd's shim not tested"
fi

for id in "${ids[@]}"; do
  timeout 60 ctr --address "$SOCK" run -d --runtime "${rt[$id]}" "$IMG" "$id" sleep 600
done

# shim_lines_since LINE ID: lines of berthd.log after LINE forwarded from ID's shim.
shim_lines_since() { tail -n +"$(($1 + 1))" "$T/berthd.log" | grep -F "shim $NS/$2: " || true; }
# make_shim_log ID N: makes the shim write to its log now. berth's shim logs an exec's exit at
# debug level; containerd's logs a goroutine dump on SIGUSR1 (its documented debugging aid).
make_shim_log() {
  local out
  out=$(timeout 30 ctr --address "$SOCK" tasks exec --exec-id "x$2" "$1" true 2>&1) || fail "exec in $1: $out"
  if [[ ${rt[$1]} == */containerd-shim-runc-v2 ]]; then
    local pid
    pid=$(shim_of "$1")
    [[ -n $pid ]] || fail "no shim process for $1"
    kill -USR1 "$pid"
  fi
}
check_forwarded() {
  local mark=$1 what=$2 id
  for id in "${ids[@]}"; do
    make_shim_log "$id" "$RANDOM"
    wait_for 10 bash -c "[[ -n \"\$(tail -n +$((mark + 1)) '$T/berthd.log' | grep -F 'shim $NS/$id: ')\" ]]" ||
      fail "$what: no line of ${rt[$id]}'s log in berthd's log; $(ls -l "$STATE/io.containerd.runtime.v2.task/$NS/$id/")"
    log "$what, ${rt[$id]}: $(shim_lines_since "$mark" "$id" | tail -n 1)"
  done
}

check_forwarded 0 "first berthd"

log "SIGTERM restart"
stop_berthd
mark=$(wc -l <"$T/berthd.log")
start_berthd
check_forwarded "$mark" "after a SIGTERM restart"

log "SIGKILL restart"
kill_berthd
mark=$(wc -l <"$T/berthd.log")
start_berthd
check_forwarded "$mark" "after a SIGKILL restart"

for id in "${ids[@]}"; do bctr tasks kill -s SIGKILL "$id"; done
for id in "${ids[@]}"; do
  wait_for 20 bash -c "ctr --address '$SOCK' tasks ls | grep -q '^$id .*STOPPED'" || fail "$id not stopped"
  bctr tasks rm "$id" >/dev/null
  bctr containers rm "$id"
done
log "PASS"
