#!/usr/bin/env bash
# The content store through the stock ctr: ingest (with and without expected digest), ls with
# filters, get (byte-identical), label, active during a slow ingest, rm, namespaces, bad input,
# and fetching an image's blobs from a registry on 127.0.0.1.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_cmd ctr sha256sum cmp python3

start_berthd

digest_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
blob_ok() {  # blob_ok DIGEST: the bytes ctr reads back hash to DIGEST
  local got
  got="sha256:$(bctr content get "$1" | sha256sum | cut -d' ' -f1)"
  [[ "$got" == "$1" ]]
}

log "ingest from stdin without an expected digest"
printf 'hello berth\n' >"$T/a"
DA=$(digest_of "$T/a")
bctr content ingest ref-a <"$T/a"
assert_contains "$(bctr content ls -q)" "$DA" "ingested blob listed"
bctr content get "$DA" >"$T/a.out"
cmp "$T/a" "$T/a.out" || fail "content get differs from what was ingested"

log "ingest with expected digest and size (3 MiB, several WRITE messages)"
head -c $((3 << 20)) /dev/urandom >"$T/b"
DB=$(digest_of "$T/b")
bctr content ingest --expected-digest "$DB" --expected-size $((3 << 20)) ref-b <"$T/b"
bctr content get "$DB" >"$T/b.out"
cmp "$T/b" "$T/b.out" || fail "3 MiB blob differs"
# Writing it again is a no-op success (AlreadyExists on the first response).
bctr content ingest --expected-digest "$DB" ref-b-again <"$T/b"
assert_eq "$(bctr content ls -q | grep -c "$DB")" "1" "blob listed once"

log "ls with filters"
assert_eq "$(bctr content ls -q "digest==$DB")" "$DB" "digest filter"
assert_eq "$(bctr content ls -q "size==12")" "$DA" "size filter"

log "label"
# As in containerd, a blob nothing references is garbage once a collection runs (berthd collects
# after deletes); the gc.root label keeps this one for the rest of the test.
bctr content label "$DB" kind=test team=berth containerd.io/gc.root=test >/dev/null
out=$(bctr content ls "labels.kind==test")
assert_contains "$out" "$DB" "label filter matches"
assert_not_contains "$out" "$DA" "label filter excludes"
assert_contains "$out" "team=berth" "labels shown"
bctr content label "$DB" team= >/dev/null  # an empty value removes the label
out=$(bctr content ls "digest==$DB")
assert_not_contains "$out" "team=berth" "label removed"
assert_contains "$out" "kind=test" "other label kept"

log "active during a slow ingest"
head -c $((40 * 65536)) /dev/urandom >"$T/slow.data"
# Feed the same bytes slowly through a pipe so the ingest stays open for a while.
(
  for i in $(seq 0 39); do
    dd if="$T/slow.data" bs=65536 skip="$i" count=1 status=none
    sleep 0.15
  done
) | bctr content ingest slow-ref &
slow_pid=$!
wait_for 20 bash -c "ctr --address '$SOCK' content active | grep -q '^slow-ref'" || fail "slow ingest never active"
out=$(bctr content active)
assert_contains "$out" "slow-ref" "content active lists the ingest"
wait "$slow_pid" || fail "slow ingest failed"
DS=$(digest_of "$T/slow.data")
blob_ok "$DS" || fail "slowly ingested blob does not verify"
assert_not_contains "$(bctr content active)" "slow-ref" "ingest gone after commit"

log "bad input"
printf 'not what you expect\n' >"$T/bad"
DBAD=$(digest_of "$T/bad")
DNONE="sha256:$(printf 'never ingested' | sha256sum | cut -d' ' -f1)"
if out=$(bctr content ingest --expected-digest "$DNONE" bad-digest <"$T/bad" 2>&1); then
  fail "wrong expected digest accepted"
fi
assert_contains "$out" "failed precondition" "wrong digest is FailedPrecondition"
assert_not_contains "$(bctr content ls -q)" "$DBAD" "no blob from a refused ingest"
assert_not_contains "$(bctr content ls -q)" "$DNONE" "no blob under the expected digest"
if out=$(bctr content ingest --expected-size 5 bad-size <"$T/bad" 2>&1); then
  fail "wrong expected size accepted"
fi
assert_contains "$out" "failed precondition" "wrong size is FailedPrecondition"
assert_not_contains "$(bctr content ls -q)" "$DBAD" "no blob from a refused size"
[[ ! -e "$ROOT/io.containerd.content.v1.content/blobs/sha256/${DBAD#sha256:}" ]] || fail "refused blob on disk"
if out=$(bctr content get sha256:1234 2>&1); then fail "malformed digest accepted"; fi
assert_contains "$out" "invalid" "malformed digest refused"
if out=$(bctr content ingest --expected-digest sha256:zz bad-malformed <"$T/a" 2>&1); then
  fail "malformed expected digest accepted"
fi
if out=$(bctr content get "sha256:$(printf '%064d' 0)" 2>&1); then fail "absent blob read"; fi
assert_contains "$out" "not found" "absent blob is NotFound"

log "namespaces: visibility and shared bytes"
assert_eq "$(bctr -n other-$$ content ls -q)" "" "other namespace sees nothing"
bctr -n other-$$ content ingest --expected-digest "$DA" ref-a <"$T/a"
assert_eq "$(bctr -n other-$$ content ls -q)" "$DA" "committed in the other namespace"

log "rm"
bctr content rm "$DA" >/dev/null
assert_not_contains "$(bctr content ls -q)" "$DA" "removed from this namespace"
if bctr content get "$DA" >/dev/null 2>&1; then fail "removed blob still readable here"; fi
bctr -n other-$$ content get "$DA" >"$T/a.other"
cmp "$T/a" "$T/a.other" || fail "blob lost in the other namespace"
bctr -n other-$$ content rm "$DA" >/dev/null
[[ ! -e "$ROOT/io.containerd.content.v1.content/blobs/sha256/${DA#sha256:}" ]] || fail "unreferenced bytes kept"

log "blobs of an image from the registry"
start_registry
push_busybox_image content/busybox:1
# The manifest as a client resolves it (what ctr content fetch stores).
bctr content fetch-object --plain-http "$REGISTRY/content/busybox:1" >"$T/manifest.json" 2>/dev/null
DM=$(digest_of "$T/manifest.json")
mapfile -t children < <(cat "$T/manifest.json" |
  python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["config"]["digest"]); [print(l["digest"]) for l in m["layers"]]')
if bctr leases ls >/dev/null 2>&1; then
  # ctr content fetch needs the Leases and Images services as well.
  bctr content fetch --plain-http "$REGISTRY/content/busybox:1" >/dev/null
else
  log "Leases service not available: streaming each blob from the registry into content ingest instead"
  bctr content ingest --expected-digest "$DM" "manifest-$DM" <"$T/manifest.json"
  for d in "${children[@]}"; do
    curl -fsS "http://$REGISTRY/v2/content/busybox/blobs/$d" | bctr content ingest --expected-digest "$d" "layer-$d"
  done
fi
listed=$(bctr content ls -q)
for d in "$DM" "${children[@]}"; do
  assert_contains "$listed" "$d" "image blob present"
  blob_ok "$d" || fail "image blob $d does not verify"
done
# Every blob in the store verifies.
for d in $(bctr content ls -q); do blob_ok "$d" || fail "blob $d does not verify"; done

log "content survives a restart"
restart_berthd
blob_ok "$DB" || fail "blob lost across restart"
assert_contains "$(bctr content ls "labels.kind==test")" "$DB" "labels kept across restart"

log "PASS"
