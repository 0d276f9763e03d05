#!/usr/bin/env bash
# Issue 10: resumable ingests with the stock ctr, as containerd's content store. A `ctr content
# ingest` killed midway leaves its ingest (`ctr content active` shows the bytes held); the ref's
# lock goes with the stream, so a second `ctr content ingest` of the full data resumes at that
# offset (ctr seeks its stdin, containerd's content.Copy) and commits the right digest; while an
# ingest's stream is open a second writer of the same ref gets containerd's "ref ... locked"
# Unavailable error; a failed commit (wrong size or digest) keeps the ingest for a later writer.
source "$BERTH_SRC/tests/integration/lib/harness.sh"
require_cmd ctr sha256sum

start_berthd

digest_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
# active_line REF: REF's row of `ctr content active` (REF, SIZE = bytes held, humanised, AGE).
active_line() { bctr content active | awk -v r="$1" '$1 == r'; }
# The ingest directory of REF on disk (berthd keys it by the namespace-qualified ref).
ingest_dir() {
  echo "$ROOT/io.containerd.content.v1.content/ingest/$(printf '%s' "$CONTAINERD_NAMESPACE/$1" | sha256sum | cut -d' ' -f1)"
}
held_bytes() { stat -c %s "$(ingest_dir "$1")/data" 2>/dev/null || echo none; }

# ctr copies in whole 1 MiB reads (containerd's copyWithBuffer uses io.ReadAtLeast), so the half
# fed is a multiple of 1 MiB; ctr's humanised SIZE column shows 3 MiB as "3.146MB".
SIZE=$((6 << 20))
HALF=$((3 << 20))
HALF_SHOWN=3.146MB
head -c "$SIZE" /dev/urandom >"$T/data"
D=$(digest_of "$T/data")

log "an ingest interrupted midway (ctr killed) keeps the bytes it wrote"
mkfifo "$T/feed"
# ctr itself in the background (not through the bctr function), so $! is ctr's pid.
ctr --address "$SOCK" content ingest --expected-size "$SIZE" --expected-digest "$D" resume-ref <"$T/feed" &
ingest_pid=$!
HARNESS_PIDS+=("$ingest_pid")
exec 7>"$T/feed"  # hold the pipe open: ctr blocks reading after the first half
head -c "$HALF" "$T/data" >&7
wait_for 30 bash -c "[[ \$(stat -c %s '$(ingest_dir resume-ref)/data' 2>/dev/null) == $HALF ]]" ||
  fail "the first half never reached the ingest (held: $(held_bytes resume-ref))"
out=$(active_line resume-ref)
[[ -n "$out" ]] || fail "ctr content active does not list resume-ref: $(bctr content active)"
assert_eq "$(awk '{print $2}' <<<"$out")" "$HALF_SHOWN" "content active shows the offset"
assert_eq "$(cat "$(ingest_dir resume-ref)/total")" "$SIZE" "the expected total is recorded"

log "a second writer while the first stream is open gets containerd's locked error"
rc=0
out=$(timeout 60 ctr --address "$SOCK" --timeout 3s content ingest --expected-size "$SIZE" resume-ref <"$T/data" 2>&1) || rc=$?
[[ $rc -ne 0 ]] || fail "a second writer on a held ref succeeded"
# ctr retries an Unavailable open until its deadline (containerd's content.OpenWriter), and the
# store itself retries a held ref for about a second, so what ctr prints at the deadline is the
# lock error or, when the deadline cut an attempt short, "context deadline exceeded". The answers
# berthd gave it are in its log: containerd's locked error for this ref.
[[ "$out" == *"resume-ref locked for "*"(since "*"): unavailable"* || "$out" == *"deadline exceeded"* ]] ||
  fail "unexpected error from the second writer: $out"
grep -Eq "UNAVAILABLE: ref [^ ]*resume-ref locked for [0-9.]+[a-zµ]+ \(since [0-9-]+ [0-9:.]+ \+0000 UTC\): unavailable" \
  "$T/berthd.log" || fail "berthd did not answer the second writer with the locked error"
assert_eq "$(held_bytes resume-ref)" "$HALF" "the refused writer changed nothing"

kill -KILL "$ingest_pid"
wait "$ingest_pid" 2>/dev/null || true
exec 7>&-
# The lock went with the stream: Status still shows the bytes, and it is resumable at once.
out=$(active_line resume-ref)
assert_eq "$(awk '{print $2}' <<<"$out")" "$HALF_SHOWN" "offset kept after the client died"
assert_eq "$(held_bytes resume-ref)" "$HALF" "bytes kept after the client died"

log "a second ctr content ingest of the full data resumes at the offset and commits the digest"
timeout 60 ctr --address "$SOCK" content ingest --expected-size "$SIZE" --expected-digest "$D" resume-ref <"$T/data" ||
  fail "resumed ingest failed"
grep -q "resuming ingest .*resume-ref at offset $HALF" "$T/berthd.log" || fail "berthd did not resume at $HALF"
assert_contains "$(bctr content ls -q)" "$D" "resumed blob committed under its digest"
got="sha256:$(bctr content get "$D" | sha256sum | cut -d' ' -f1)"
assert_eq "$got" "$D" "resumed blob reads back byte-identical"
assert_eq "$(active_line resume-ref)" "" "the ingest is gone after commit"

log "an ingest whose client stops short of the expected size (no commit) is resumable"
printf 'first part|' >"$T/part1"
printf 'first part|second part\n' >"$T/whole"
DW=$(digest_of "$T/whole")
WSIZE=$(stat -c %s "$T/whole")
# ctr finds its stdin short of --expected-size and closes the stream without committing.
rc=0
out=$(bctr content ingest --expected-size "$WSIZE" eof-ref <"$T/part1" 2>&1) || rc=$?
[[ $rc -ne 0 ]] || fail "a short ingest committed"
assert_contains "$out" "unexpected EOF" "ctr reports the short input"
assert_contains "$(active_line eof-ref)" "eof-ref" "the unfinished ingest is still active"
assert_eq "$(held_bytes eof-ref)" "$(stat -c %s "$T/part1")" "its bytes are kept"
timeout 60 ctr --address "$SOCK" content ingest --expected-size "$WSIZE" --expected-digest "$DW" eof-ref <"$T/whole" ||
  fail "resuming an unfinished ingest failed"
assert_contains "$(bctr content ls -q)" "$DW" "committed after the resume"
assert_eq "$(active_line eof-ref)" "" "ingest gone after the commit"

log "a commit of the wrong size is FailedPrecondition and keeps the ingest"
rc=0
out=$(bctr content ingest --expected-size 5 size-ref <"$T/whole" 2>&1) || rc=$?
[[ $rc -ne 0 ]] || fail "a wrong expected size committed"
assert_contains "$out" "\"size-ref\" failed size validation: $WSIZE != 5: failed precondition" "containerd's size message"
assert_contains "$(active_line size-ref)" "size-ref" "ingest kept after a wrong size"
assert_eq "$(held_bytes size-ref)" "$WSIZE" "its bytes are kept"
# The next writer resumes at the end (nothing left to send) and commits with the right size.
bctr content ingest --expected-size "$WSIZE" size-ref <"$T/whole" || fail "commit after a wrong size failed"
assert_eq "$(active_line size-ref)" "" "ingest gone after the commit"

log "a wrong digest at commit keeps the ingest; the next writer commits it"
printf 'digest test\n' >"$T/dg"
DG=$(digest_of "$T/dg")
DOTHER="sha256:$(printf 'something else' | sha256sum | cut -d' ' -f1)"
rc=0
out=$(bctr content ingest --expected-digest "$DOTHER" dg-ref <"$T/dg" 2>&1) || rc=$?
[[ $rc -ne 0 ]] || fail "a wrong expected digest committed"
assert_contains "$out" "unexpected commit digest $DG, expected $DOTHER" "containerd's digest message"
assert_contains "$(active_line dg-ref)" "dg-ref" "ingest kept after a wrong digest"
bctr content ingest --expected-digest "$DG" dg-ref <"$T/dg" || fail "commit after a wrong digest failed"
assert_contains "$(bctr content ls -q)" "$DG" "committed under the right digest"
assert_eq "$(active_line dg-ref)" "" "ingest gone after the commit"

log "PASS"
