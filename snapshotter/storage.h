// Storage: the metadata a local snapshotter (overlay, native) keeps about its snapshots, in its
// own SQLite file (<root>/metadata.db), as containerd's snapshots/storage does in bolt.
//
// Every snapshot has a numeric id that never gets reused (AUTOINCREMENT); its directory on disk
// is snapshots/<id>. A row records the key (or committed name), the parent's id, the kind, times,
// labels, and for committed snapshots the disk usage measured at commit.
//
// All functions run inside a transaction of the Db they are given (metadata::Db, which
// serializes transactions); they do no file I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "metadata/db.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

// What a snapshotter needs to build the mounts of a snapshot.
struct Snapshot {
  int64_t id = 0;
  Kind kind = Kind::kUnknown;
  std::vector<int64_t> parent_ids;  // nearest parent first
};

namespace storage {

// Opens <path> and creates the snapshotter tables when missing.
StatusOr<std::unique_ptr<metadata::Db>> Open(const std::string& path);

// NotFound when `key` is unknown.
StatusOr<Info> GetInfo(metadata::Tx& tx, const std::string& key);
StatusOr<Snapshot> GetSnapshot(metadata::Tx& tx, const std::string& key);

// Records a new snapshot. AlreadyExists when `key` exists; NotFound when `parent` is missing;
// FailedPrecondition when `parent` is not committed. InvalidArgument for a view/active kind.
StatusOr<Snapshot> CreateSnapshot(metadata::Tx& tx, Kind kind, const std::string& key, const std::string& parent,
                                  const Labels& labels);

// Updates labels (see Snapshotter::Update for the field paths).
StatusOr<Info> UpdateInfo(metadata::Tx& tx, const Info& info, const std::vector<std::string>& fieldpaths);

// Turns active `key` into committed `name` keeping its id; records `usage`. Returns the id.
StatusOr<int64_t> CommitActive(metadata::Tx& tx, const std::string& key, const std::string& name, const Usage& usage,
                               const Labels& labels);

// Deletes the row of `key`; FailedPrecondition when it has children. Returns id and kind.
StatusOr<std::pair<int64_t, Kind>> Remove(metadata::Tx& tx, const std::string& key);

// The recorded usage of a committed snapshot (zeros for others).
StatusOr<Usage> GetUsage(metadata::Tx& tx, const std::string& key);

Status Walk(metadata::Tx& tx, const std::function<Status(const Info&)>& fn);

// Every id in use.
StatusOr<std::set<int64_t>> Ids(metadata::Tx& tx);

}  // namespace storage
}  // namespace berth::snapshotter
