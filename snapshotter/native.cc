#include "snapshotter/native.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <utility>

#include "common/fs.h"
#include "common/unique_fd.h"

namespace berth::snapshotter {
namespace {

using InodeMap = std::map<std::pair<dev_t, ino_t>, std::string>;

Status CopyXattrs(const std::string& src, const std::string& dst) {
  ssize_t n = ::llistxattr(src.c_str(), nullptr, 0);
  if (n < 0) {
    if (errno == ENOTSUP) return Status();
    return ErrnoStatus(errno, StrCat("list xattrs of ", src));
  }
  if (n == 0) return Status();
  std::string names(static_cast<size_t>(n), '\0');
  n = ::llistxattr(src.c_str(), names.data(), names.size());
  if (n < 0) return ErrnoStatus(errno, StrCat("list xattrs of ", src));
  names.resize(static_cast<size_t>(n));
  for (size_t pos = 0; pos < names.size();) {
    std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    ssize_t vn = ::lgetxattr(src.c_str(), name.c_str(), nullptr, 0);
    if (vn < 0) continue;
    std::string value(static_cast<size_t>(vn), '\0');
    vn = ::lgetxattr(src.c_str(), name.c_str(), value.data(), value.size());
    if (vn < 0) continue;
    value.resize(static_cast<size_t>(vn));
    if (::lsetxattr(dst.c_str(), name.c_str(), value.data(), value.size(), 0) != 0 && errno != ENOTSUP) {
      return ErrnoStatus(errno, StrCat("set xattr ", name, " on ", dst));
    }
  }
  return Status();
}

Status CopyFileData(const std::string& src, const std::string& dst, mode_t mode) {
  UniqueFd in(::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) return ErrnoStatus(errno, StrCat("open ", src));
  UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777));
  if (!out) return ErrnoStatus(errno, StrCat("create ", dst));
  for (;;) {
    ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, 1 << 30, 0);
    if (n == 0) break;
    if (n > 0) continue;
    if (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL) {
      char buf[1 << 16];
      for (;;) {
        ssize_t r = ::read(in.get(), buf, sizeof buf);
        if (r < 0) return ErrnoStatus(errno, StrCat("read ", src));
        if (r == 0) return Status();
        for (ssize_t off = 0; off < r;) {
          ssize_t w = ::write(out.get(), buf + off, static_cast<size_t>(r - off));
          if (w < 0) return ErrnoStatus(errno, StrCat("write ", dst));
          off += w;
        }
      }
    }
    return ErrnoStatus(errno, StrCat("copy ", src));
  }
  return Status();
}

Status CopyEntry(const std::string& src, const std::string& dst, const struct stat& sb, dev_t root_dev,
                 InodeMap& inodes, int depth);

Status CopyDirContents(const std::string& src, const std::string& dst, dev_t root_dev, InodeMap& inodes, int depth) {
  if (depth > 4096) return absl::ResourceExhaustedError("directory tree too deep");
  DIR* d = ::opendir(src.c_str());
  if (d == nullptr) return ErrnoStatus(errno, StrCat("open ", src));
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  for (const auto& n : names) {
    std::string s = JoinPath(src, n), t = JoinPath(dst, n);
    struct stat sb;
    if (::lstat(s.c_str(), &sb) != 0) return ErrnoStatus(errno, StrCat("stat ", s));
    RETURN_IF_ERROR(CopyEntry(s, t, sb, root_dev, inodes, depth + 1));
  }
  return Status();
}

Status CopyMetadata(const std::string& src, const std::string& dst, const struct stat& sb) {
  if (::lchown(dst.c_str(), sb.st_uid, sb.st_gid) != 0) return ErrnoStatus(errno, StrCat("chown ", dst));
  if (!S_ISLNK(sb.st_mode) && ::chmod(dst.c_str(), sb.st_mode & 07777) != 0) {
    return ErrnoStatus(errno, StrCat("chmod ", dst));
  }
  RETURN_IF_ERROR(CopyXattrs(src, dst));
  struct timespec times[2] = {sb.st_atim, sb.st_mtim};
  if (::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, StrCat("set times of ", dst));
  }
  return Status();
}

Status CopyEntry(const std::string& src, const std::string& dst, const struct stat& sb, dev_t root_dev,
                 InodeMap& inodes, int depth) {
  if (!S_ISDIR(sb.st_mode) && sb.st_nlink > 1) {
    auto it = inodes.find({sb.st_dev, sb.st_ino});
    if (it != inodes.end()) {
      if (::link(it->second.c_str(), dst.c_str()) != 0) return ErrnoStatus(errno, StrCat("link ", dst));
      return Status();
    }
    inodes.emplace(std::make_pair(sb.st_dev, sb.st_ino), dst);
  }
  switch (sb.st_mode & S_IFMT) {
    case S_IFDIR:
      if (::mkdir(dst.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus(errno, StrCat("mkdir ", dst));
      if (sb.st_dev == root_dev) RETURN_IF_ERROR(CopyDirContents(src, dst, root_dev, inodes, depth));
      break;
    case S_IFREG:
      RETURN_IF_ERROR(CopyFileData(src, dst, sb.st_mode));
      break;
    case S_IFLNK: {
      std::string target(static_cast<size_t>(sb.st_size) + 1, '\0');
      ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoStatus(errno, StrCat("readlink ", src));
      target.resize(static_cast<size_t>(n));
      if (::symlink(target.c_str(), dst.c_str()) != 0) return ErrnoStatus(errno, StrCat("symlink ", dst));
      break;
    }
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
    case S_IFSOCK:
      if (::mknod(dst.c_str(), sb.st_mode, sb.st_rdev) != 0) return ErrnoStatus(errno, StrCat("mknod ", dst));
      break;
    default:
      return absl::InvalidArgumentError(StrCat("copy ", src, ": unsupported file type"));
  }
  return CopyMetadata(src, dst, sb);
}

}  // namespace

Status CopyTree(const std::string& src, const std::string& dst) {
  struct stat sb;
  if (::lstat(src.c_str(), &sb) != 0) return ErrnoStatus(errno, StrCat("stat ", src));
  InodeMap inodes;
  RETURN_IF_ERROR(CopyDirContents(src, dst, sb.st_dev, inodes, 0));
  return CopyMetadata(src, dst, sb);
}

StatusOr<std::unique_ptr<NativeSnapshotter>> NativeSnapshotter::Open(const std::string& root) {
  ASSIGN_OR_RETURN(auto db, OpenRoot(root));
  return std::unique_ptr<NativeSnapshotter>(new NativeSnapshotter(root, std::move(db)));
}

Status NativeSnapshotter::PrepareDirectory(const std::string& dir, Kind, const std::vector<int64_t>& parent_ids) {
  if (parent_ids.empty()) return Status();
  return CopyTree(UpperPath(parent_ids.front()), JoinPath(dir, "fs"));
}

std::vector<Mount> NativeSnapshotter::MountsFor(const Snapshot& s) const {
  return {Mount{"bind", UpperPath(s.id), "", {s.kind == Kind::kView ? "ro" : "rw", "rbind"}}};
}

}  // namespace berth::snapshotter
