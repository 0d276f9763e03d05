#!/usr/bin/env bash
# Issue 13, networking: berth network create|ls|inspect|rm|prune on CNI conflists in a private
# directory, containers attached by berth's OCI hooks (createRuntime ADD, poststop DEL) with
# Debian's real plugins: `run -d -p HOST:80` busybox httpd answers curl on 127.0.0.1; -P
# publishes the image's EXPOSE on a free port and `berth port` says which; two containers on a
# user network reach each other by name and --network-alias (/etc/hosts kept per network, peers
# added and dropped as they come and go), --add-host, --hostname and --dns still apply;
# --network none has only lo; --network host sees the host's interfaces; a container restarted
# by its --restart policy gets its network again (one attachment, not one per restart); a
# container whose process was killed from outside is cleaned by rm -f. At the end (after rm -f
# and network rm): no veth on the test's bridges, the user network's bridge gone, no host-local
# lease, no CNI cache entry, no iptables rule about the test's subnets or containers.
# The test's `bridge` network is its own conflist (bridge device and subnet of its own), so the
# host's berth0 is never touched; CNI cache and IPAM data live under $T.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc python3 umoci skopeo ip iptables iptables-save curl
for p in bridge host-local portmap firewall; do
  [[ -x /usr/lib/cni/$p ]] || skip "needs /usr/lib/cni/$p (containernetworking-plugins)"
done

# Two /24s of 10.241.0.0/16 that no route of this host covers.
free_octets=()
for i in $(seq 0 199); do
  o=$(((($$ + i) % 200) + 20))
  ip -4 route show | grep -q "^10\.241\.$o\." || free_octets+=("$o")
  [[ ${#free_octets[@]} -ge 2 ]] && break
done
[[ ${#free_octets[@]} -ge 2 ]] || skip "no two free /24s in 10.241.0.0/16"
P0="10.241.${free_octets[0]}." # the test's default network
P1="10.241.${free_octets[1]}." # its user network
BR0="bb$$"
NETD="$T/net.d"
export BERTH_CNI_NETCONFPATH="$NETD" BERTH_CNI_CACHE_DIR="$T/cni-cache" BERTH_CNI_IPAM_DIR="$T/ipam"
USER_BR=""

chains_of() { iptables-save -t "$1" | sed -n 's/^:\([^ ]*\) .*/\1/p' | sort; }
CHAINS_BEFORE_nat=$(chains_of nat)
CHAINS_BEFORE_filter=$(chains_of filter)
IP_FORWARD_BEFORE=$(sysctl -n net.ipv4.ip_forward)
# iptables rules about this test: its subnets, its user network's name and its containers' CNI
# ids ("<namespace>.<container>") in the plugins' comments.
own_rules() {
  iptables-save -t "$1" | grep '^-A' | grep -F -e "$P0" -e "$P1" -e "\"bnet$$\"" -e "id: \"$CONTAINERD_NAMESPACE." || true
}
iptables_cleanup() {
  local table line c before new del
  for table in nat filter; do
    own_rules "$table" | while read -r line; do eval "iptables -w -t $table -D ${line#-A }"; done
    before=CHAINS_BEFORE_$table
    new=$(comm -13 <(echo "${!before}") <(chains_of "$table") | grep '^CNI-' || true)
    del=()
    for c in $new; do
      if ! iptables-save -t "$table" | grep "^-A $c " | grep -qE -e ' -[sd] ' -e DNAT -e '-j CNI-(DN-)?[0-9a-f]{20}'; then
        del+=("$c")
      fi
    done
    for c in "${del[@]}"; do
      iptables-save -t "$table" | grep '^-A' | grep -E -- "-j $c( |\$)" | while read -r line; do
        eval "iptables -w -t $table -D ${line#-A }"
      done
      iptables -w -t "$table" -F "$c"
    done
    for c in "${del[@]}"; do iptables -w -t "$table" -X "$c"; done
  done
}
network_cleanup() {
  local rc=$?
  set +e
  # berthd and the containers first (runc delete runs the poststop hooks: CNI DEL).
  if [[ -n "$BERTHD_PID" && "${BERTH_ADDRESS:-}" == "$SOCK" ]]; then
    for id in $("$BERTH_BIN/berth" ps -aq 2>/dev/null); do "$BERTH_BIN/berth" rm -f "$id" >/dev/null 2>&1; done
  fi
  ip link delete "$BR0" 2>/dev/null
  [[ -n "$USER_BR" ]] && ip link delete "$USER_BR" 2>/dev/null
  iptables_cleanup
  [[ "$IP_FORWARD_BEFORE" == 0 ]] && sysctl -qw net.ipv4.ip_forward=0
  (exit "$rc")
  harness_cleanup
}
trap network_cleanup EXIT

mkdir -p "$NETD"
cat >"$NETD/berth-bridge.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "bridge",
  "berthLabels": {"berth/default-network": "true"},
  "plugins": [
    {"type": "bridge", "bridge": "$BR0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "${P0}0/24", "gateway": "${P0}1"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true},
    {"type": "firewall"}
  ]
}
EOF

start_registry
push_busybox_image busybox:net
IMG="$REGISTRY/busybox:net"
umoci config --image "$T/oci-busybox:latest" --tag expose --config.exposedports 80/tcp >/dev/null
skopeo copy --quiet --dest-tls-verify=false "oci:$T/oci-busybox:expose" "docker://$REGISTRY/busybox:expose" >/dev/null
EXPOSE_IMG="$REGISTRY/busybox:expose"

cat >"$T/berthd.toml" <<'TOML'
version = 2
[plugins."io.containerd.internal.v1.restart"]
  interval = "1s"
TOML
start_berthd --config "$T/berthd.toml"
export BERTH_ADDRESS="$SOCK" BERTH_NAMESPACE="$CONTAINERD_NAMESPACE"
export BERTH_FIFO_DIR="$T/fifo" BERTH_LOG_DIR="$T/logs"
berth() { "$BERTH_BIN/berth" "$@"; }
berth pull --plain-http "$IMG" >/dev/null
berth pull --plain-http "$EXPOSE_IMG" >/dev/null
HTTPD='mkdir -p /www && echo "hello from $(hostname)" >/www/index.html && exec httpd -f -p 80 -h /www'

log "network create, ls (--format, -q), inspect, labels; create of a taken name fails"
NET="bnet$$"
id=$(berth network create --subnet "${P1}0/24" -l team=qa -l tier=back "$NET")
assert_eq "${#id}" 64 "create prints the id"
USER_BR="br-${id:0:12}"
ls_out=$(berth network ls)
assert_contains "$ls_out" "NETWORK ID" "ls header"
for n in bridge host none "$NET"; do assert_contains "$ls_out" " $n " "ls lists $n"; done
assert_contains "$(berth network ls -q)" "${id:0:12}" "ls -q"
assert_contains "$(berth network ls --format '{{.Name}}={{.Labels}}')" "$NET=team=qa,tier=back" "ls --format labels"
insp=$(berth network inspect "$NET")
assert_eq "$(python3 -c 'import json,sys; n=json.loads(sys.argv[1])[0]; print(n["Name"], n["Id"], n["Driver"], n["IPAM"]["Config"][0]["Subnet"], n["IPAM"]["Config"][0]["Gateway"], n["Labels"]["team"], n["Options"]["com.docker.network.bridge.name"])' "$insp")" \
  "$NET $id bridge ${P1}0/24 ${P1}1 qa $USER_BR" "inspect JSON"
assert_eq "$(berth network inspect -f '{{.Name}}' "${id:0:12}")" "$NET" "inspect by id prefix"
grep -q '"berthLabels"' "$NETD/berth-$NET.conflist" || fail "labels are not in the conflist"
berth network create "$NET" 2>"$T/err" && fail "a second create of $NET succeeded"
assert_contains "$(cat "$T/err")" "already exists" "taken name"

log "-p HOST_PORT:80: busybox httpd answers curl 127.0.0.1:HOST_PORT; berth port"
HPORT=$(free_port)
berth run -d --name web -p "$HPORT:80" "$IMG" sh -c "$HTTPD" >/dev/null
wait_for 30 curl -fsS "http://127.0.0.1:$HPORT/" >/dev/null || fail "no answer on 127.0.0.1:$HPORT"
assert_eq "$(curl -fsS "http://127.0.0.1:$HPORT/")" "hello from web" "httpd through the published port"
assert_eq "$(berth port web)" "80/tcp -> 0.0.0.0:$HPORT" "berth port"
assert_eq "$(berth port web 80/tcp)" "0.0.0.0:$HPORT" "berth port CONTAINER PORT"
web_ip=$(berth exec web ip -o -4 addr show eth0 | awk '{print $4}')
assert_contains "$web_ip" "$P0" "web has an address on the default network"
assert_contains "$(berth exec web cat /etc/hosts)" "${web_ip%/*}	web" "own entry in /etc/hosts"
assert_eq "$(berth inspect -f '{{.NetworkSettings.IPAddress}} {{.HostConfig.NetworkMode}}' web)" "${web_ip%/*} bridge" \
  "inspect NetworkSettings"
assert_eq "$(berth inspect -f '{{json .NetworkSettings.Ports}}' web)" "{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"$HPORT\"}]}" \
  "inspect ports"

log "-P publishes the image's EXPOSE on a free host port"
berth run -d --name webp -P "$EXPOSE_IMG" sh -c "$HTTPD" >/dev/null
pline=$(berth port webp)
[[ "$pline" =~ ^80/tcp\ -\>\ 0\.0\.0\.0:([0-9]+)$ ]] || fail "berth port after -P: [$pline]"
PPORT=${BASH_REMATCH[1]}
wait_for 30 curl -fsS "http://127.0.0.1:$PPORT/" >/dev/null || fail "no answer on -P port $PPORT"
assert_eq "$(curl -fsS "http://127.0.0.1:$PPORT/")" "hello from webp" "httpd through the -P port"

log "a user network: names and aliases in /etc/hosts, peers added and dropped; --add-host, -h, --dns"
berth run -d --name alpha --network "$NET" --network-alias al --add-host extra.example:192.0.2.7 "$IMG" \
  sh -c "$HTTPD" >/dev/null
berth run -d --name beta -h beta-host --network "$NET" --dns 192.0.2.53 "$IMG" sh -c "$HTTPD" >/dev/null
alpha_ip=$(berth exec alpha ip -o -4 addr show eth0 | awk '{print $4}')
beta_ip=$(berth exec beta ip -o -4 addr show eth0 | awk '{print $4}')
assert_contains "$alpha_ip" "$P1" "alpha on $NET"
assert_contains "$beta_ip" "$P1" "beta on $NET"
assert_eq "$(berth inspect -f "{{json .NetworkSettings.Networks.$NET.Aliases}}" alpha)" '["al"]' "inspect aliases"
assert_eq "$(berth inspect --type network -f '{{.Name}}' "$NET")" "$NET" "berth inspect finds networks"
ah=$(berth exec alpha cat /etc/hosts)
assert_contains "$ah" "192.0.2.7	extra.example" "--add-host kept"
assert_contains "$ah" "${alpha_ip%/*}	alpha al" "alpha's own names"
assert_contains "$ah" "${beta_ip%/*}	beta-host beta" "beta added to alpha's hosts when it came"
assert_contains "$(berth exec beta cat /etc/hosts)" "${alpha_ip%/*}	alpha al" "alpha in beta's hosts"
assert_eq "$(berth exec beta hostname)" "beta-host" "--hostname"
assert_contains "$(berth exec beta cat /etc/resolv.conf)" "nameserver 192.0.2.53" "--dns"
assert_eq "$(berth exec beta wget -qO- http://alpha/)" "hello from alpha" "beta reaches alpha by name"
assert_eq "$(berth exec beta wget -qO- http://al/)" "hello from alpha" "beta reaches alpha by alias"
assert_eq "$(berth exec alpha wget -qO- http://beta/)" "hello from beta-host" "alpha reaches beta by name"
berth exec alpha ping -c 1 -W 5 beta-host >/dev/null || fail "alpha cannot ping beta-host"
berth network rm "$NET" 2>"$T/err" && fail "network rm of a network in use succeeded"
assert_contains "$(cat "$T/err")" "alpha" "network rm names the containers using it"
berth rm -f beta >/dev/null
assert_not_contains "$(berth exec alpha cat /etc/hosts)" "beta" "beta dropped from alpha's hosts when it went"

log "--network none has only lo; --network host sees the host's interfaces"
assert_eq "$(berth run --rm --network none "$IMG" ls /sys/class/net)" "lo" "--network none"
assert_eq "$(berth run --rm --network host "$IMG" ls /sys/class/net | sort)" "$(ls /sys/class/net | sort)" "--network host"
assert_eq "$(berth run --rm --network host "$IMG" hostname)" "$(hostname)" "host network: the host's name"
berth run --rm --network none -p 1:1 "$IMG" true 2>/dev/null && fail "--network none with -p accepted"

log "--restart: a task restarted by berthd's restart monitor gets its network again"
mkdir -p "$T/rs"
berth run -d --name rs --restart always --network "$NET" -v "$T/rs:/log" "$IMG" \
  sh -c 'ip -o -4 addr show eth0 >>/log/addrs; sleep 1; exit 1' >/dev/null
wait_for 60 sh -c "[ \$(wc -l <'$T/rs/addrs') -ge 3 ]" || fail "rs did not restart twice: $(cat "$T/rs/addrs" 2>&1)"
while read -r line; do assert_contains "$line" "inet $P1" "an address after each (re)start"; done <"$T/rs/addrs"
cached=$(ls "$T/cni-cache/results" | grep -c "rs-eth0" || true)
[[ "$cached" -le 1 ]] || fail "$cached cached attachments for rs: restarts leak"
berth rm -f rs >/dev/null

log "a container killed from outside (a crash): rm -f still tears its network down"
berth run -d --name crash --network "$NET" "$IMG" sleep 1000 >/dev/null
pid=$(bctr task ls | awk '$1 == "crash" {print $2}')
[[ -n "$pid" ]] || fail "no pid for crash"
kill -KILL "$pid"
wait_for 30 sh -c "$BERTH_BIN/berth ps -a | grep crash | grep -q Exited" || fail "crash did not exit"
berth rm -f crash >/dev/null

log "teardown: rm -f and network rm leave no veth, lease, cache entry or iptables rule"
ids="web webp alpha"
berth rm -f $ids >/dev/null
berth network rm "$NET" >/dev/null
[[ ! -e "$NETD/berth-$NET.conflist" ]] || fail "conflist left after network rm"
ip link show "$USER_BR" >/dev/null 2>&1 && fail "bridge $USER_BR left after network rm"
assert_eq "$(ip -o link show master "$BR0" 2>/dev/null)" "" "no veth left on $BR0"
assert_eq "$(ip -o link show type veth | grep -e "$USER_BR" -e "$BR0" || true)" "" "no veth of the test's bridges"
leases=$(find "$T/ipam" -type f ! -name lock ! -name 'last_reserved_ip*' 2>/dev/null)
assert_eq "$leases" "" "no host-local lease left"
assert_eq "$(ls -A "$T/cni-cache/results" 2>/dev/null)" "" "no CNI cache entry left"
for table in nat filter; do
  assert_eq "$(own_rules "$table")" "" "no $table rule about the test's subnets or networks"
  for c in web webp alpha beta rs crash; do
    assert_eq "$(iptables-save -t "$table" | grep -F "$CONTAINERD_NAMESPACE.$c\"" || true)" "" "no $table rule for $c"
  done
done

log "network prune removes unused user networks only"
berth network create "p1$$" >/dev/null
berth network create "p2$$" >/dev/null
berth create --name holder --network "p2$$" "$IMG" true >/dev/null
out=$(berth network prune -f)
assert_contains "$out" "p1$$" "prune removed the unused network"
assert_not_contains "$out" "p2$$" "prune kept the used network"
assert_contains "$(berth network ls)" "p2$$" "p2 still listed"
berth rm holder >/dev/null
berth network rm "p2$$" >/dev/null
log "ok"
