// Mount is the lingua franca between snapshotters, the diff applier, the shim and clients: a
// plain description of one mount(2) call. Snapshotters only return Mounts, they never mount;
// whoever needs the filesystem (Diff/Apply, the shim, ctr itself) mounts them.
//
// MountAll / UnmountAll / TempMount are the only places in berthd that call mount(2) for
// snapshot mounts. Thread-safe (no shared state).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::snapshotter {

struct Mount {
  std::string type;                  // "overlay", "bind"
  std::string source;                // "overlay" or a directory
  std::string target;                // sub-path under the mount point; empty for the root (as containerd)
  std::vector<std::string> options;  // "ro", "rbind", "lowerdir=a:b", "upperdir=..."...

  bool operator==(const Mount&) const = default;
};

// Mounts `mounts` in order on `target` (a directory that exists). "bind"/"rbind" options become
// MS_BIND/MS_REC; "ro" on a bind is applied with a remount as mount(2) requires. On failure the
// mounts already made are unmounted again. Errors keep errno's code (EPERM -> PermissionDenied).
Status MountAll(const std::vector<Mount>& mounts, const std::string& target);

// Unmounts everything stacked on `target` (lazily detaching on EBUSY). OK when nothing is mounted.
Status UnmountAll(const std::string& target);

// The value of "<key>=" in a mount's options, or "" when absent (e.g. "upperdir").
std::string MountOption(const Mount& m, const std::string& key);
// True when `opt` is among the options.
bool HasOption(const Mount& m, const std::string& opt);

// A temporary mount point: creates a fresh directory under `parent_dir`, mounts `mounts` on it,
// and unmounts and removes the directory when destroyed. The directory is removed with rmdir
// (never recursively), so a failed unmount leaks a directory rather than deleting data below it.
class TempMount {
 public:
  static StatusOr<std::unique_ptr<TempMount>> Create(const std::vector<Mount>& mounts, const std::string& parent_dir);
  ~TempMount();
  TempMount(const TempMount&) = delete;
  TempMount& operator=(const TempMount&) = delete;

  const std::string& path() const { return path_; }

 private:
  explicit TempMount(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace berth::snapshotter
