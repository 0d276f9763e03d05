#!/usr/bin/env bash
# Issue 12: CRI pods on a CNI bridge network with containers in them, on berthd and on Debian's
# containerd 1.6 (the control) side by side, the same CNI config (bridge + host-local on a private
# /24, portmap) and the same images: pod IPs in PodSandboxStatus, two pods reaching each other by
# pod IP, a hostPort reaching a pod from the host, container logs in the CRI format, Create/Start/
# Stop/Remove/List/Status of containers compared field by field, pods and containers running with
# the same IPs after a berthd SIGKILL and restart (and logs still flowing), a network torn down
# after a crash left it without a sandbox record, and StopPodSandbox removing netns and CNI state.
# Cleanup of netns, veths, the bridge and iptables rules happens even on failure.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
source "$BERTH_SRC/tests/integration/lib/cri_env.sh"
require_root
require_cmd jq skopeo umoci runc containerd iptables iptables-save ip curl python3 sysctl
for p in bridge host-local portmap loopback; do
  [[ -x /usr/lib/cni/$p ]] || skip "needs /usr/lib/cni/$p (containernetworking-plugins)"
done
[[ -x "$CRI_TOOL" && -x "$BERTH_BIN/berth-pause" ]] || fail "build berth-cri-test and berth-pause first"

NET="bc$$"
BR="bc$$"
octet=""
for i in $(seq 0 199); do
  o=$(((($$ + i) % 200) + 20))
  if ! ip -4 route show | grep -q "^10\.241\.$o\."; then octet=$o; break; fi
done
[[ -n "$octet" ]] || skip "no free /24 in 10.241.0.0/16"
PREFIX="10.241.$octet."
IP_FORWARD_BEFORE=$(sysctl -n net.ipv4.ip_forward)
chains_of() { iptables-save -t "$1" | sed -n 's/^:\([^ ]*\) .*/\1/p' | sort; }
CHAINS_BEFORE_nat=$(chains_of nat)
CHAINS_BEFORE_filter=$(chains_of filter)
NETNS_BEFORE=$(ls /var/run/netns 2>/dev/null | sort)

# Removes what the plugins left of this test: rules naming its subnet or network, and CNI chains
# created during the test that hold nothing but rules about it.
iptables_cleanup() {
  local table line c before new
  for table in nat filter; do
    iptables-save -t "$table" | grep '^-A' | grep -F -e "$PREFIX" -e "\"$NET\"" -e "name: \\\"$NET\\\"" |
      while read -r line; do eval "iptables -w -t $table -D ${line#-A }"; done
    before=CHAINS_BEFORE_$table
    new=$(comm -13 <(echo "${!before}") <(chains_of "$table") | grep '^CNI-' || true)
    for c in $new; do
      iptables-save -t "$table" | grep '^-A' | grep -E -- "-j $c( |\$)" | while read -r line; do
        eval "iptables -w -t $table -D ${line#-A }"
      done
      iptables -w -t "$table" -F "$c"
    done
    for c in $new; do iptables -w -t "$table" -X "$c" 2>/dev/null; done
  done
}
pods_cleanup() {
  local rc=$?
  set +e
  stop_cri_containerd
  [[ -n "$BERTHD_PID" ]] && kill -KILL "$BERTHD_PID" 2>/dev/null
  cri_cleanup
  local n m
  # containerd's pod netns (under /var/run/netns) made during the test; berthd's are under $T.
  for n in $(comm -13 <(echo "$NETNS_BEFORE") <(ls /var/run/netns 2>/dev/null | sort)); do
    if ip netns exec "$n" ip -4 -o addr show 2>/dev/null | grep -q "$PREFIX"; then
      umount -l "/var/run/netns/$n" 2>/dev/null
      rm -f "/var/run/netns/$n"
    fi
  done
  for m in $(awk -v t="$T" '$5 ~ "^"t {print $5}' /proc/self/mountinfo | sort -r); do umount -l "$m" 2>/dev/null; done
  ip link delete "$BR" 2>/dev/null
  iptables_cleanup
  [[ "$IP_FORWARD_BEFORE" == 0 ]] && sysctl -qw net.ipv4.ip_forward=0
  (exit "$rc")
  harness_cleanup
}
trap pods_cleanup EXIT

start_registry
build_pause_layout "$T/oci-pause"
skopeo copy --quiet --dest-tls-verify=false "oci:$T/oci-pause:latest" "docker://$REGISTRY/berth/pause:1" >/dev/null
push_busybox_image berth/busybox:1
IMG="$REGISTRY/berth/busybox:1"

cri_berthd_config "$T/berthd.toml"
sed -i "/restrict_oom_score_adj/a\\  sandbox_image = \"127.0.0.1:$(free_port)/berth/pause:builtin\"" "$T/berthd.toml"
sed -i "/restrict_oom_score_adj/a\\  netns_mounts_under_state_dir = true" "$T/berthd.toml"
cat >"$CNI_CONF_DIR/10-$NET.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$NET",
  "plugins": [
    {"type": "bridge", "bridge": "$BR", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$T/ipam",
              "ranges": [[{"subnet": "${PREFIX}0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
start_berthd --config "$T/berthd.toml"
CD_SANDBOX_IMAGE="$REGISTRY/berth/pause:1" start_cri_containerd

log "NetworkReady on both with the CNI config"
for s in "$SOCK" "$CD_SOCK"; do
  assert_eq "$("$CRI_TOOL" "$s" Status | jq -r '.status.conditions[] | select(.type=="NetworkReady") | .status')" true "NetworkReady on $s"
done
for s in "$SOCK" "$CD_SOCK"; do
  "$CRI_TOOL" "$s" PullImage "{\"image\":{\"image\":\"$IMG\"}}" >/dev/null || fail "PullImage on $s"
done

HP_B=$(free_port)
HP_C=$(free_port)
pod() {  # NAME UID HOSTPORT
  printf '{"config":{"metadata":{"name":"%s","uid":"%s","namespace":"default","attempt":0},"hostname":"%s","log_directory":"%s","labels":{"app":"%s"},"dns_config":{"servers":["10.9.9.9"],"searches":["svc.local"],"options":["ndots:2"]},"port_mappings":[{"protocol":"TCP","container_port":80,"host_port":%s}],"linux":{"cgroup_parent":"/berth-cri-pods-%s","sysctls":{"net.ipv4.ip_unprivileged_port_start":"0"}}}}' \
    "$1" "$2" "$1" "$T/logs/$4/$1" "$1" "$3" "$$"
}
ctr_cfg() {  # NAME CMD_JSON ENV_JSON
  printf '{"metadata":{"name":"%s","attempt":0},"image":{"image":"%s"},"command":%s,"envs":%s,"labels":{"c":"%s"},"annotations":{"note":"y"},"log_path":"%s.log","working_dir":"/tmp","linux":{"resources":{"oom_score_adj":-500}}}' \
    "$1" "$IMG" "$2" "$3" "$1" "$1"
}
run_pod() {  # SOCK REQUEST -> id
  local out
  out=$("$CRI_TOOL" "$1" RunPodSandbox "$2" 2>&1) || fail "RunPodSandbox on $1: $out"
  jq -r .pod_sandbox_id <<<"$out"
}
create_start() {  # SOCK POD CONFIG SANDBOX_CONFIG -> id
  local out id
  out=$("$CRI_TOOL" "$1" CreateContainer "{\"pod_sandbox_id\":\"$2\",\"config\":$3,\"sandbox_config\":$4}" 2>&1) ||
    fail "CreateContainer on $1: $out"
  id=$(jq -r .container_id <<<"$out")
  cri_track "$id"
  out=$("$CRI_TOOL" "$1" StartContainer "{\"container_id\":\"$id\"}" 2>&1) || fail "StartContainer on $1: $out"
  echo "$id"
}
pod_ip() { "$CRI_TOOL" "$1" PodSandboxStatus "{\"pod_sandbox_id\":\"$2\"}" | jq -r '.status.network.ip // ""'; }

WEB_CMD='["sh","-c","echo hello-from-$(hostname) > /tmp/index.html; echo serving; httpd -f -p 80 -h /tmp"]'
CLIENT_CMD='["sh","-c","until wget -q -O - http://$PEER/index.html; do sleep 1; done; echo reached >&2; while true; do echo tick; sleep 1; done"]'

declare -A POD_A POD_B IP_A CT_A CT_B
for side in b c; do
  s=$SOCK; [[ $side == c ]] && s=$CD_SOCK
  hp=$HP_B; [[ $side == c ]] && hp=$HP_C
  log "[$side] two pods on $NET"
  mkdir -p "$T/logs/$side"
  ra=$(pod web-$side uA "$hp" "$side")
  rb=$(pod client-$side uB 0 "$side")
  POD_A[$side]=$(run_pod "$s" "$ra"); cri_track "${POD_A[$side]}"
  POD_B[$side]=$(run_pod "$s" "$rb"); cri_track "${POD_B[$side]}"
  IP_A[$side]=$(pod_ip "$s" "${POD_A[$side]}")
  ipb=$(pod_ip "$s" "${POD_B[$side]}")
  [[ "${IP_A[$side]}" == "$PREFIX"* && "$ipb" == "$PREFIX"* && "${IP_A[$side]}" != "$ipb" ]] ||
    fail "[$side] pod IPs ${IP_A[$side]} $ipb not in ${PREFIX}0/24"
  CT_A[$side]=$(create_start "$s" "${POD_A[$side]}" "$(ctr_cfg web "$WEB_CMD" '[]')" "$(jq .config <<<"$ra")")
  CT_B[$side]=$(create_start "$s" "${POD_B[$side]}" \
    "$(ctr_cfg client "$CLIENT_CMD" "[{\"key\":\"PEER\",\"value\":\"${IP_A[$side]}\"}]")" "$(jq .config <<<"$rb")")
done

log "the client pod reaches the web pod by pod IP; its logs are in the CRI format"
cri_line='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z (stdout|stderr) [PF] '
for side in b c; do
  logf="$T/logs/$side/client-$side/client.log"
  wait_for 60 grep -q "stderr F reached" "$logf" || { cat "$logf" >&2; fail "[$side] client never reached ${IP_A[$side]}"; }
  assert_eq "$(grep -c "stdout F hello-from-web-$side\$" "$logf")" 1 "[$side] the web page, from pod IP, in the client's log"
  bad=$(grep -Evc "$cri_line" "$logf" || true)
  assert_eq "$bad" 0 "[$side] every log line in CRI format"
  weblog="$T/logs/$side/web-$side/web.log"
  wait_for 20 grep -q "stdout F serving" "$weblog" || fail "[$side] web log"
done

log "hostPort mappings reach the web pods from the host"
assert_eq "$(curl -sf -m 10 "http://${PREFIX}1:$HP_B/index.html")" "hello-from-web-b" "berthd hostPort via the bridge IP"
assert_eq "$(curl -sf -m 10 "http://${PREFIX}1:$HP_C/index.html")" "hello-from-web-c" "containerd hostPort via the bridge IP"

log "the pods' resolv.conf, hostname and sysctls; the containers join the pod's namespaces"
for side in b c; do
  s=$SOCK; [[ $side == c ]] && s=$CD_SOCK
  root=$ROOT; [[ $side == c ]] && root="$T/cd/root"
  assert_eq "$(cat "$root/io.containerd.grpc.v1.cri/sandboxes/${POD_A[$side]}/resolv.conf")" \
    $'search svc.local\nnameserver 10.9.9.9\noptions ndots:2' "[$side] resolv.conf"
done
cpid=$(bcri ContainerStatus "{\"container_id\":\"${CT_A[b]}\",\"verbose\":true}" | jq -r '.info.info | fromjson | .pid')
ppid=$(bcri PodSandboxStatus "{\"pod_sandbox_id\":\"${POD_A[b]}\",\"verbose\":true}" | jq -r '.info.info | fromjson | .pid')
for ns in net ipc uts pid; do
  assert_eq "$(readlink /proc/$cpid/ns/$ns)" "$(readlink /proc/$ppid/ns/$ns)" "container shares the pod's $ns namespace"
done
[[ "$(readlink /proc/$cpid/ns/net)" != "$(readlink /proc/self/ns/net)" ]] || fail "pod network is the host's"
assert_eq "$(nsenter -t "$cpid" -u hostname)" web-b "pod hostname"
assert_eq "$(nsenter -t "$cpid" -n cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" 0 "pod sysctl"
assert_eq "$(cat /proc/$cpid/oom_score_adj)" "$(cat /proc/$BERTHD_PID/oom_score_adj)" "oom_score_adj clamped (restrict_oom_score_adj)"
assert_contains "$(nsenter -t "$cpid" -m cat /etc/resolv.conf)" "nameserver 10.9.9.9" "the pod's resolv.conf in the container"

log "ContainerStatus, ListContainers (filters, label selector) alike on both"
sproj='.status | {metadata, state, image: .image.image, labels, annotations, reason: (.reason // ""), exit_code: (.exit_code // 0), log_path: (.log_path | split("/") | .[-1])}'
a=$(bcri ContainerStatus "{\"container_id\":\"${CT_A[b]}\"}")
b=$(ccri ContainerStatus "{\"container_id\":\"${CT_A[c]}\"}")
assert_eq "$(jq -cS "$sproj" <<<"$a")" "$(jq -cS "$sproj" <<<"$b")" "ContainerStatus of a running container"
assert_eq "$(jq -r .status.state <<<"$a")" CONTAINER_RUNNING "running"
(( $(jq -r .status.started_at <<<"$a") >= $(jq -r .status.created_at <<<"$a") )) || fail "started_at"
lproj='[.containers[]? | {metadata, state, labels}] | sort_by(.metadata.name)'
for f in '{}' '{"filter":{"label_selector":{"c":"web"}}}' '{"filter":{"state":{"state":"CONTAINER_RUNNING"}}}'; do
  assert_eq "$(bcri ListContainers "$f" | jq -cS "$lproj")" "$(ccri ListContainers "$f" | jq -cS "$lproj")" "ListContainers $f"
done
assert_eq "$(bcri ListContainers "{\"filter\":{\"pod_sandbox_id\":\"${POD_B[b]}\"}}" | jq -r '.containers[0].id')" "${CT_B[b]}" "pod filter"
assert_eq "$(bcri ListContainers '{"filter":{"label_selector":{"c":"web"}}}' | jq '.containers | length')" 1 "label selector"
for pair in "$SOCK ${CT_A[b]}" "$CD_SOCK ${CT_A[c]}"; do
  set -- $pair
  info=$(ctr --address "$1" -n k8s.io containers info "$2")
  assert_eq "$(jq -r '.Labels["io.cri-containerd.kind"]' <<<"$info")" container "kind label on $1"
  assert_eq "$(jq -r '.Spec.annotations["io.kubernetes.cri.container-type"]' <<<"$info")" container "container-type on $1"
  assert_eq "$(jq -r '.Spec.annotations["io.kubernetes.cri.container-name"]' <<<"$info")" web "container-name on $1"
done

log "ExecSync: output, stderr, exit code, env and cwd of the container, timeout, big output; alike on both"
code_of() { awk 'NR==1{print $1}'; }  # the gRPC code berth-cri-test prints on failure
eproj='{stdout: (.stdout // "" | @base64d), stderr: (.stderr // "" | @base64d), exit_code: (.exit_code // 0)}'
exec_cmd='["sh","-c","echo out; echo err >&2; pwd; id -u; echo $PEER; exit 3"]'
for pair in "b $SOCK ${CT_B[b]}" "c $CD_SOCK ${CT_B[c]}"; do
  set -- $pair
  r=$("$CRI_TOOL" "$2" ExecSync "{\"container_id\":\"$3\",\"cmd\":$exec_cmd,\"timeout\":10}" 2>&1) ||
    fail "[$1] ExecSync: $r"
  printf -v want '{"exit_code":3,"stderr":"err\\n","stdout":"out\\n/tmp\\n0\\n%s\\n"}' "${IP_A[$1]}"
  assert_eq "$(jq -cS "$eproj" <<<"$r")" "$want" "[$1] ExecSync stdout, stderr and exit code"
  r=$("$CRI_TOOL" "$2" ExecSync "{\"container_id\":\"$3\",\"cmd\":[\"sh\",\"-c\",\"yes abcdefg | head -c 300000\"]}" 2>&1) ||
    fail "[$1] ExecSync big output: $r"
  assert_eq "$(jq -r '.stdout | @base64d | length' <<<"$r")" 300000 "[$1] 300000 bytes of output, more than a pipe holds"
  t0=$(date +%s)
  r=$("$CRI_TOOL" "$2" ExecSync "{\"container_id\":\"$3\",\"cmd\":[\"sleep\",\"60\"],\"timeout\":1}" 2>&1) &&
    fail "[$1] ExecSync past its timeout succeeded: $r"
  assert_eq "$(code_of <<<"$r")" 4 "[$1] ExecSync past its timeout: DeadlineExceeded ($r)"
  (($(date +%s) - t0 < 50)) || fail "[$1] the timed-out exec was not killed"
  wait_for 10 bash -c "! ps -eo args | grep -qx 'sleep 60'" || fail "[$1] the timed-out exec is still running"
  r=$("$CRI_TOOL" "$2" ExecSync '{"container_id":"no-such-container","cmd":["true"]}' 2>&1) && fail "[$1] ExecSync of nothing: $r"
  assert_eq "$(code_of <<<"$r")" 5 "[$1] ExecSync of an unknown container: NotFound ($r)"
done
assert_eq "$(ls "$STATE/io.containerd.grpc.v1.cri/containers/${CT_B[b]}/io" | grep -vc -- "^${CT_B[b]}-" || true)" 0 \
  "no exec FIFOs left behind"

log "ContainerStats and ListContainerStats: attributes alike on both, cgroup figures and the writable layer"
num() { jq -r "($1 // \"0\") | tonumber"; }
stproj='[.stats[]? | {metadata: .attributes.metadata, labels: .attributes.labels,
  cpu: ((.cpu.usage_core_nano_seconds.value // "0" | tonumber) > 0),
  mem: ((.memory.working_set_bytes.value // "0" | tonumber) > 0),
  usage: ((.memory.usage_bytes.value // "0" | tonumber) > 0)}] | sort_by(.metadata.name)'
for f in '{}' '{"filter":{"label_selector":{"c":"web"}}}'; do
  assert_eq "$(bcri ListContainerStats "$f" | jq -cS "$stproj")" "$(ccri ListContainerStats "$f" | jq -cS "$stproj")" \
    "ListContainerStats $f"
done
assert_eq "$(bcri ListContainerStats "{\"filter\":{\"pod_sandbox_id\":\"${POD_B[b]}\"}}" | jq -r '[.stats[].attributes.id] | join(",")')" \
  "${CT_B[b]}" "ListContainerStats by pod"
s1=$(bcri ContainerStatus "{\"container_id\":\"${CT_B[b]}\"}" >/dev/null && bcri ContainerStats "{\"container_id\":\"${CT_B[b]}\"}")
sleep 1
s2=$(bcri ContainerStats "{\"container_id\":\"${CT_B[b]}\"}")
assert_eq "$(jq -r .stats.attributes.id <<<"$s2")" "${CT_B[b]}" "ContainerStats id"
(($(num .stats.cpu.usage_core_nano_seconds.value <<<"$s2") >= $(num .stats.cpu.usage_core_nano_seconds.value <<<"$s1"))) ||
  fail "CPU time went back: $s1 / $s2"
(($(num .stats.cpu.timestamp <<<"$s2") > $(num .stats.cpu.timestamp <<<"$s1"))) || fail "stats timestamps"
jq -e '.stats.cpu.usage_nano_cores.value != null' <<<"$s2" >/dev/null || fail "no usage_nano_cores: $s2"
(($(num .stats.memory.usage_bytes.value <<<"$s2") >= $(num .stats.memory.working_set_bytes.value <<<"$s2"))) ||
  fail "working set above usage: $s2"
assert_eq "$(jq -r '.stats.writable_layer.fs_id.mountpoint' <<<"$s2")" "$ROOT/io.containerd.snapshotter.v1.overlayfs" \
  "the writable layer's mountpoint is the snapshotter's root, as ImageFsInfo's"
(($(num .stats.writable_layer.inodes_used.value <<<"$s2") >= 1)) || fail "writable layer inodes: $s2"
r=$(bcri ContainerStats '{"container_id":"no-such-container"}' 2>&1) && fail "stats of nothing: $r"
assert_eq "$(code_of <<<"$r")" 5 "ContainerStats of an unknown container: NotFound ($r)"

log "UpdateContainerResources: the spec and the running task's cgroup change alike on both"
rproj='.Spec.linux.resources | {cpu: (.cpu | {quota, period, shares}), memory: (.memory | {limit})}'
upd='"linux":{"cpu_period":100000,"cpu_quota":50000,"cpu_shares":512,"memory_limit_in_bytes":67108864}'
for pair in "b $SOCK ${CT_B[b]}" "c $CD_SOCK ${CT_B[c]}"; do
  set -- $pair
  r=$("$CRI_TOOL" "$2" UpdateContainerResources "{\"container_id\":\"$3\",$upd}" 2>&1) || fail "[$1] update: $r"
done
assert_eq "$(ctr --address "$SOCK" -n k8s.io containers info "${CT_B[b]}" | jq -cS "$rproj")" \
  "$(ctr --address "$CD_SOCK" -n k8s.io containers info "${CT_B[c]}" | jq -cS "$rproj")" "the updated spec"
assert_eq "$(ctr --address "$SOCK" -n k8s.io containers info "${CT_B[b]}" | jq -r '.Spec.linux.resources.memory.limit')" \
  67108864 "the memory limit in the spec"
cgroup_file() {  # PID CONTROLLER FILE(v1) FILE(v2): the value in the process's own cgroup
  local pid=$1 line
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    line=$(grep '^0::' "/proc/$pid/cgroup"); cat "/sys/fs/cgroup${line#0::}/$4"
  else
    line=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$pid/cgroup"); cat "/sys/fs/cgroup/$2${line##*:}/$3"
  fi
}
for pair in "b $SOCK ${CT_B[b]}" "c $CD_SOCK ${CT_B[c]}"; do
  set -- $pair
  pid=$("$CRI_TOOL" "$2" ContainerStatus "{\"container_id\":\"$3\",\"verbose\":true}" | jq -r '.info.info | fromjson | .pid')
  assert_eq "$(cgroup_file "$pid" memory memory.limit_in_bytes memory.max)" 67108864 "[$1] the task's memory limit"
  assert_contains "$(cgroup_file "$pid" cpu cpu.cfs_quota_us cpu.max)" 50000 "[$1] the task's CPU quota"
done
r=$(bcri UpdateContainerResources '{"container_id":"no-such-container","linux":{"cpu_shares":2}}' 2>&1) && fail "update of nothing: $r"
assert_eq "$(code_of <<<"$r")" 5 "UpdateContainerResources of an unknown container: NotFound ($r)"

log "berthd SIGKILL and restart: pods and containers running with the same IPs, logs still flowing"
before_a=$(bcri PodSandboxStatus "{\"pod_sandbox_id\":\"${POD_A[b]}\"}" | jq -cS '.status | {id, network, state}')
before_b=$(bcri PodSandboxStatus "{\"pod_sandbox_id\":\"${POD_B[b]}\"}" | jq -cS '.status | {id, network, state}')
logf="$T/logs/b/client-b/client.log"
kill_berthd
sleep 2
start_berthd --config "$T/berthd.toml"
assert_eq "$(bcri PodSandboxStatus "{\"pod_sandbox_id\":\"${POD_A[b]}\"}" | jq -cS '.status | {id, network, state}')" "$before_a" "web pod after restart"
assert_eq "$(bcri PodSandboxStatus "{\"pod_sandbox_id\":\"${POD_B[b]}\"}" | jq -cS '.status | {id, network, state}')" "$before_b" "client pod after restart"
for c in "${CT_A[b]}" "${CT_B[b]}"; do
  assert_eq "$(bcri ContainerStatus "{\"container_id\":\"$c\"}" | jq -r .status.state)" CONTAINER_RUNNING "container $c after restart"
done
assert_eq "$(bcri ContainerStatus "{\"container_id\":\"${CT_A[b]}\",\"verbose\":true}" | jq -r '.info.info | fromjson | .pid')" "$cpid" "same web process"
n=$(grep -c "stdout F tick" "$logf")
wait_for 30 bash -c "(( \$(grep -c 'stdout F tick' '$logf') > $n + 2 ))" || fail "no log lines after the restart"
assert_eq "$(grep -Evc "$cri_line" "$logf")" 0 "log still in CRI format after the restart"
assert_eq "$(curl -sf -m 10 "http://${PREFIX}1:$HP_B/index.html")" "hello-from-web-b" "hostPort after the restart"

log "StopContainer (timeout, then KILL) and RemoveContainer, alike on both"
for pair in "$SOCK ${CT_B[b]}" "$CD_SOCK ${CT_B[c]}"; do
  set -- $pair
  "$CRI_TOOL" "$1" StopContainer "{\"container_id\":\"$2\",\"timeout\":2}" >/dev/null || fail "StopContainer on $1"
done
a=$(bcri ContainerStatus "{\"container_id\":\"${CT_B[b]}\"}")
b=$(ccri ContainerStatus "{\"container_id\":\"${CT_B[c]}\"}")
assert_eq "$(jq -cS "$sproj" <<<"$a")" "$(jq -cS "$sproj" <<<"$b")" "ContainerStatus of a stopped container"
assert_eq "$(jq -r .status.state <<<"$a")" CONTAINER_EXITED "exited"
[[ "$(jq -r .status.exit_code <<<"$a")" =~ ^(143|137)$ ]] || fail "exit code of a stopped container: $a"
for pair in "$SOCK ${CT_B[b]}" "$CD_SOCK ${CT_B[c]}"; do
  set -- $pair
  "$CRI_TOOL" "$1" RemoveContainer "{\"container_id\":\"$2\"}" >/dev/null || fail "RemoveContainer on $1"
  out=$("$CRI_TOOL" "$1" ContainerStatus "{\"container_id\":\"$2\"}" 2>&1) && fail "status of a removed container on $1"
  assert_contains "$out" "5 " "NotFound for a removed container on $1"
done

log "a pod network left without a sandbox record (a crash) is torn down at the next start"
rc=$(pod crash uC 0 b)
POD_C=$(run_pod "$SOCK" "$rc"); cri_track "$POD_C"
IP_C=$(pod_ip "$SOCK" "$POD_C")
[[ -e "$T/ipam/$NET/$IP_C" ]] || fail "host-local holds no allocation for $IP_C"
ns_c=$(bcri PodSandboxStatus "{\"pod_sandbox_id\":\"$POD_C\",\"verbose\":true}" | jq -r '.info.info | fromjson | .netns')
[[ -e "$ns_c" ]] || fail "netns $ns_c"
bctr -n k8s.io tasks kill -s KILL "$POD_C" >/dev/null 2>&1
wait_for 10 bash -c "! ctr --address '$SOCK' -n k8s.io tasks ls | grep -q '$POD_C.*RUNNING'"
bctr -n k8s.io tasks rm "$POD_C" >/dev/null 2>&1
bctr -n k8s.io containers rm "$POD_C" >/dev/null || fail "rm the sandbox record"
kill_berthd
start_berthd --config "$T/berthd.toml"
[[ -e "$T/ipam/$NET/$IP_C" ]] && fail "IP $IP_C still allocated after the recovery"
[[ -e "$ns_c" ]] && fail "netns $ns_c left after the recovery"
ls "$ROOT/io.containerd.grpc.v1.cri/cni/results" 2>/dev/null | grep -q "$POD_C" && fail "CNI cache of $POD_C left"

log "StopPodSandbox: no IP on both, netns and CNI state gone; RemovePodSandbox"
ns_a=$(bcri PodSandboxStatus "{\"pod_sandbox_id\":\"${POD_A[b]}\",\"verbose\":true}" | jq -r '.info.info | fromjson | .netns')
for side in b c; do
  s=$SOCK; [[ $side == c ]] && s=$CD_SOCK
  for p in "${POD_A[$side]}" "${POD_B[$side]}"; do
    "$CRI_TOOL" "$s" StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null || fail "StopPodSandbox on $s"
    "$CRI_TOOL" "$s" StopPodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null || fail "second StopPodSandbox on $s"
  done
done
pproj='.status | {state, ip: (.network.ip // "")}'
assert_eq "$(bcri PodSandboxStatus "{\"pod_sandbox_id\":\"${POD_A[b]}\"}" | jq -cS "$pproj")" \
  "$(ccri PodSandboxStatus "{\"pod_sandbox_id\":\"${POD_A[c]}\"}" | jq -cS "$pproj")" "status after stop"
assert_eq "$(bcri ContainerStatus "{\"container_id\":\"${CT_A[b]}\"}" | jq -r .status.state)" CONTAINER_EXITED "the pod's container stopped with it"
[[ -e "$ns_a" ]] && fail "netns $ns_a left after stop"
assert_eq "$(ls "$ROOT/io.containerd.grpc.v1.cri/cni/results" 2>/dev/null | wc -l)" 0 "berthd's CNI cache empty"
for side in b c; do
  s=$SOCK; [[ $side == c ]] && s=$CD_SOCK
  for p in "${POD_A[$side]}" "${POD_B[$side]}"; do
    "$CRI_TOOL" "$s" RemovePodSandbox "{\"pod_sandbox_id\":\"$p\"}" >/dev/null || fail "RemovePodSandbox on $s"
  done
  assert_eq "$("$CRI_TOOL" "$s" ListContainers | jq '.containers | length // 0')" 0 "no containers left on $s"
done
assert_eq "$(ls "$T/ipam/$NET" | grep -c "^$PREFIX")" 0 "every pod IP released"
ip -o link show master "$BR" 2>/dev/null | grep -q veth && fail "veths left on $BR"
rmdir "/sys/fs/cgroup/berth-cri-pods-$$" 2>/dev/null || true
log "PASS"
