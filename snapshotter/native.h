// NativeSnapshotter: containerd's "native" snapshotter, the fallback where overlayfs is missing
// (<root> = /var/lib/berth/io.containerd.snapshotter.v1.native). Every snapshot is a full copy:
// Prepare/View copy the parent's tree (owners, modes, xattrs, times, hard links, symlinks and
// device nodes preserved) into snapshots/<id>/fs, and the mount is always a bind of that
// directory ({rw|ro, rbind}). Slower and bigger than overlay, but works on any filesystem.
//
// Thread-safety: see LocalSnapshotter.
#pragma once

#include <memory>
#include <string>

#include "snapshotter/local.h"

namespace berth::snapshotter {

class NativeSnapshotter final : public LocalSnapshotter {
 public:
  static StatusOr<std::unique_ptr<NativeSnapshotter>> Open(const std::string& root);

 protected:
  Status PrepareDirectory(const std::string& dir, Kind kind, const std::vector<int64_t>& parent_ids) override;
  std::vector<Mount> MountsFor(const Snapshot& s) const override;

 private:
  using LocalSnapshotter::LocalSnapshotter;
};

// Copies the tree under `src` into the existing directory `dst` preserving metadata. Does not
// follow symlinks or cross mounts.
Status CopyTree(const std::string& src, const std::string& dst);

}  // namespace berth::snapshotter
