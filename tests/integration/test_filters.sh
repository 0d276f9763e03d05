#!/usr/bin/env bash
# Issue 10: containerd's filter grammar end to end with the stock ctr. `ctr events` subscribed
# with Docker's engine filters (namespace==NS,topic~=|^/tasks/exit| and |^/tasks/|) receives
# exactly those topics from a real container run; several filter strings are ORed; the List
# calls of images, containers, content and leases filter with the same grammar; a malformed
# filter is InvalidArgument "filters: parse error: ...".
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_root
require_cmd ctr runc
start_registry
push_busybox_image busybox:filters
IMG="$REGISTRY/busybox:filters"
NS=$CONTAINERD_NAMESPACE

start_berthd
bctr_pull "$IMG"

# Each subscriber also ORs the sync topic /namespaces/create, so the test can tell when the
# subscription is live and when everything published before a marker has been delivered.
SYNC='topic=="/namespaces/create"'
subscribe() {  # NAME FILTER...
  local name=$1
  shift
  bctr events "$@" "$SYNC" >"$T/ev_$name.txt" 2>&1 &
  HARNESS_PIDS+=($!)
}
subscribe exit "namespace==$NS,topic~=|^/tasks/exit|"
subscribe tasks "namespace==$NS,topic~=|^/tasks/|"
subscribe containers 'topic=="/containers/create"' 'topic=="/containers/delete"'
subscribe other "namespace==other$NS,topic~=|^/tasks/|"
subscribe snap "namespace==$NS,topic~=/snapshot/,event.key~=|^filters-key$|"
SUBS=(exit tasks containers other snap)

count_sync() { grep -c "/namespaces/create" "$T/ev_$1.txt" || true; }
# marker N: creates namespaces until every subscriber has seen N of them (bounded).
marker() {
  local want=$1 i ok s
  for ((i = 0; i < 100; i++)); do
    bctr namespaces create "sync$want-$i-$NS" >/dev/null
    ok=1
    for s in "${SUBS[@]}"; do
      (($(count_sync "$s") >= want)) || ok=0
    done
    ((ok)) && return 0
    sleep 0.2
  done
  fail "subscribers did not see sync marker $want"
}
# topics NAME: the topics a subscriber got, sync markers left out, in order.
topics() { awk '$6 != "/namespaces/create" {print $6}' "$T/ev_$1.txt"; }

log "waiting for the subscriptions"
marker 1
# Later markers must be counted from what each subscriber has now.
for s in "${SUBS[@]}"; do
  n=$(count_sync "$s")
  [[ $n -ge 1 ]] || fail "subscriber $s not live"
done
base=$(for s in "${SUBS[@]}"; do count_sync "$s"; done | sort -n | tail -1)

log "ctr run --rm a container and a snapshot prepare/remove"
out=$(bctr run --rm "$IMG" filters-c1 echo hi 2>&1) || fail "ctr run: $out"
assert_eq "$out" "hi" "ctr run output"
bctr snapshots prepare filters-key >/dev/null
bctr snapshots rm filters-key
bctr snapshots prepare other-key >/dev/null
bctr snapshots rm other-key
wait_for 20 grep -q /tasks/exit "$T/ev_exit.txt" || fail "no /tasks/exit: $(cat "$T/ev_exit.txt")"
marker $((base + 1))

log "each subscriber got exactly its topics"
assert_eq "$(topics exit)" "/tasks/exit" "namespace==NS,topic~=|^/tasks/exit|"
# (sorted: the shim forwards /tasks/exit on its own schedule)
assert_eq "$(topics tasks | sort)" $'/tasks/create\n/tasks/delete\n/tasks/exit\n/tasks/start' \
  "namespace==NS,topic~=|^/tasks/|"
assert_eq "$(topics containers)" $'/containers/create\n/containers/delete' "two ORed topic filters"
assert_eq "$(topics other)" "" "another namespace's task events"
assert_eq "$(topics snap)" $'/snapshot/prepare\n/snapshot/remove' "event.key filter"
assert_eq "$(awk '$6 == "/tasks/exit" {print $5}' "$T/ev_exit.txt")" "$NS" "envelope namespace"

log "a malformed event filter is InvalidArgument"
out=$(timeout 10 ctr --address "$SOCK" events 'topic~=|^/tasks/' 2>&1) && fail "bad filter accepted: $out"
assert_contains "$out" "InvalidArgument" "bad subscribe filter code"
assert_contains "$out" "filters: parse error: [topic~= >|||< ^/tasks/]: quoted literal not terminated" \
  "bad subscribe filter message"

log "List filters: images"
assert_eq "$(bctr images ls -q 'name~=|busybox:filters$|')" "$IMG" "images name~="
assert_eq "$(bctr images ls -q "name==$IMG")" "$IMG" "images name== with a bare value holding / and :"
assert_eq "$(bctr images ls -q 'name==nope' 'name~=|:filters$|')" "$IMG" "images ORed"
assert_eq "$(bctr images ls -q 'name==nope')" "" "images no match"
assert_eq "$(bctr images ls -q 'target.mediatype~=|manifest|')" "$IMG" "images target.mediatype"
out=$(bctr images ls 'name==' 2>&1) && fail "bad image filter accepted: $out"
# (ctr maps the gRPC code back to containerd's error text, hence the suffix)
assert_contains "$out" "filters: parse error: [name==]: expected value or quoted: invalid argument" \
  "bad list filter message"

log "List filters: containers"
bctr containers create --label a.b=1 --label containerd.io/x=y "$IMG" filters-c2 >/dev/null
bctr containers create "$IMG" filters-c3 >/dev/null
assert_eq "$(bctr containers ls -q 'labels."a.b"==1')" "filters-c2" "quoted label key"
assert_eq "$(bctr containers ls -q 'labels.a.b==1')" "filters-c2" "dotted label path"
assert_eq "$(bctr containers ls -q 'labels."containerd.io/x"')" "filters-c2" "label presence"
assert_eq "$(bctr containers ls -q 'labels."a.b"!=1')" "filters-c3" "!= matches a missing label"
assert_eq "$(bctr containers ls -q 'id~=|^filters-c[23]$|,runtime.name~=|^io.containerd.|' | sort)" \
  $'filters-c2\nfilters-c3' "id~= and runtime.name"
out=$(bctr containers ls 'labels.containerd.io/x' 2>&1) && fail "unquoted / accepted: $out"
assert_contains "$out" "quoted literal not terminated" "a / in a field needs quotes"
bctr containers rm filters-c2 filters-c3

log "List filters: content and leases"
digest=$(bctr images ls | awk -v img="$IMG" '$1 == img {print $3}')
[[ $digest == sha256:* ]] || fail "no digest for $IMG"
assert_eq "$(bctr content ls -q "digest==$digest")" "$digest" "content digest=="
assert_contains "$(bctr content ls -q 'digest~=|^sha256:|')" "$digest" "content digest~="
bctr leases create --id filters-l1 --expires 0 k=v >/dev/null
bctr leases create --id filters-l2 --expires 0 >/dev/null
assert_eq "$(bctr leases ls -q 'labels.k==v')" "filters-l1" "leases labels"
assert_eq "$(bctr leases ls -q 'id~=|^filters-l|' | sort)" $'filters-l1\nfilters-l2' "leases id~="
bctr leases rm filters-l1 filters-l2 >/dev/null
log "PASS"
