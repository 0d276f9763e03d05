#!/usr/bin/env bash
# Issues 9 and 10: berthd's configuration as containerd's. `berthd config default` prints a
# complete commented file that berthd loads without a warning (through -c and --config);
# `berthd config dump` prints the effective config (file and flags) with the runtime table and
# where each shim resolves; unknown keys are warnings naming file and line. With the default
# config, `ctr run -d` (default runtime io.containerd.runc.v2) runs containerd-shim-berth-v2; one
# config line switches runc.v2 to containerd's shim; Introspection lists the runtimes; a bad
# BinaryName from the config makes task creation fail naming the binary, with our shim and with
# /usr/bin/containerd-shim-runc-v2 given by absolute path as the runtime; the legacy runtime
# io.containerd.runtime.v1.linux runs through the v2 shim with [plugins.linux] runtime honoured.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc
# With the build tree first in PATH, as start_berthd runs it: the shim under test resolves there.
B() { PATH="$BERTH_BIN:$PATH" "$BERTH_BIN/berthd" "$@"; }

# config_warnings FILE: the WARN lines berthd logged about its configuration.
config_warnings() { grep -E 'WARN .*config: ' "$1" || true; }

# shim_exe ID: the executable of the shim running task ID (the parent of its init process).
shim_exe() {
  local pid ppid
  pid=$(bctr tasks ls | awk -v id="$1" '$1 == id {print $2}')
  [[ -n "$pid" && "$pid" != 0 ]] || fail "task $1 has no pid"
  ppid=$(awk '{print $4}' "/proc/$pid/stat")
  readlink "/proc/$ppid/exe"
}

remove_task() {
  bctr tasks kill -s KILL "$1" >/dev/null 2>&1 || true
  wait_for 30 bash -c "! ctr --address '$SOCK' tasks ls | awk '\$1 == \"$1\" && \$3 == \"RUNNING\"' | grep -q ."
  bctr tasks rm "$1" >/dev/null 2>&1 || true
  bctr containers rm "$1" >/dev/null 2>&1 || true
}

log "berthd config default"
B config default >"$T/default.toml" 2>"$T/default.err" || fail "config default: $(cat "$T/default.err")"
def=$(cat "$T/default.toml")
for key in 'version = 2' 'root = "/var/lib/berth"' 'state = "/run/berth"' '[grpc]' \
  'address = "/run/berth/berthd.sock"' 'max_recv_message_size = 16777216' '[ttrpc]' '[debug]' \
  'level = "info"' '[cgroup]' '[runtimes."io.containerd.runc.v2"]' '[runtimes."io.containerd.runc.v1"]' \
  '[runtimes."io.containerd.runtime.v1.linux"]' 'shim = "containerd-shim-berth-v2"' \
  '[plugins."io.containerd.internal.v1.restart"]' 'interval = "10s"' \
  '[plugins."io.containerd.runtime.v1.linux"]' 'runtime = "runc"' \
  '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]' 'runtime_type = "io.containerd.runc.v2"' \
  'BinaryName = ""' 'SystemdCgroup = false'; do
  assert_contains "$def" "$key" "config default"
done
ncomments=$(grep -c '^ *# ' "$T/default.toml")
((ncomments >= 20)) || fail "config default has only $ncomments comment lines"

log "berthd --config FILE --root DIR config dump: the effective config, no warnings"
out=$(B --config "$T/default.toml" --root "$T/other-root" -l debug config dump 2>"$T/dump.err") ||
  fail "config dump: $(cat "$T/dump.err")"
[[ ! -s "$T/dump.err" ]] || fail "config dump of the default file logged: $(cat "$T/dump.err")"
assert_contains "$out" "root = \"$T/other-root\"" "dump shows the --root flag"
assert_contains "$out" '[runtimes."io.containerd.runc.v2"]' "dump shows the runtime table"
assert_contains "$out" "shim = \"containerd-shim-berth-v2\"  # -> " "dump shows where the shim resolves"
# The shim resolves in PATH or beside berthd, never relative to the working directory.
resolved=$(sed -n 's/.*shim = "containerd-shim-berth-v2"  # -> \(.*\)/\1/p' <<<"$out" | head -n 1)
[[ "$resolved" == /*containerd-shim-berth-v2 && -x "$resolved" ]] || fail "berth shim resolves to [$resolved]"
# The dump parses back without notes and dumps the same.
printf '%s\n' "$out" >"$T/dump.toml"
again=$(B -c "$T/dump.toml" -l debug config dump 2>"$T/dump2.err") || fail "dump of a dump: $(cat "$T/dump2.err")"
[[ "$again" == "$out" ]] || fail "a dump re-read dumps differently: $(diff <(echo "$out") <(echo "$again"))"
[[ ! -s "$T/dump2.err" ]] || fail "re-reading a dump logged: $(cat "$T/dump2.err")"

log "unknown keys: warnings with file and line, not failures; malformed files and missing -c fail"
printf 'version = 2\nroot = "%s/r"\nbogus_key = 1\n[plugins."io.containerd.snapshotter.v1.overlayfs"]\n  upperdir_labels = true\n' \
  "$T" >"$T/unknown.toml"
out=$(B -c "$T/unknown.toml" config dump 2>"$T/unknown.err") || fail "unknown keys failed: $(cat "$T/unknown.err")"
assert_contains "$out" "root = \"$T/r\"" "known keys still apply"
err=$(cat "$T/unknown.err")
assert_contains "$err" "$T/unknown.toml:3: unknown configuration key \"bogus_key\"" "warning names file and line"
assert_contains "$err" "$T/unknown.toml:5" "warning inside a plugin section"
printf 'version = 2\n[grpc\n' >"$T/malformed.toml"
if B -c "$T/malformed.toml" config dump >/dev/null 2>"$T/malformed.err"; then fail "a malformed file loaded"; fi
assert_contains "$(cat "$T/malformed.err")" "$T/malformed.toml:2" "malformed file names the line"
if B -c "$T/missing.toml" config dump >/dev/null 2>&1; then fail "a missing -c file loaded"; fi

start_registry
push_busybox_image busybox:cfg
IMG="$REGISTRY/busybox:cfg"

log "berthd -c <the default file>: ctr run -d (default runtime io.containerd.runc.v2) runs containerd-shim-berth-v2"
start_berthd -c "$T/default.toml"
warns=$(config_warnings "$T/berthd.log")
[[ -z "$warns" ]] || fail "the default config logged warnings: $warns"
bctr_pull "$IMG"
timeout 60 ctr --address "$SOCK" run -d "$IMG" d-default sleep 600 >/dev/null || fail "ctr run -d with the default runtime"
rt=$(bctr containers ls | awk '$1 == "d-default" {print $3}')
assert_eq "$rt" "io.containerd.runc.v2" "ctr's default runtime"
assert_eq "$(shim_exe d-default)" "$resolved" "the shim of a runc.v2 task"
assert_eq "$(basename "$(shim_exe d-default)")" "containerd-shim-berth-v2" "the shim of a runc.v2 task"
log "Introspection lists the runtimes and their shims"
plugins=$(bctr plugins ls)
assert_contains "$plugins" "io.containerd.runtime.v2" "plugins ls"
assert_contains "$plugins" "io.containerd.runtime.v1" "plugins ls"
details=$(bctr plugins ls -d)
for rtn in io.containerd.runc.v2 io.containerd.runc.v1 io.containerd.runtime.v1.linux; do
  grep -qE "^\s*$rtn\s+$resolved\s*$" <<<"$details" || fail "plugins ls -d: no export $rtn -> $resolved in: $details"
done
remove_task d-default

if [[ -x /usr/bin/containerd-shim-runc-v2 ]]; then
  log "one config line: io.containerd.runc.v2 runs containerd-shim-runc-v2"
  printf '[runtimes."io.containerd.runc.v2"]\n  shim = "containerd-shim-runc-v2"\n' >"$T/runc.toml"
  restart_berthd -c "$T/runc.toml"
  timeout 60 ctr --address "$SOCK" run -d "$IMG" d-runc sleep 600 >/dev/null || fail "ctr run -d with containerd's shim"
  shim=$(shim_exe d-runc)
  [[ "$shim" == */containerd-shim-runc-v2 ]] || fail "runc.v2 task runs under [$shim]"
  details=$(bctr plugins ls -d)
  grep -qE "^\s*io.containerd.runc.v2\s+/\S*/containerd-shim-runc-v2\s*$" <<<"$details" ||
    fail "plugins ls -d does not show containerd-shim-runc-v2: $details"
  grep -qE "^\s*io.containerd.runc.v1\s+$resolved\s*$" <<<"$details" || fail "runc.v1 lost its default: $details"
  remove_task d-runc
fi

log "a bad BinaryName from the config: task creation fails naming the binary"
bad=/nonexistent/runc-from-config
rts=(io.containerd.runc.v2)
{
  printf '[runtimes."io.containerd.runc.v2"]\n  options = { BinaryName = "%s" }\n' "$bad"
  if [[ -x /usr/bin/containerd-shim-runc-v2 ]]; then
    printf '[runtimes."/usr/bin/containerd-shim-runc-v2"]\n  options = { BinaryName = "%s" }\n' "$bad"
    rts+=(/usr/bin/containerd-shim-runc-v2)
  fi
} >"$T/badbin.toml"
restart_berthd -c "$T/badbin.toml"
i=0
for rt in "${rts[@]}"; do
  i=$((i + 1))
  log "[$rt] bad BinaryName"
  rc=0
  out=$(timeout 60 ctr --address "$SOCK" run --rm --runtime "$rt" "$IMG" "bad$i" true 2>&1) || rc=$?
  ((rc != 0)) || fail "[$rt] a task with BinaryName $bad started"
  assert_contains "$out" "$bad" "[$rt] the error names the binary"
  bctr containers rm "bad$i" >/dev/null 2>&1 || true
done
# The client's own BinaryName wins over the configured one.
out=$(timeout 60 ctr --address "$SOCK" run --rm --runc-binary runc "$IMG" good-bin echo fine 2>&1) ||
  fail "ctr --runc-binary runc over a bad configured BinaryName: $out"
assert_contains "$out" "fine" "client's BinaryName"

log "legacy runtime io.containerd.runtime.v1.linux runs through the v2 shim with [plugins.linux] runtime"
printf 'version = 2\n[plugins."io.containerd.runtime.v1.linux"]\n  runtime = "/nonexistent/runc-v1-linux"\n  shim = "containerd-shim"\n' \
  >"$T/v1.toml"
restart_berthd -c "$T/v1.toml"
out=$(timeout 60 ctr --address "$SOCK" run --rm --runtime io.containerd.runtime.v1.linux "$IMG" v1-bad true 2>&1) &&
  fail "a v1 linux task with runtime /nonexistent/runc-v1-linux started"
bctr containers rm v1-bad >/dev/null 2>&1 || true
assert_not_contains "$out" "unsupported runtime options type" "the shim takes containerd.linux.runc.RuncOptions"
assert_contains "$out" "/nonexistent/runc-v1-linux" "v1 linux: the error names the runtime"
restart_berthd
out=$(timeout 60 ctr --address "$SOCK" run --rm --runtime io.containerd.runtime.v1.linux "$IMG" v1-ok echo v1-hi 2>&1) ||
  fail "ctr run with io.containerd.runtime.v1.linux: $out"
assert_contains "$out" "v1-hi" "v1 linux output"

log "PASS"
