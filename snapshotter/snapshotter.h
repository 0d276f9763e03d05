// Snapshotter: containerd's snapshot model (core/snapshots/snapshotter.go).
//
// A snapshot is a filesystem state identified by a key. Prepare(key, parent) creates an *active*
// snapshot whose mounts are writable and start out with the contents of `parent` (a committed
// snapshot, or nothing). Commit(name, key) turns an active snapshot into a *committed* one named
// `name`, which can then be a parent; the active key disappears. View(key, parent) creates a
// read-only *view* of a parent. Keys and committed names share one name space per snapshotter:
// creating any of them twice is AlreadyExists. A snapshot with children cannot be removed
// (FailedPrecondition). Mounts are returned as data (snapshotter/mount.h); a snapshotter never
// mounts anything itself.
//
// This interface is the *backend* (one per filesystem driver, not namespaced). The namespaced
// view that berthd's services use lives in metadata/snapshots.h and maps each (namespace, key)
// onto a backend key "<ns>/<nonce>/<key>".
//
// Thread-safety: implementations are safe to call from any thread; each call is atomic with
// respect to the snapshotter's own metadata (one SQLite transaction).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "snapshotter/mount.h"

namespace berth::snapshotter {

using Labels = std::map<std::string, std::string>;

// Values are the wire values of containerd.services.snapshots.v1.Kind.
enum class Kind : int { kUnknown = 0, kView = 1, kActive = 2, kCommitted = 3 };

// "View", "Active", "Committed" (as ctr prints them), "Unknown".
const char* KindName(Kind k);

struct Info {
  std::string name;    // the key, or the committed name
  std::string parent;  // committed parent name, "" for none
  Kind kind = Kind::kUnknown;
  Labels labels;
  int64_t created_at = 0;  // ns since the epoch
  int64_t updated_at = 0;
};

struct Usage {
  int64_t size = 0;    // bytes used by the snapshot's own layer (du of its upper dir)
  int64_t inodes = 0;  // inodes in it
};

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;

  // NotFound when `key` is no snapshot.
  virtual StatusOr<Info> Stat(const std::string& key) = 0;

  // Updates the mutable fields of `info.name` (only labels are mutable). `fieldpaths` empty:
  // replace all labels; "labels": same; "labels.<k>": set <k> from info.labels or delete it
  // when absent there. NotFound for a missing snapshot, InvalidArgument for another path.
  virtual StatusOr<Info> Update(const Info& info, const std::vector<std::string>& fieldpaths) = 0;

  // Disk usage of the snapshot's own layer (not its parents). NotFound when missing.
  virtual StatusOr<snapshotter::Usage> GetUsage(const std::string& key) = 0;

  // The mounts of an active snapshot or view. NotFound when missing; FailedPrecondition for a
  // committed snapshot.
  virtual StatusOr<std::vector<Mount>> Mounts(const std::string& key) = 0;

  // Creates an active snapshot. AlreadyExists if `key` exists; NotFound if `parent` is not a
  // committed snapshot (FailedPrecondition if it exists but is not committed).
  virtual StatusOr<std::vector<Mount>> Prepare(const std::string& key, const std::string& parent,
                                               const Labels& labels) = 0;

  // Creates a read-only view of `parent` (or of an empty directory). Codes as Prepare.
  virtual StatusOr<std::vector<Mount>> View(const std::string& key, const std::string& parent,
                                            const Labels& labels) = 0;

  // Commits active snapshot `key` as `name` (key disappears; labels given replace the key's).
  // NotFound when `key` is missing; FailedPrecondition when it is not active; AlreadyExists
  // when `name` exists.
  virtual Status Commit(const std::string& name, const std::string& key, const Labels& labels) = 0;

  // Removes a snapshot of any kind. NotFound when missing; FailedPrecondition when it has children.
  virtual Status Remove(const std::string& key) = 0;

  // Calls `fn` for every snapshot (in no particular order); stops at and returns fn's first error.
  virtual Status Walk(const std::function<Status(const Info&)>& fn) = 0;

  // Removes on-disk directories that no metadata refers to (left behind by a crash or by a
  // removal whose directory could not be deleted).
  virtual Status Cleanup() = 0;
};

}  // namespace berth::snapshotter
