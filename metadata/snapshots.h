// SnapshotStore: the namespaced snapshotter berthd's services use, over one backend
// snapshotter (containerd's metadata/snapshot.go).
//
// Each (namespace, key) is recorded in the `snapshots` table of the metadata database and maps
// onto a backend key "<ns>/<nonce>/<key>", so the same key or committed name may exist in
// several namespaces and a snapshot of one namespace is invisible from another. Parents are
// stored by their namespaced name; labels live in the generic labels table (kind "snapshot",
// object "<snapshotter>/<key>"). Snapshots created inside a lease are recorded in
// lease_resources with type "snapshots/<snapshotter>" so garbage collection keeps them.
//
// Ordering against the backend: a create calls the backend first and records the row after
// (a crash in between leaves a backend snapshot no row refers to: RemoveOrphans() reclaims it);
// a remove deletes the row first and the backend snapshot after.
//
// Thread-safety: safe from any thread. A per-store mutex serializes mutations so the
// check-then-create against the backend is atomic; reads do not take it.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "metadata/db.h"
#include "snapshotter/snapshotter.h"

namespace berth::metadata {

class SnapshotStore {
 public:
  // `name` is the snapshotter's name as clients give it ("overlayfs", "native").
  SnapshotStore(Db& db, std::string name, snapshotter::Snapshotter& backend);

  const std::string& name() const { return name_; }
  snapshotter::Snapshotter& backend() { return backend_; }

  // Codes as snapshotter::Snapshotter, per namespace. Keys and names are any non-empty strings
  // (containerd does not restrict them); an empty key is InvalidArgument.
  StatusOr<snapshotter::Info> Stat(const std::string& ns, const std::string& key);
  StatusOr<snapshotter::Info> Update(const std::string& ns, const snapshotter::Info& info,
                                     const std::vector<std::string>& fieldpaths);
  StatusOr<snapshotter::Usage> GetUsage(const std::string& ns, const std::string& key);
  StatusOr<std::vector<snapshotter::Mount>> Mounts(const std::string& ns, const std::string& key);
  // `lease` may be "": the snapshot is then not recorded in any lease.
  StatusOr<std::vector<snapshotter::Mount>> Prepare(const std::string& ns, const std::string& lease,
                                                    const std::string& key, const std::string& parent,
                                                    const snapshotter::Labels& labels);
  StatusOr<std::vector<snapshotter::Mount>> View(const std::string& ns, const std::string& lease,
                                                 const std::string& key, const std::string& parent,
                                                 const snapshotter::Labels& labels);
  Status Commit(const std::string& ns, const std::string& lease, const std::string& name, const std::string& key,
                const snapshotter::Labels& labels);
  Status Remove(const std::string& ns, const std::string& key);
  // Every snapshot of `ns` (labels included), in key order.
  Status Walk(const std::string& ns, const std::function<Status(const snapshotter::Info&)>& fn);

  // Backend Cleanup after removing backend snapshots that no namespace refers to.
  Status Cleanup();
  // Removes backend snapshots with no metadata row (children first). Returns how many.
  StatusOr<int> RemoveOrphans();

 private:
  StatusOr<std::vector<snapshotter::Mount>> Create(snapshotter::Kind kind, const std::string& ns,
                                                   const std::string& lease, const std::string& key,
                                                   const std::string& parent, const snapshotter::Labels& labels);
  StatusOr<std::string> BackendKey(const std::string& ns, const std::string& key);

  Db& db_;
  std::string name_;
  snapshotter::Snapshotter& backend_;
  std::mutex mu_;
};

}  // namespace berth::metadata
