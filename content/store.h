// The content store: immutable blobs addressed by their digest, and ingests (resumable,
// ref-keyed write transactions) that become blobs when committed.
//
// The interfaces are small and composable, as containerd's content package:
//   Provider       random-access readers over committed blobs
//   Ingester       opens a Writer for a ref (one writer per ref at a time)
//   Manager        Info / Update / Walk / Delete over committed blobs
//   IngestManager  Status / ListStatuses / Abort over ingests in progress
//   Store          all four.
// LocalStore (local_store.h) keeps the bytes on disk; metadata::ContentStore (metadata/content.h)
// layers namespaces, labels and leases on top of it and implements the same interfaces per
// namespace. Consumers take only the interface they need.
//
// Lifecycle of an ingest: Writer(ref) creates or resumes it (re-hashing bytes already held);
// Write appends at the current offset while hashing; Commit verifies size then digest and moves
// the bytes into place; a Writer destroyed or Closed without Commit leaves the ingest for a
// later resume; Abort removes it.
//
// Thread-safety: Store implementations are safe to call from any thread. A Writer (and a
// ReaderAt) belongs to one caller at a time.
//
// Times are nanoseconds since the Unix epoch.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.h"
#include "common/status.h"

namespace berth::content {

using Labels = std::map<std::string, std::string>;

// A committed blob.
struct Info {
  Digest digest = Digest::FromHex("");
  int64_t size = 0;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  Labels labels;
};

// An ingest in progress.
struct IngestStatus {
  std::string ref;
  int64_t offset = 0;  // bytes held
  int64_t total = 0;   // expected size when known, else 0
  int64_t started_at = 0;
  int64_t updated_at = 0;
  std::string expected;  // expected digest when known ("sha256:..."), else ""
};

// Random access over one committed blob. Reads never go past Size().
class ReaderAt {
 public:
  virtual ~ReaderAt() = default;
  virtual int64_t Size() const = 0;
  // Reads up to `n` bytes at `offset` into `buf`; returns the count (0 at or past the end).
  // Internal on I/O errors.
  virtual StatusOr<size_t> ReadAt(void* buf, size_t n, int64_t offset) = 0;
};

class Provider {
 public:
  virtual ~Provider() = default;
  // NotFound when the blob is absent (or not visible to the caller).
  virtual StatusOr<std::unique_ptr<ReaderAt>> OpenReader(const Digest& digest) = 0;
};

// A write transaction on one ingest, holding the ref's lock until Commit, Close or destruction.
class Writer {
 public:
  // Closes without committing: the ingest stays and can be resumed.
  virtual ~Writer() = default;

  virtual IngestStatus GetStatus() const = 0;
  // Digest of the bytes written so far (the empty-input digest for none).
  virtual Digest CurrentDigest() const = 0;
  // Appends `data` at the current offset. Internal/ResourceExhausted on I/O errors;
  // FailedPrecondition after Commit or Close.
  virtual Status Write(std::string_view data) = 0;
  // Discards everything written (only size 0 is supported: InvalidArgument otherwise).
  virtual Status Truncate(int64_t size) = 0;
  // Makes the bytes a blob. `size` (when > 0) and `expected` (when set) must match the data:
  // FailedPrecondition otherwise, with the ingest left in place. AlreadyExists when the blob is
  // already present (the ingest is dropped). NotFound when the ingest was aborted under the
  // writer. The writer is closed and the ref released afterwards, whatever happens, so a failed
  // commit leaves a ref that the next writer resumes (or Abort removes).
  virtual Status Commit(int64_t size, const std::optional<Digest>& expected, const Labels& labels) = 0;
  // Syncs and releases the ref, keeping the ingest. Idempotent.
  virtual Status Close() = 0;
};

struct WriterOptions {
  std::string ref;       // required (InvalidArgument when empty)
  int64_t total = 0;     // expected size, 0 when unknown
  std::optional<Digest> expected;
};

class Ingester {
 public:
  virtual ~Ingester() = default;
  // Opens or resumes the ingest `opts.ref` (the writer's offset is the bytes already held).
  // InvalidArgument for an empty ref; Unavailable while another writer holds the ref ("ref <ref>
  // locked for <d> (since <t>): unavailable"); AlreadyExists when `opts.expected` is present.
  virtual StatusOr<std::unique_ptr<Writer>> OpenWriter(const WriterOptions& opts) = 0;
};

// Called for each blob; a non-OK status stops the walk and is returned by Walk.
using WalkFn = std::function<Status(const Info&)>;

class Manager {
 public:
  virtual ~Manager() = default;
  // NotFound when absent.
  virtual StatusOr<Info> GetInfo(const Digest& digest) = 0;
  // Updates labels: paths "labels" (replace all) and "labels.<key>" (set one; an empty value
  // removes it); no paths replaces all labels. InvalidArgument for other paths or labels too
  // large; NotFound when absent; Unimplemented where labels are not kept.
  virtual StatusOr<Info> Update(const Info& info, const std::vector<std::string>& paths) = 0;
  // Visits blobs matching containerd filters on digest, size and labels.<key>.
  // InvalidArgument for a malformed filter.
  virtual Status Walk(const WalkFn& fn, const std::vector<std::string>& filters) = 0;
  // NotFound when absent.
  virtual Status Delete(const Digest& digest) = 0;
};

class IngestManager {
 public:
  virtual ~IngestManager() = default;
  // NotFound when there is no such ingest.
  virtual StatusOr<IngestStatus> GetStatus(const std::string& ref) = 0;
  // Ingests matching containerd filters on `ref` (an empty string matches all).
  virtual StatusOr<std::vector<IngestStatus>> ListStatuses(const std::vector<std::string>& filters) = 0;
  // Removes an ingest, as containerd even while a writer holds it (that writer's Commit then
  // fails; its ref stays held until it closes). NotFound when absent.
  virtual Status Abort(const std::string& ref) = 0;
};

class Store : public Provider, public Ingester, public Manager, public IngestManager {};

// Helpers shared by implementations.

// Field lookup for filters over an Info: digest, size, labels.<key>.
std::optional<std::string> InfoField(const Info& info, const std::vector<std::string>& path);
// Field lookup for filters over an IngestStatus: ref, expected, offset, total.
std::optional<std::string> StatusField(const IngestStatus& st, const std::vector<std::string>& path);
// Applies containerd's label update rules for `paths` onto `current`, from `requested`.
// InvalidArgument naming `what` for an unknown path or oversized labels.
StatusOr<Labels> ApplyLabelUpdate(const Labels& current, const Labels& requested,
                                  const std::vector<std::string>& paths, std::string_view what);

// The digest of empty input ("sha256:e3b0c442...").
const Digest& EmptyDigest();

}  // namespace berth::content
