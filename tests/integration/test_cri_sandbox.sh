#!/usr/bin/env bash
# Issue 12: CRI pod sandboxes (host network; pod networks need CNI) on berthd and on Debian's
# containerd 1.6 side by side: Run/Status/List (filters, label selectors)/Stop/Remove, the records
# in k8s.io, the built-in pause image when sandbox_image cannot be pulled, and survival of a
# berthd SIGKILL.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
source "$BERTH_SRC/tests/integration/lib/cri_env.sh"
require_root
require_cmd jq skopeo umoci runc containerd
[[ -x "$CRI_TOOL" && -x "$BERTH_BIN/berth-pause" ]] || fail "build berth-cri-test and berth-pause first"

# A pause image in the local registry for containerd (the control).
start_registry
build_pause_layout "$T/oci-pause"
skopeo copy --quiet --dest-tls-verify=false "oci:$T/oci-pause:latest" "docker://$REGISTRY/berth/pause:1" >/dev/null

# berthd: a sandbox image nobody serves (a closed port), so it imports its built-in pause.
BUILTIN="127.0.0.1:$(free_port)/berth/pause:builtin"
cri_berthd_config "$T/berthd.toml"
sed -i "/restrict_oom_score_adj/a\\  sandbox_image = \"$BUILTIN\"" "$T/berthd.toml"
start_berthd --config "$T/berthd.toml"
CD_SANDBOX_IMAGE="$REGISTRY/berth/pause:1" start_cri_containerd

# (no hostname: with the host's UTS namespace runc refuses one, and containerd 1.6 passes it on)
pod() {  # NAME UID LABELS_JSON [NETWORK_MODE]
  printf '{"config":{"metadata":{"name":"%s","uid":"%s","namespace":"default","attempt":1},"log_directory":"%s","labels":%s,"annotations":{"note":"x"},"dns_config":{"servers":["10.9.9.9"],"searches":["svc.local"],"options":["ndots:2"]},"linux":{"cgroup_parent":"/berth-cri-test-%s","sysctls":{},"security_context":{"namespace_options":{"network":%s}}}}}' \
    "$1" "$2" "$T/logs/$1" "$3" "$$" "${4:-2}"
}
run_both() {  # REQUEST -> sets BID CID
  local out
  out=$(bcri RunPodSandbox "$1" 2>&1) || fail "berthd RunPodSandbox failed: $out"
  BID=$(jq -r .pod_sandbox_id <<<"$out"); cri_track "$BID"
  out=$(ccri RunPodSandbox "$1" 2>&1) || fail "containerd RunPodSandbox failed: $out"
  CID=$(jq -r .pod_sandbox_id <<<"$out"); cri_track "$CID"
}
cmp_json() {  # A B PROJECTION MSG
  assert_eq "$(jq -cS "$3" <<<"$1")" "$(jq -cS "$3" <<<"$2")" "$4"
}

log "a pod network without CNI config is refused by both"
for s in "$SOCK" "$CD_SOCK"; do
  out=$("$CRI_TOOL" "$s" RunPodSandbox "$(pod netpod u0 '{}' 0)" 2>&1) && fail "pod network without CNI accepted by $s"
  assert_contains "$out" "cni plugin not initialized" "no-CNI error from $s"
done
# containerd 1.6 keeps the failed sandbox as NOTREADY (and cannot remove it without CNI);
# berthd keeps nothing. Lists below leave containerd's out.
assert_eq "$(bcri ListPodSandbox | jq '.items | length // 0')" 0 "berthd keeps no failed sandbox"

log "RunPodSandbox (host network)"
run_both "$(pod web u1 '{"app":"web","tier":"front"}')"
B1=$BID C1=$CID
run_both "$(pod db u2 '{"app":"db"}')"
B2=$BID C2=$CID

log "the built-in pause image was imported under the configured name"
st=$(bcri ImageStatus "{\"image\":{\"image\":\"$BUILTIN\"}}")
assert_eq "$(jq -r '.image.repo_tags[0]' <<<"$st")" "$BUILTIN" "built-in pause image"
assert_eq "$(jq -r '.image.uid.value' <<<"$st")" 65535 "pause user"

log "PodSandboxStatus"
proj='.status | {metadata, state: (.state // "SANDBOX_READY"), labels, annotations, linux, network: (.network.ip // "")}'
a=$(bcri PodSandboxStatus "{\"pod_sandbox_id\":\"$B1\"}")
b=$(ccri PodSandboxStatus "{\"pod_sandbox_id\":\"$C1\"}")
cmp_json "$a" "$b" "$proj" "PodSandboxStatus"
assert_eq "$(jq -r '.status.state // "SANDBOX_READY"' <<<"$a")" SANDBOX_READY "ready"
(( $(jq -r .status.created_at <<<"$a") > 0 )) || fail "created_at"
pid=$(jq -r '.info.info | fromjson | .pid' <<<"$(bcri PodSandboxStatus "{\"pod_sandbox_id\":\"$B1\",\"verbose\":true}")")
[[ "$pid" =~ ^[0-9]+$ && "$pid" -gt 0 ]] || fail "verbose pid: $pid"
assert_eq "$(tr '\0' ' ' </proc/$pid/cmdline)" "/pause " "the pause process runs /pause"
assert_eq "$(readlink /proc/$pid/ns/net)" "$(readlink /proc/self/ns/net)" "host network"
[[ "$(readlink /proc/$pid/ns/ipc)" != "$(readlink /proc/self/ns/ipc)" ]] || fail "pod IPC namespace"
assert_contains "$(cat /proc/$pid/cgroup)" "/berth-cri-test-$$/$B1" "cgroup parent"
oom=$(cat /proc/$pid/oom_score_adj)
assert_eq "$oom" "$(cat /proc/$BERTHD_PID/oom_score_adj)" "oom_score_adj clamped to berthd's (restrict_oom_score_adj)"
assert_eq "$(cat "$ROOT/io.containerd.grpc.v1.cri/sandboxes/$B1/resolv.conf")" \
  "$(cat "$T/cd/root/io.containerd.grpc.v1.cri/sandboxes/$C1/resolv.conf")" "resolv.conf from DNSConfig"

log "ListPodSandbox: all, by label selector, by id prefix, by state"
lproj='[.items[]? | select(.metadata.name != "netpod") | {metadata, state: (.state // "SANDBOX_READY"), labels}] | sort_by(.metadata.name)'
cmp_json "$(bcri ListPodSandbox)" "$(ccri ListPodSandbox)" "$lproj" "ListPodSandbox"
assert_eq "$(bcri ListPodSandbox | jq '.items | length')" 2 "two pods"
f='{"filter":{"label_selector":{"app":"web"}}}'
cmp_json "$(bcri ListPodSandbox "$f")" "$(ccri ListPodSandbox "$f")" "$lproj" "label selector"
assert_eq "$(bcri ListPodSandbox "$f" | jq -r '.items[0].metadata.name')" web "label selector picks web"
f='{"filter":{"label_selector":{"app":"web","tier":"back"}}}'
assert_eq "$(bcri ListPodSandbox "$f" | jq '.items | length // 0')" 0 "no match"
assert_eq "$(bcri ListPodSandbox "{\"filter\":{\"id\":\"${B2:0:12}\"}}" | jq -r '.items[0].id')" "$B2" "id prefix"
assert_eq "$(bcri PodSandboxStatus "{\"pod_sandbox_id\":\"${B2:0:12}\"}" | jq -r .status.id)" "$B2" "status by id prefix"

log "the records in k8s.io look like containerd's"
for pair in "$SOCK $B1" "$CD_SOCK $C1"; do
  set -- $pair
  info=$(ctr --address "$1" -n k8s.io containers info "$2")
  assert_eq "$(jq -r '.Labels["io.cri-containerd.kind"]' <<<"$info")" sandbox "kind label on $1"
  assert_eq "$(jq -r '.Labels.app' <<<"$info")" web "pod label on $1"
  assert_eq "$(jq -r '.Spec.annotations["io.kubernetes.cri.container-type"]' <<<"$info")" sandbox "container-type annotation on $1"
  assert_eq "$(jq -r '.Spec.annotations["io.kubernetes.cri.sandbox-name"]' <<<"$info")" web "sandbox-name annotation on $1"
  assert_eq "$(jq -r '.Extensions | has("io.cri-containerd.sandbox.metadata")' <<<"$info")" true "metadata extension on $1"
  assert_eq "$(jq -r '.Spec.root.readonly' <<<"$info")" true "read-only pause rootfs on $1"
done
dup=$("$CRI_TOOL" "$SOCK" RunPodSandbox "$(pod web u1 '{}')" 2>&1) && fail "same pod name twice accepted"
assert_contains "$dup" "reserved" "duplicate pod name"

log "the pods survive a berthd SIGKILL"
kill_berthd
start_berthd --config "$T/berthd.toml"
a2=$(bcri PodSandboxStatus "{\"pod_sandbox_id\":\"$B1\",\"verbose\":true}")
assert_eq "$(jq -r '.status.state // "SANDBOX_READY"' <<<"$a2")" SANDBOX_READY "ready after restart"
assert_eq "$(jq -r '.info.info | fromjson | .pid' <<<"$a2")" "$pid" "same pause process"
cmp_json "$a" "$a2" '.status | {id, metadata, labels, annotations, created_at}' "status after restart"

log "StopPodSandbox: NOTREADY on both; a second stop is fine"
for x in "$SOCK $B1" "$CD_SOCK $C1"; do
  set -- $x
  "$CRI_TOOL" "$1" StopPodSandbox "{\"pod_sandbox_id\":\"$2\"}" >/dev/null || fail "stop on $1"
  "$CRI_TOOL" "$1" StopPodSandbox "{\"pod_sandbox_id\":\"$2\"}" >/dev/null || fail "second stop on $1"
done
a=$(bcri PodSandboxStatus "{\"pod_sandbox_id\":\"$B1\"}")
b=$(ccri PodSandboxStatus "{\"pod_sandbox_id\":\"$C1\"}")
cmp_json "$a" "$b" "$proj" "status after stop"
assert_eq "$(jq -r .status.state <<<"$a")" SANDBOX_NOTREADY "not ready"
kill -0 "$pid" 2>/dev/null && fail "pause still running"
f='{"filter":{"state":{"state":"SANDBOX_NOTREADY"}}}'
cmp_json "$(bcri ListPodSandbox "$f")" "$(ccri ListPodSandbox "$f")" "$lproj" "state filter"

log "RemovePodSandbox (a running one too); then gone, and removing again is fine"
for x in "$SOCK $B1 $B2" "$CD_SOCK $C1 $C2"; do
  set -- $x
  for id in "$2" "$3"; do
    "$CRI_TOOL" "$1" RemovePodSandbox "{\"pod_sandbox_id\":\"$id\"}" >/dev/null || fail "remove $id on $1"
    "$CRI_TOOL" "$1" RemovePodSandbox "{\"pod_sandbox_id\":\"$id\"}" >/dev/null || fail "second remove $id on $1"
  done
  out=$("$CRI_TOOL" "$1" PodSandboxStatus "{\"pod_sandbox_id\":\"$2\"}" 2>&1) && fail "status of a removed pod on $1"
  assert_contains "$out" "5 " "NotFound for a removed pod on $1"
  assert_eq "$(ctr --address "$1" -n k8s.io containers ls -q | grep -c -e "$2" -e "$3")" 0 "records gone on $1"
done
[[ -d "$ROOT/io.containerd.grpc.v1.cri/sandboxes/$B1" ]] && fail "sandbox dir left behind"
assert_eq "$(bcri ListPodSandbox | jq '.items | length // 0')" 0 "no pods left"
rmdir "/sys/fs/cgroup/berth-cri-test-$$" 2>/dev/null || true
log "PASS"
