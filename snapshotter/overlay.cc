#include "snapshotter/overlay.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"

namespace berth::snapshotter {

bool OverlaySupported() {
  auto fs = ReadFile("/proc/filesystems");
  if (!fs.ok()) return false;
  return fs->find("\toverlay\n") != std::string::npos;
}

StatusOr<std::unique_ptr<OverlaySnapshotter>> OverlaySnapshotter::Open(const std::string& root) {
  if (!OverlaySupported()) {
    return absl::FailedPreconditionError("overlayfs snapshotter: the kernel has no overlay filesystem");
  }
  ASSIGN_OR_RETURN(auto db, OpenRoot(root));
  struct stat sb;
  bool index_off = ::stat("/sys/module/overlay/parameters/index", &sb) == 0;
  return std::unique_ptr<OverlaySnapshotter>(new OverlaySnapshotter(root, std::move(db), index_off));
}

Status OverlaySnapshotter::PrepareDirectory(const std::string& dir, Kind kind, const std::vector<int64_t>& parent_ids) {
  if (kind == Kind::kActive && ::mkdir(JoinPath(dir, "work").c_str(), 0711) != 0) {
    return ErrnoStatus(errno, "create work directory");
  }
  if (!parent_ids.empty()) {
    // The upper dir's owner becomes the root's owner in the merged view: keep the parent's.
    struct stat sb;
    std::string parent = UpperPath(parent_ids.front());
    if (::stat(parent.c_str(), &sb) != 0) return ErrnoStatus(errno, StrCat("stat parent ", parent));
    if (::lchown(JoinPath(dir, "fs").c_str(), sb.st_uid, sb.st_gid) != 0) return ErrnoStatus(errno, "chown fs");
  }
  return Status();
}

std::vector<Mount> OverlaySnapshotter::MountsFor(const Snapshot& s) const {
  if (s.parent_ids.empty()) {
    return {Mount{"bind", UpperPath(s.id), "", {s.kind == Kind::kView ? "ro" : "rw", "rbind"}}};
  }
  std::vector<std::string> options;
  if (index_off_) options.push_back("index=off");
  if (s.kind == Kind::kActive) {
    options.push_back("workdir=" + WorkPath(s.id));
    options.push_back("upperdir=" + UpperPath(s.id));
  } else if (s.parent_ids.size() == 1) {
    return {Mount{"bind", UpperPath(s.parent_ids.front()), "", {"ro", "rbind"}}};
  }
  std::string lower = "lowerdir=";
  for (size_t i = 0; i < s.parent_ids.size(); ++i) {
    if (i) lower += ':';
    lower += UpperPath(s.parent_ids[i]);
  }
  options.push_back(std::move(lower));
  return {Mount{"overlay", "overlay", "", std::move(options)}};
}

}  // namespace berth::snapshotter
