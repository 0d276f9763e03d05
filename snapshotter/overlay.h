// OverlaySnapshotter: containerd's overlayfs snapshotter
// (<root> = /var/lib/berth/io.containerd.snapshotter.v1.overlayfs).
//
// Layout: snapshots/<id>/fs is a snapshot's own layer (the upperdir while active, a lowerdir once
// committed), snapshots/<id>/work the overlay workdir of an active snapshot. Mounts (as containerd):
//  - no parent: one bind mount of fs, options {rw|ro, rbind};
//  - a view of a single parent: a read-only bind of the parent's fs;
//  - active with parents: overlay with index=off (when the kernel knows the parameter),
//    workdir=, upperdir=, lowerdir=<parents' fs, nearest first, ':'-joined>;
//  - a view of several parents: overlay with only index=off and lowerdir=.
// The overlay mount accepts an extra "ro" (ctr appends it when it mounts a single overlay).
//
// Thread-safety: see LocalSnapshotter.
#pragma once

#include <memory>
#include <string>

#include "snapshotter/local.h"

namespace berth::snapshotter {

class OverlaySnapshotter final : public LocalSnapshotter {
 public:
  // Creates <root> if needed and opens its metadata. FailedPrecondition when the kernel has no
  // overlay filesystem (see OverlaySupported).
  static StatusOr<std::unique_ptr<OverlaySnapshotter>> Open(const std::string& root);

 protected:
  Status PrepareDirectory(const std::string& dir, Kind kind, const std::vector<int64_t>& parent_ids) override;
  std::vector<Mount> MountsFor(const Snapshot& s) const override;

 private:
  OverlaySnapshotter(std::string root, std::unique_ptr<metadata::Db> db, bool index_off)
      : LocalSnapshotter(std::move(root), std::move(db)), index_off_(index_off) {}
  bool index_off_;
};

// True when /proc/filesystems lists overlay.
bool OverlaySupported();

}  // namespace berth::snapshotter
