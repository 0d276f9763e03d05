// Builds the snapshotter backends, their namespaced stores and the diff applier's blob source
// into the Daemon (called from BuildDaemon).
#include <fcntl.h>

#include "common/fs.h"
#include "common/log.h"
#include "daemon/daemon.h"
#include "snapshotter/native.h"
#include "snapshotter/overlay.h"

namespace berth::daemon {

Status BuildSnapshotters(Daemon& d) {
  const std::string& root = d.config.root;
  if (snapshotter::OverlaySupported()) {
    ASSIGN_OR_RETURN(auto ovl, snapshotter::OverlaySnapshotter::Open(JoinPath(root, "io.containerd.snapshotter.v1.overlayfs")));
    d.snapshotter_backends["overlayfs"] = std::move(ovl);
  } else {
    BLOG(Warn) << "overlayfs is not available: only the native snapshotter is loaded";
  }
  ASSIGN_OR_RETURN(auto native, snapshotter::NativeSnapshotter::Open(JoinPath(root, "io.containerd.snapshotter.v1.native")));
  d.snapshotter_backends["native"] = std::move(native);
  for (auto& [name, backend] : d.snapshotter_backends) {
    auto store = std::make_unique<metadata::SnapshotStore>(*d.db, name, *backend);
    // After a crash: drop backend snapshots no metadata refers to and half-built directories.
    Status s = store->Cleanup();
    if (!s.ok()) {
      BLOG(Warn) << "snapshotter " << name << ": cleanup at start: " << s.message();
    }
    d.snapshotters[name] = std::move(store);
    d.plugins.push_back({"io.containerd.snapshotter.v1", name, {}});
  }
  d.plugins.push_back({"io.containerd.grpc.v1", "snapshots", {"io.containerd.snapshotter.v1"}});
  d.plugins.push_back({"io.containerd.differ.v1", "walking", {"io.containerd.content.v1"}});
  d.plugins.push_back({"io.containerd.grpc.v1", "diff", {"io.containerd.differ.v1"}});

  d.diff_temp_dir = JoinPath(d.config.state, "tmpmounts");
  RETURN_IF_ERROR(MkdirAll(d.diff_temp_dir, 0700));
  if (!d.open_blob) {
    // Until the content store is wired in: read blobs straight from its on-disk layout.
    std::string blobs = JoinPath(root, "io.containerd.content.v1.content/blobs/sha256");
    d.open_blob = [blobs](const std::string&, const Digest& dg) -> StatusOr<std::unique_ptr<diff::Reader>> {
      std::string path = JoinPath(blobs, dg.hex());
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        if (errno == ENOENT) return absl::NotFoundError(StrCat("content digest ", dg.str(), ": not found"));
        return ErrnoStatus(errno, StrCat("open blob ", dg.str()));
      }
      return diff::FdReader(fd);
    };
  }
  return Status();
}

}  // namespace berth::daemon
