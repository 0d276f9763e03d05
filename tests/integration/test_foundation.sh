#!/usr/bin/env bash
# Issue 2: berthd serves version, introspection and namespaces to the stock ctr; namespaces
# persist across restarts; the root is exclusive; bad headers and configs get clear errors.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_cmd ctr

start_berthd

log "ctr version shows berthd's version and a UUID"
out=$(bctr version 2>/dev/null)
assert_contains "$out" "Version:  0." "server version"
uuid=$(awk '/UUID:/ {print $2}' <<<"$out")
[[ "$uuid" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] || fail "bad uuid [$uuid]"

log "namespaces create / ls / label / rm"
bctr namespaces create team-a env=prod owner=ops
bctr namespaces create team-b
err=$(bctr namespaces create team-a 2>&1) && fail "duplicate create succeeded"
assert_contains "$err" 'namespace "team-a": already exists' "duplicate namespace error"
out=$(bctr namespaces ls)
assert_contains "$out" "team-a" "ls lists team-a"
assert_contains "$out" "env=prod,owner=ops" "ls shows labels"
assert_contains "$out" "team-b" "ls lists team-b"
bctr namespaces label team-a env=dev
bctr namespaces label team-a owner=
out=$(bctr namespaces ls | grep '^team-a')
assert_contains "$out" "env=dev" "label updated"
assert_not_contains "$out" "owner" "empty label value clears it"
assert_eq "$(bctr namespaces ls -q | sort | tr '\n' ' ')" "team-a team-b " "ls -q"
bctr namespaces rm team-b >/dev/null
assert_eq "$(bctr namespaces ls -q | tr '\n' ' ')" "team-a " "rm removed team-b"
out=$(bctr namespaces rm never-existed)
assert_contains "$out" "never-existed" "rm of a missing namespace prints its name and succeeds"
bctr namespaces create "bad/name" 2>/dev/null && fail "invalid namespace name accepted"

log "namespaced calls: a missing namespace is FailedPrecondition, a malformed one InvalidArgument"
# ctr maps the gRPC code back to its error class and prints the class text.
err=$(ctr --address "$SOCK" --namespace "" content ls 2>&1) && fail "call without a namespace succeeded"
assert_contains "$err" "namespace is required: failed precondition" "missing namespace header"
err=$(ctr --address "$SOCK" --namespace "Bad..Name" content ls 2>&1) && fail "malformed namespace accepted"
assert_contains "$err" "invalid argument" "malformed namespace header"

log "introspection: plugins"
out=$(bctr plugins ls)
assert_contains "$out" "io.containerd.grpc.v1" "plugins ls"
assert_contains "$out" "namespaces" "plugins ls lists namespaces"

log "namespaces and labels survive a restart, and the UUID is stable"
restart_berthd
out=$(bctr namespaces ls)
assert_contains "$out" "team-a" "namespace persisted"
assert_contains "$out" "env=dev" "labels persisted"
uuid2=$(bctr version 2>/dev/null | awk '/UUID:/ {print $2}')
assert_eq "$uuid2" "$uuid" "uuid stable across restart"

log "a second berthd on the same root is refused"
set +e
out=$("$BERTH_BIN/berthd" --root "$ROOT" --state "$T/state2" --address "$T/other.sock" 2>&1)
rc=$?
set -e
[[ $rc -ne 0 ]] || fail "second berthd started"
assert_contains "$out" "in use by another berthd" "second berthd message"
[[ ! -S "$T/other.sock" ]] || fail "second berthd created its socket"
bctr version >/dev/null 2>&1 || fail "first berthd hurt by second start"

log "a malformed config is refused with file and line"
printf 'root = "%s"\n\n[grpc\naddress = "x"\n' "$T/r3" >"$T/bad.toml"
set +e
out=$(timeout 30 "$BERTH_BIN/berthd" --config "$T/bad.toml" --state "$T/state3" --address "$T/bad.sock" 2>&1)
rc=$?
set -e
[[ $rc -ne 0 ]] || fail "berthd accepted a malformed config"
assert_contains "$out" "$T/bad.toml:3" "config error names file and line"
printf 'root = "%s"\nbogus_key = 1\n' "$T/r3" >"$T/unknown.toml"
# An unknown key is not an error (containerd ignores them): berthd warns with file and line.
out=$(timeout 30 "$BERTH_BIN/berthd" --config "$T/unknown.toml" config dump 2>&1 >/dev/null) ||
  fail "berthd refused a config with an unknown key: $out"
assert_contains "$out" "$T/unknown.toml:2" "unknown key warning names file and line"
assert_contains "$out" "bogus_key" "unknown key warning names the key"

log "socket is 0660 and SIGTERM stops berthd cleanly"
mode=$(stat -c %a "$SOCK")
assert_eq "$mode" "660" "socket mode"
stop_berthd
grep -q "stopped" "$T/berthd.log" || fail "no clean stop in log"

log "at log level trace every served call is logged with its method, code and duration"
start_berthd --log-level trace
bctr version >/dev/null
bctr containers info no-such-container >/dev/null 2>&1 && fail "info of a missing container succeeded"
grep -Eq 'grpc /containerd.services.version.v1.Version/Version OK [0-9.]+ ms' "$T/berthd.log" ||
  fail "no trace line for Version"
grep -Eq 'grpc /containerd.services.containers.v1.Containers/Get NotFound [0-9.]+ ms' "$T/berthd.log" ||
  fail "no trace line for a failed Containers/Get"
stop_berthd
log "PASS"
