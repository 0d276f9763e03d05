#include "common/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "common/unique_fd.h"

namespace berth {
namespace {

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write " + what);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status();
}

Status RemoveAllAt(int parent, const std::string& name, dev_t dev, const std::string& display) {
  struct stat st;
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Status();
    return ErrnoStatus(errno, "stat " + display);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(parent, name.c_str(), 0) != 0 && errno != ENOENT)
      return ErrnoStatus(errno, "unlink " + display);
    return Status();
  }
  if (st.st_dev != dev) {
    return absl::FailedPreconditionError(
        StrCat("remove ", display, ": another filesystem is mounted there"));
  }
  UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open " + display);
  DIR* dir = ::fdopendir(::dup(fd.get()));
  if (dir == nullptr) return ErrnoStatus(errno, "opendir " + display);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(dir)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(dir);
  for (const auto& n : names) {
    // Make sure we can descend into directories whose mode forbids it.
    RETURN_IF_ERROR(RemoveAllAt(fd.get(), n, dev, display + "/" + n));
  }
  if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return ErrnoStatus(errno, "rmdir " + display);
  return Status();
}

}  // namespace

std::string DirName(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

std::string JoinPath(std::string_view a, std::string_view b) {
  std::string out(a);
  while (!out.empty() && out.back() == '/') out.pop_back();
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  out += '/';
  out += b;
  return out;
}

Status FsyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open dir " + dir);
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync dir " + dir);
  return Status();
}

Status WriteFileInPlace(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open " + path);
  if (::write(fd.get(), data.data(), data.size()) < 0) return ErrnoStatus(errno, "write " + path);
  return absl::OkStatus();
}

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmpl = path + ".tmp-XXXXXX";
  UniqueFd fd(::mkostemp(tmpl.data(), O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "create temp file for " + path);
  bool renamed = false;
  auto cleanup = [&] {
    if (!renamed) ::unlink(tmpl.c_str());
  };
  Status s = WriteAll(fd.get(), data, tmpl);
  if (s.ok() && ::fchmod(fd.get(), mode) != 0) s = ErrnoStatus(errno, "chmod " + tmpl);
  if (s.ok() && ::fsync(fd.get()) != 0) s = ErrnoStatus(errno, "fsync " + tmpl);
  if (s.ok() && ::rename(tmpl.c_str(), path.c_str()) != 0) s = ErrnoStatus(errno, "rename to " + path);
  if (s.ok()) renamed = true;
  cleanup();
  if (!s.ok()) return s;
  return FsyncDir(DirName(path));
}

StatusOr<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open " + path);
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status MkdirAll(const std::string& path, mode_t mode) {
  if (path.empty()) return absl::InvalidArgumentError("mkdir: empty path");
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return ErrnoStatus(errno, "mkdir " + cur);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "stat " + path);
  if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError("mkdir " + path + ": not a directory");
  return Status();
}

Status RemoveAll(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status();
    return ErrnoStatus(errno, "stat " + path);
  }
  std::string parent = DirName(path);
  std::string base = path.substr(path.find_last_of('/') + 1);
  UniqueFd pfd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!pfd) return ErrnoStatus(errno, "open " + parent);
  return RemoveAllAt(pfd.get(), base, st.st_dev, path);
}

}  // namespace berth
