#!/usr/bin/env bash
# Container health checks (berth CLI, issue 14's healthcheck): `berth internal health-monitor`
# runs the probe in the container at its interval and keeps the status in the container's labels:
# "starting" until a probe passes, "healthy" after one, "unhealthy" after `retries` failures in
# a row; a probe that outlives its timeout fails; the monitor ends when the container is deleted.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc
start_registry
push_busybox_image busybox:health
IMG="$REGISTRY/busybox:health"
start_berthd
bctr_pull "$IMG"
export BERTH_ADDRESS="$SOCK" BERTH_NAMESPACE="$CONTAINERD_NAMESPACE" BERTH_FIFO_DIR="$T/fifo"
berth() { "$BERTH_BIN/berth" "$@"; }
label_of() { bctr containers info "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("Labels", {}).get(sys.argv[1], ""))' "$2"; }
status_is() { [[ "$(label_of "$1" berth.health.status)" == "$2" ]]; }

cfg='{"test":["CMD-SHELL","test -f /tmp/ok"],"interval":300000000,"timeout":2000000000,"start_period":0,"retries":2}'
bctr run -d --label "berth.health.config=$cfg" "$IMG" h1 sleep 600 >/dev/null
"$BERTH_BIN/berth" internal health-monitor h1 &
MON=$!
HARNESS_PIDS+=("$MON")

log "no probe has passed: starting, then unhealthy after 2 failures"
wait_for 20 status_is h1 unhealthy || fail "h1 not unhealthy: $(label_of h1 berth.health.status)"
streak=$(label_of h1 berth.health.streak)
((streak >= 2)) || fail "failing streak $streak below retries"
log "berth ps shows the status"
assert_contains "$(berth ps)" "(unhealthy)" "ps shows unhealthy"

log "the probe passes once /tmp/ok exists: healthy, streak 0"
bctr tasks exec --exec-id mk h1 touch /tmp/ok
wait_for 20 status_is h1 healthy || fail "h1 not healthy: $(label_of h1 berth.health.status)"
assert_eq "$(label_of h1 berth.health.streak)" "0" "streak reset"
assert_contains "$(berth ps)" "(healthy)" "ps shows healthy"

log "a probe that outlives its timeout fails"
cfg2='{"test":["CMD","sleep","5"],"interval":200000000,"timeout":300000000,"retries":1}'
bctr run -d --label "berth.health.config=$cfg2" "$IMG" h2 sleep 600 >/dev/null
"$BERTH_BIN/berth" internal health-monitor h2 &
MON2=$!
HARNESS_PIDS+=("$MON2")
wait_for 30 status_is h2 unhealthy || fail "h2 not unhealthy: $(label_of h2 berth.health.status)"
# The killed probe leaves no process behind in the container.
wait_for 15 bash -c "! bctr() { ctr --address '$SOCK' \"\$@\"; }; ! ctr --address '$SOCK' tasks ps h2 | grep -q health-" ||
  fail "timed-out probe still listed: $(bctr tasks ps h2)"

log "deleting the container ends its monitor"
bctr tasks kill -s KILL h1
wait_for 20 bash -c "! ctr --address '$SOCK' tasks ls -q | grep -qx h1" || true
bctr tasks delete h1 >/dev/null 2>&1 || true
bctr containers delete h1
wait_for 20 bash -c "! kill -0 $MON 2>/dev/null" || fail "monitor of h1 still running after its container was deleted"
wait "$MON" || fail "monitor exited with $?"
bctr tasks kill -s KILL h2 >/dev/null 2>&1

log "berth run -d --health-cmd: the monitor starts with the container, ps shows the status, rm ends it"
berth run -d --name h3 --health-cmd 'test -f /tmp/ok' --health-interval 300ms --health-timeout 2s --health-retries 1 "$IMG" sleep 600 >/dev/null
id3=$(berth inspect -f '{{.Id}}' h3)
monitor_of_h3() { pgrep -f -- "internal health-monito[r] $id3" >/dev/null; }
wait_for 20 monitor_of_h3 || fail "no health monitor for h3"
wait_for 20 status_is "$id3" unhealthy || fail "h3 not unhealthy: $(label_of "$id3" berth.health.status)"
berth exec h3 touch /tmp/ok
wait_for 20 status_is "$id3" healthy || fail "h3 not healthy: $(label_of "$id3" berth.health.status)"
assert_contains "$(berth ps)" "(healthy)" "ps shows h3 healthy"
berth rm -f h3 >/dev/null
wait_for 60 bash -c "! pgrep -f -- 'internal health-monito[r] $id3' >/dev/null" || fail "h3's monitor outlived the container"
log "PASS"
