#!/usr/bin/env bash
# Fault test: berthd is SIGKILLed in the middle of a 200 MiB ingest and restarted. The blob must
# be absent or complete and verified, the ingest must be resumable from its offset, and every
# other blob must still verify.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_cmd ctr sha256sum

start_berthd
INGEST_DIR="$ROOT/io.containerd.content.v1.content/ingest"

digest_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
blob_ok() {
  local got
  got="sha256:$(bctr content get "$1" | sha256sum | cut -d' ' -f1)"
  [[ "$got" == "$1" ]]
}
# Bytes held by the (single) ingest on disk, 0 when there is none.
ingest_bytes() {
  local f
  for f in "$INGEST_DIR"/*/data; do
    [[ -e "$f" ]] && { stat -c %s "$f"; return; }
  done
  echo 0
}

log "other blobs first"
others=()
for i in 1 2 3; do
  head -c $((i << 20)) /dev/urandom >"$T/other$i"
  d=$(digest_of "$T/other$i")
  bctr content ingest --expected-digest "$d" "other-$i" <"$T/other$i"
  others+=("$d")
done

log "200 MiB ingest, fed slowly, killed half-way"
head -c $((200 << 20)) /dev/urandom >"$T/big"
DBIG=$(digest_of "$T/big")
(
  for i in $(seq 0 199); do
    dd if="$T/big" bs=1M skip="$i" count=1 status=none
    sleep 0.03
  done
) | bctr content ingest --expected-digest "$DBIG" big-ref >"$T/ingest1.log" 2>&1 &
ingest_pid=$!
wait_for 60 bash -c "(( \$(stat -c %s $INGEST_DIR/*/data 2>/dev/null || echo 0) >= 40 << 20 ))" ||
  fail "the ingest never reached 40 MiB"
kill_berthd
if wait "$ingest_pid"; then log "(the ingest finished before the kill)"; fi
before=$(ingest_bytes)
log "killed with $before bytes in the ingest"

start_berthd
log "after restart"
for d in "${others[@]}"; do blob_ok "$d" || fail "blob $d does not verify after the crash"; done
if bctr content ls -q | grep -q "$DBIG"; then
  blob_ok "$DBIG" || fail "big blob present but corrupt"
  log "big blob complete and verified"
else
  [[ ! -e "$ROOT/io.containerd.content.v1.content/blobs/sha256/${DBIG#sha256:}" ]] || fail "half-written blob on disk"
  active=$(bctr content active)
  assert_contains "$active" "big-ref" "the interrupted ingest is still active"
  after=$(ingest_bytes)
  assert_eq "$after" "$before" "ingest offset kept across the restart"
  log "resuming from offset $after"
  bctr content ingest --expected-digest "$DBIG" big-ref <"$T/big"
  grep -q "resuming ingest big-ref at offset $after" "$T/berthd.log" || fail "the second ingest did not resume"
  blob_ok "$DBIG" || fail "resumed blob does not verify"
  assert_not_contains "$(bctr content active)" "big-ref" "ingest gone after commit"
fi
for d in "${others[@]}"; do blob_ok "$d" || fail "blob $d does not verify at the end"; done
# No ingest directory or stray file is left over.
assert_eq "$(find "$INGEST_DIR" -mindepth 1 | wc -l)" "0" "ingest area empty"

log "PASS"
