// LocalStore keeps content on the local filesystem, in containerd's layout:
//
//   <root>/blobs/sha256/<hex>                       committed blobs, read-only (0444)
//   <root>/ingest/<sha256 hex of ref>/data          bytes written so far
//                                    /ref           the ref (checked on resume)
//                                    /total         expected size, when known
//                                    /startedat     nanoseconds since the epoch
//                                    /updatedat     idem, refreshed on Close
//
// An ingest directory is built under a temporary name and renamed into place, so it is either
// absent or complete. Its bookkeeping files are not fsynced (an ingest is resumable state, not
// data: after a power loss a torn one is removed at start-up); only the data is, at Commit. A blob appears under blobs/ only after its size and digest were verified
// and its data fsynced; the rename is followed by an fsync of blobs/sha256. Resuming an ingest
// re-hashes the bytes already in `data` (streaming, never the whole file in memory).
//
// LocalStore knows nothing of namespaces, labels or leases (metadata::ContentStore adds them):
// Update is Unimplemented and Info carries no labels.
//
// Thread-safety: all methods may be called concurrently. One writer per ref at a time is
// enforced with an in-process lock table (content/locks.h): OpenWriter on a held ref retries for
// up to about a second, then is Unavailable ("ref <ref> locked for <d> (since <t>): unavailable").
// A writer that ends without committing (Close, destruction, a failed Commit) releases the ref at
// once and leaves the ingest to be resumed. As in containerd, Abort does not wait for the lock:
// it removes the ingest even under an open writer, whose later Commit then fails.
#pragma once

#include <string>

#include "content/locks.h"
#include "content/store.h"

namespace berth::content {

class LocalStore final : public Store {
 public:
  // Creates <root>/blobs/sha256 and <root>/ingest when missing.
  static StatusOr<std::unique_ptr<LocalStore>> Open(const std::string& root);

  StatusOr<std::unique_ptr<ReaderAt>> OpenReader(const Digest& digest) override;
  StatusOr<std::unique_ptr<Writer>> OpenWriter(const WriterOptions& opts) override;
  StatusOr<Info> GetInfo(const Digest& digest) override;
  StatusOr<Info> Update(const Info& info, const std::vector<std::string>& paths) override;
  Status Walk(const WalkFn& fn, const std::vector<std::string>& filters) override;
  Status Delete(const Digest& digest) override;
  StatusOr<IngestStatus> GetStatus(const std::string& ref) override;
  StatusOr<std::vector<IngestStatus>> ListStatuses(const std::vector<std::string>& filters) override;
  Status Abort(const std::string& ref) override;

  // Removes ingests not updated since `cutoff` (ns since the epoch), ingests whose `data` or
  // `ref` file is missing or unreadable, and leftover temporary directories, skipping refs
  // held by a writer and refs for which `keep(ref)` is true. Returns how many were removed.
  // Failures to remove one ingest are logged and the sweep goes on.
  int RemoveStaleIngests(int64_t cutoff, const std::function<bool(const std::string&)>& keep = nullptr);

  // The refs of every ingest on disk.
  StatusOr<std::vector<std::string>> IngestRefs();

  const std::string& root() const { return root_; }
  std::string BlobPath(const Digest& digest) const;
  std::string IngestPath(const std::string& ref) const;

 private:
  friend class LocalWriter;
  explicit LocalStore(std::string root) : root_(std::move(root)) {}

  // Reads an ingest's status from disk (the offset is the size of `data`).
  StatusOr<IngestStatus> ReadIngest(const std::string& dir, const std::string& ref);

  std::string root_;
  RefLocks locks_;
};

}  // namespace berth::content
