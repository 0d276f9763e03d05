// Builds the snapshotter backends, their namespaced stores and the diff applier's blob source
// into the Daemon (called from BuildDaemon).
#include <dirent.h>
#include <unistd.h>

#include <cstring>

#include "common/fs.h"
#include "common/log.h"
#include "daemon/daemon.h"
#include "snapshotter/native.h"
#include "snapshotter/overlay.h"

namespace berth::daemon {
namespace {

// Sequential reads over a content ReaderAt.
class ContentReader final : public diff::Reader {
 public:
  explicit ContentReader(std::unique_ptr<content::ReaderAt> ra) : ra_(std::move(ra)) {}
  StatusOr<size_t> Read(void* buf, size_t n) override {
    ASSIGN_OR_RETURN(size_t k, ra_->ReadAt(buf, n, offset_));
    offset_ += static_cast<int64_t>(k);
    return k;
  }

 private:
  std::unique_ptr<content::ReaderAt> ra_;
  int64_t offset_ = 0;
};

}  // namespace

Status BuildSnapshotters(Daemon& d) {
  const std::string& root = d.config.root;
  if (snapshotter::OverlaySupported()) {
    ASSIGN_OR_RETURN(auto ovl,
                     snapshotter::OverlaySnapshotter::Open(JoinPath(root, "io.containerd.snapshotter.v1.overlayfs")));
    d.snapshotter_backends["overlayfs"] = std::move(ovl);
  } else {
    BLOG(Warn) << "overlayfs is not available: only the native snapshotter is loaded";
  }
  ASSIGN_OR_RETURN(auto native,
                   snapshotter::NativeSnapshotter::Open(JoinPath(root, "io.containerd.snapshotter.v1.native")));
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
  // Mount points a crashed Diff/Apply left behind: unmount and remove (never recursively).
  if (DIR* dir = opendir(d.diff_temp_dir.c_str())) {
    std::vector<std::string> stale;
    while (struct dirent* e = readdir(dir)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") stale.push_back(JoinPath(d.diff_temp_dir, n));
    }
    closedir(dir);
    for (const auto& p : stale) {
      Status s = snapshotter::UnmountAll(p);
      if (!s.ok() || ::rmdir(p.c_str()) != 0) {
        BLOG(Warn) << "stale diff mount point " << p << " left in place: " << (s.ok() ? strerror(errno) : s.message());
      }
    }
  }
  if (!d.open_blob && d.content) {
    // Layer blobs come from the namespaced content store: a blob another namespace holds is
    // NotFound here, as in containerd.
    metadata::ContentStore* cs = d.content.get();
    d.open_blob = [cs](const std::string& ns, const Digest& dg) -> StatusOr<std::unique_ptr<diff::Reader>> {
      ASSIGN_OR_RETURN(auto ra, cs->Namespaced(ns)->OpenReader(dg));
      return std::unique_ptr<diff::Reader>(new ContentReader(std::move(ra)));
    };
  }
  return Status();
}

}  // namespace berth::daemon
