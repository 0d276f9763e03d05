// ContentStore: namespaces, labels and leases over the shared LocalStore, as containerd's
// metadata.contentStore (in its default "shared" policy).
//
// Bytes live once on disk; visibility is per namespace (table `content`, labels of kind
// "content"). A blob becomes visible in a namespace when a write of it is committed there. A
// Writer opened with an expected digest that is already visible returns AlreadyExists; one whose
// blob is on disk but not visible in this namespace opens a "shared" ingest that reports all
// bytes held, and committing it records the blob in the namespace without copying a byte.
// Deleting a blob in one namespace leaves other namespaces alone; the bytes go only when no
// namespace references the blob and no ingest expects it (DeleteBlobIfUnreferenced, the seed of
// garbage collection).
//
// Ingests are namespaced too (table `ingests`): ref R in namespace N is the LocalStore ingest
// "N/R", so the same ref in two namespaces never collides. Work done under a lease records the
// ingest ("ingests", ref) and the committed blob ("content", digest) in lease_resources, so the
// garbage collector keeps them while the lease lives.
//
// Thread-safety: safe from any thread. Opening a writer and committing take a shared lock;
// removing bytes takes it exclusively, so a blob cannot vanish between "it exists" and "it is
// recorded". The lock is never held across a whole write stream.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>

#include "content/local_store.h"
#include "metadata/db.h"

namespace berth::metadata {

class ContentStore {
 public:
  ContentStore(Db& db, content::LocalStore& local) : db_(db), local_(local) {}

  // The store as seen from namespace `ns` (a valid identifier, checked by the caller), with
  // writes recorded in lease `lease` when it is not empty. Cheap; use one per request. Methods
  // of the view return NotFound for a lease that does not exist in `ns`.
  std::unique_ptr<content::Store> Namespaced(std::string ns, std::string lease = "");

  // Removes `digest`'s bytes when no namespace references the blob and no ingest expects it.
  // Returns whether bytes were removed (false too when they were already gone).
  StatusOr<bool> DeleteBlobIfUnreferenced(const Digest& digest);

  // Start-up sweep: removes ingests not updated for `max_age_ns` (unless held by a lease),
  // ingests whose files are gone or broken, on-disk ingests no namespace records, and ingest
  // records whose bytes are gone. Logs what it removes; returns the number of ingests removed.
  StatusOr<int> CleanupIngests(int64_t max_age_ns);

  content::LocalStore& local() { return local_; }
  Db& db() { return db_; }

 private:
  friend class NamespacedContent;
  friend class NamespacedWriter;

  Db& db_;
  content::LocalStore& local_;
  std::shared_mutex gc_mu_;
};

// The LocalStore ingest ref backing ref `ref` of namespace `ns`.
std::string BackendRef(std::string_view ns, std::string_view ref);

}  // namespace berth::metadata
