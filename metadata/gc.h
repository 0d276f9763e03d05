// Garbage collection with containerd's semantics (metadata/gc.go, gc/gc.go): a mark and sweep
// over the namespaced metadata, followed by removal of the backend objects (blobs on disk,
// snapshots in the snapshotter) nothing refers to any more.
//
// Roots, per namespace:
//  - images: the target blob, plus every reference in the image's labels;
//  - containers: the snapshot (snapshotter, snapshot_key), plus references in their labels;
//  - leases not expired (label containerd.io/gc.expire in the future or absent): every resource
//    recorded for the lease ("content", "snapshots/<snapshotter>", "ingests");
//  - blobs and snapshots labelled containerd.io/gc.root;
//  - ingests in progress (their expected blob is kept).
// References followed from a node:
//  - labels "containerd.io/gc.ref.content" and "containerd.io/gc.ref.content[./]<anything>" name
//    a blob (value = digest) of the same namespace;
//  - labels "containerd.io/gc.ref.snapshot.<snapshotter>[/<anything>]" name a snapshot
//    (value = key) of that snapshotter;
//  - a snapshot's parent.
// Leases labelled containerd.io/gc.flat keep their resources only, not what those reference
// (except a snapshot's parents).
// Sweep: unreachable blob rows (and their labels) and expired leases are deleted in the same
// transaction as the mark, so nothing created concurrently is lost; unreachable snapshots are
// then removed through Backends::remove_snapshot, children first; blobs no namespace refers to
// any more are removed through Backends::remove_blob, and Backends::content_deleted is told of
// each (namespace, digest) row removed (berthd publishes /content/delete).
//
// Label storage assumed (generic labels table): kind "image" object <name>, "container" <id>,
// "content" <digest>, "snapshot" "<snapshotter>/<key>", "lease" <id>.
//
// Scheduling: Schedule() asks for a collection soon (coalesced; several requests before the
// collector runs make one run); CollectNow() runs one synchronously (serialized with the
// background ones) and is what `sync` deletes use. The collector also runs periodically so
// that expired leases go away without any delete.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "common/status.h"
#include "metadata/db.h"

namespace berth::metadata {

inline constexpr char kLabelGcRoot[] = "containerd.io/gc.root";
inline constexpr char kLabelGcRefContent[] = "containerd.io/gc.ref.content";
inline constexpr char kLabelGcRefSnapshot[] = "containerd.io/gc.ref.snapshot.";
inline constexpr char kLabelGcFlat[] = "containerd.io/gc.flat";

// What a collection removed.
struct GcStats {
  std::vector<std::pair<std::string, std::string>> content_rows;  // (namespace, digest)
  std::vector<std::string> blobs;                                  // digests removed from disk
  // (namespace, snapshotter, key) removed (or whose removal was attempted and failed: see log)
  std::vector<std::tuple<std::string, std::string, std::string>> snapshots;
  std::vector<std::pair<std::string, std::string>> leases;  // (namespace, id) expired and deleted
};

// The set of live objects found by the mark phase, and what the sweep would remove.
struct GcPlan {
  std::set<std::pair<std::string, std::string>> dead_content;  // (ns, digest)
  std::set<std::tuple<std::string, std::string, std::string>> dead_snapshots;
  std::set<std::pair<std::string, std::string>> dead_leases;
  // Depth of each dead snapshot in its parent chain (for children-first removal).
  std::map<std::tuple<std::string, std::string, std::string>, int> snapshot_depth;
};

// Runs the mark phase inside transaction `tx` at time `now_ns`.
StatusOr<GcPlan> MarkUnreachable(Tx& tx, int64_t now_ns);

class GarbageCollector {
 public:
  struct Backends {
    // Removes blob `digest` from the content store's disk. NotFound is fine. May be empty.
    std::function<Status(const std::string& digest)> remove_blob;
    // Removes a snapshot record and its backend snapshot (SnapshotStore::Remove). May be empty.
    std::function<Status(const std::string& ns, const std::string& snapshotter, const std::string& key)>
        remove_snapshot;
    // Told of every blob row removed from a namespace. May be empty.
    std::function<void(const std::string& ns, const std::string& digest)> content_deleted;
  };

  // `period_ms` > 0: also collect every period (for lease expiry). Starts the collector thread.
  GarbageCollector(Db& db, Backends backends, int64_t period_ms = 10 * 60 * 1000);
  ~GarbageCollector();
  GarbageCollector(const GarbageCollector&) = delete;
  GarbageCollector& operator=(const GarbageCollector&) = delete;

  // Sets the backends after construction (the daemon builds stores after the collector).
  void SetBackends(Backends backends);

  // Requests an asynchronous collection (coalesced with pending requests).
  void Schedule();
  // Stops the background thread (waiting for a running collection); later Schedule() calls do
  // nothing, CollectNow() still works. Called before the stores the backends use go away.
  void Stop();
  // Runs a collection now and returns what it removed; waits for a running one first.
  StatusOr<GcStats> CollectNow();

 private:
  StatusOr<GcStats> CollectLocked();
  void Loop();

  Db& db_;
  std::mutex run_mu_;  // serializes collections
  std::mutex mu_;      // guards the fields below
  Backends backends_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
  int64_t period_ms_;
  std::thread thread_;
};

}  // namespace berth::metadata
