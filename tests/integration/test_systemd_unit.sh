#!/usr/bin/env bash
# The shipped unit passes systemd-analyze verify and keeps the settings a production container
# runtime needs (shims survive restarts, readiness through sd_notify).
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_cmd systemd-analyze
unit="$BERTH_SRC/contrib/systemd/berthd.service"
# Verify a copy whose ExecStart points at the binary just built (the installed path may not exist).
sed "s|/usr/local/bin/berthd|$BERTH_BIN/berthd|" "$unit" >"$T/berthd.service"
out=$(systemd-analyze verify "$T/berthd.service" 2>&1) || fail "systemd-analyze verify failed: $out"
# verify prints warnings for problems it does not treat as fatal; accept none about our unit.
if grep -i "berthd.service" <<<"$out" | grep -vi "modprobe" >/dev/null; then
  fail "systemd-analyze warnings: $out"
fi
for setting in "Type=notify" "KillMode=process" "Delegate=yes" "Restart=always" "LimitNOFILE=infinity" \
  "TasksMax=infinity" "OOMScoreAdjust=-999"; do
  grep -qx "$setting" "$unit" || fail "unit lacks $setting"
done
log "PASS"
