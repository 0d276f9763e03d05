// LocalSnapshotter: what the overlay and native snapshotters share. Snapshots live under
// <root>/snapshots/<id>/fs (plus work/ for overlay), their metadata in <root>/metadata.db
// (snapshotter/storage.h). Subclasses only say how a new snapshot directory is filled and
// which mounts describe a snapshot.
//
// Creation follows containerd's overlay.go: the directory is built as snapshots/new-XXXXXX,
// the row is inserted, the directory renamed to snapshots/<id> and only then the transaction
// committed; on any error the temporary directory is removed. Removal renames snapshots/<id> to
// snapshots/rm-<id> inside the transaction and deletes it after the commit; Cleanup removes
// every directory no row refers to.
//
// Thread-safety: all methods are safe from any thread. Creations and removals share a
// reader lock that Cleanup takes exclusively, so Cleanup never sees an in-progress new-XXXXXX.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>

#include "metadata/db.h"
#include "snapshotter/snapshotter.h"
#include "snapshotter/storage.h"

namespace berth::snapshotter {

class LocalSnapshotter : public Snapshotter {
 public:
  ~LocalSnapshotter() override;

  StatusOr<Info> Stat(const std::string& key) override;
  StatusOr<Info> Update(const Info& info, const std::vector<std::string>& fieldpaths) override;
  StatusOr<snapshotter::Usage> GetUsage(const std::string& key) override;
  StatusOr<std::vector<Mount>> Mounts(const std::string& key) override;
  StatusOr<std::vector<Mount>> Prepare(const std::string& key, const std::string& parent,
                                       const Labels& labels) override;
  StatusOr<std::vector<Mount>> View(const std::string& key, const std::string& parent, const Labels& labels) override;
  Status Commit(const std::string& name, const std::string& key, const Labels& labels) override;
  Status Remove(const std::string& key) override;
  Status Walk(const std::function<Status(const Info&)>& fn) override;
  Status Cleanup() override;

  const std::string& root() const { return root_; }
  // <root>/snapshots/<id>/fs
  std::string UpperPath(int64_t id) const;
  std::string WorkPath(int64_t id) const;

 protected:
  LocalSnapshotter(std::string root, std::unique_ptr<metadata::Db> db) : root_(std::move(root)), db_(std::move(db)) {}
  // Creates <root>/snapshots and opens <root>/metadata.db.
  static StatusOr<std::unique_ptr<metadata::Db>> OpenRoot(const std::string& root);

  // Fills the freshly made temporary directory `dir` (fs/ already exists) for a snapshot of
  // `kind` whose parents are `parent_ids` (nearest first).
  virtual Status PrepareDirectory(const std::string& dir, Kind kind, const std::vector<int64_t>& parent_ids) = 0;
  virtual std::vector<Mount> MountsFor(const Snapshot& s) const = 0;

 private:
  StatusOr<std::vector<Mount>> Create(Kind kind, const std::string& key, const std::string& parent,
                                      const Labels& labels);

  std::string root_;
  std::unique_ptr<metadata::Db> db_;
  std::shared_mutex cleanup_mu_;
};

// Disk usage of a directory tree as containerd computes it: 512-byte blocks actually allocated,
// each inode counted once (hard links), the directory itself included. Does not cross mounts.
StatusOr<Usage> DiskUsage(const std::string& dir);

}  // namespace berth::snapshotter
