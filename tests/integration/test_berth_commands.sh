#!/usr/bin/env bash
# Issue 13: berth inspect (containers, images, volumes; docker's fields; --format templates),
# OOMKilled after a --memory kill, wait, tag, version, container prune, image prune, and the
# Go-template subset of --format on ps.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc python3
start_registry
push_busybox_image busybox:cmds
IMG="$REGISTRY/busybox:cmds"

start_berthd
export BERTH_ADDRESS="$SOCK" BERTH_NAMESPACE="$CONTAINERD_NAMESPACE"
export BERTH_FIFO_DIR="$T/fifo" BERTH_LOG_DIR="$T/logs"
berth() { "$BERTH_BIN/berth" "$@"; }
berth pull --plain-http "$IMG" >/dev/null

log "inspect a running container: docker's main fields"
mkdir -p "$T/bind"
berth run -d --name web -h webhost -e A=1 -l tier=web -w /tmp --memory 64m --cpus 1.5 --pids-limit 30 \
  --restart on-failure:3 --read-only -v "$T/bind:/b:ro" -v named:/n --tmpfs /t "$IMG" sleep 1000 >/dev/null
insp=$(berth inspect web)
python3 - "$insp" "$IMG" "$T/bind" <<'PY' || fail "inspect: $insp"
import json, sys
arr = json.loads(sys.argv[1]); img = sys.argv[2]; bind = sys.argv[3]
assert isinstance(arr, list) and len(arr) == 1, arr
c = arr[0]
assert c["Id"] == "web" and c["Name"] == "/web", c
assert c["Path"] == "sleep" and c["Args"] == ["1000"], c
assert c["Created"].endswith("Z") and c["Created"][:2] == "20", c["Created"]
s = c["State"]
assert s["Status"] == "running" and s["Running"] is True and s["Paused"] is False, s
assert s["Pid"] > 0 and s["ExitCode"] == 0 and s["OOMKilled"] is False, s
assert s["StartedAt"][:2] == "20", s
assert c["Image"] == img and c["Config"]["Image"] == img, c
assert c["RestartCount"] == 0, c
h = c["HostConfig"]
assert h["Memory"] == 64 * 1024 * 1024 and h["NanoCpus"] == 1500000000 and h["PidsLimit"] == 30, h
assert h["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}, h
assert h["ReadonlyRootfs"] is True, h
cfg = c["Config"]
assert cfg["Hostname"] == "webhost" and cfg["WorkingDir"] == "/tmp", cfg
assert "A=1" in cfg["Env"] and cfg["Cmd"] == ["sleep", "1000"], cfg
assert cfg["Labels"]["tier"] == "web", cfg
m = {x["Destination"]: x for x in c["Mounts"]}
assert m["/b"]["Type"] == "bind" and m["/b"]["Source"] == bind and m["/b"]["RW"] is False, m
assert m["/n"]["Type"] == "volume" and m["/n"]["Name"] == "named" and m["/n"]["RW"] is True, m
assert m["/t"]["Type"] == "tmpfs", m
assert "NetworkSettings" in c
PY
assert_eq "$(berth inspect -f '{{.State.Status}} {{.State.Running}}' web)" "running true" "inspect --format"
assert_eq "$(berth inspect --format '{{json .Config.Labels.tier}}' web)" '"web"' "{{json ...}}"
assert_eq "$(berth inspect -f '{{.Name}}' web named)" $'/web\nnamed' "several objects: container then volume"
assert_eq "$(berth inspect --type volume -f '{{.Name}} {{.Driver}}' named)" "named local" "inspect --type volume"
rc=0; berth inspect nothing-by-this-name 2>"$T/err" >/dev/null || rc=$?
assert_eq "$rc" 1 "inspect of nothing"
assert_contains "$(cat "$T/err")" "no such object" "inspect error"

log "inspect an image"
ii=$(berth inspect --type image "$IMG")
python3 - "$ii" "$IMG" <<'PY' || fail "image inspect: $ii"
import json, sys
i = json.loads(sys.argv[1])[0]
assert i["Id"].startswith("sha256:") and i["RepoTags"] == [sys.argv[2]], i
assert i["RepoDigests"][0].startswith(sys.argv[2].rsplit(":", 1)[0] + "@sha256:"), i
assert i["Os"] == "linux" and i["Architecture"] == "amd64" and i["Size"] > 0, i
assert i["Config"]["Cmd"] == ["sh"] and len(i["RootFS"]["Layers"]) == 1, i
PY

log "ps --format templates"
assert_eq "$(berth ps --format '{{.Names}}|{{.State}}|{{.Image}}')" "web|running|$IMG" "ps fields"
tbl=$(berth ps --format 'table {{.ID}}\t{{.Names}}\t{{.Status}}')
assert_contains "$(head -1 <<<"$tbl")" "CONTAINER ID" "table header"
assert_contains "$(head -1 <<<"$tbl")" "NAMES" "table header names"
assert_contains "$(tail -1 <<<"$tbl")" "Up " "table row"
berth ps --format '{{json .}}' | python3 -c 'import json,sys; r=json.loads(sys.stdin.readline()); assert r["Names"]=="web" and r["State"]=="running", r' \
  || fail "ps {{json .}}"
rc=0; berth ps --format '{{.Nope}}' 2>"$T/err" || rc=$?
assert_eq "$rc" 1 "unknown field"
assert_contains "$(cat "$T/err")" "Nope" "unknown field named"
berth rm -f web >/dev/null

log "OOMKilled: inspect says so after a --memory kill"
rc=0; berth run --name oom --memory 16m --memory-swap 16m "$IMG" dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null || rc=$?
assert_eq "$rc" 137 "OOM kill exit"
assert_eq "$(berth inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}} {{.State.Status}}' oom)" "true 137 exited" "OOMKilled true"
berth run --name notoom "$IMG" sh -c 'exit 2' || true
assert_eq "$(berth inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' notoom)" "false 2" "OOMKilled false otherwise"

log "wait"
berth run -d --name waiter "$IMG" sh -c 'sleep 1; exit 5' >/dev/null
assert_eq "$(timeout 60 "$BERTH_BIN/berth" wait waiter)" "5" "wait prints the exit code"
assert_eq "$(berth wait notoom)" "2" "wait on an exited container"

log "tag"
berth tag "$IMG" mytag:v1
assert_contains "$(berth images -q)" "docker.io/library/mytag:v1" "tag normalised and listed"
assert_eq "$(berth run --rm mytag:v1 echo tagged)" "tagged" "run the new tag"
assert_eq "$(berth inspect -f '{{.Id}}' mytag:v1)" "$(berth inspect -f '{{.Id}}' "$IMG")" "same image"

log "version"
v=$(berth version)
assert_contains "$v" "Client:" "client section"
assert_contains "$v" "Server: berthd" "server section"

log "container prune and image prune"
berth run -d --name keeper "$IMG" sleep 1000 >/dev/null
out=$(berth container prune -f)
assert_contains "$out" "oom" "pruned oom"
assert_contains "$out" "waiter" "pruned waiter"
assert_eq "$(berth ps -a --format '{{.Names}}')" "keeper" "running container kept"
out=$(berth image prune -a -f)
assert_contains "$out" "docker.io/library/mytag:v1" "unused image pruned"
assert_contains "$(berth images -q)" "$IMG" "image in use kept"
berth rm -f keeper >/dev/null
berth volume rm named >/dev/null
log "PASS"
