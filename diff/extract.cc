#include "diff/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <memory>
#include <unordered_set>

#include "common/log.h"
#include "common/unique_fd.h"

namespace berth::diff {
namespace {

constexpr char kWhiteoutPrefix[] = ".wh.";
constexpr char kWhiteoutMeta[] = ".wh..wh.";
constexpr char kOpaqueMarker[] = ".wh..wh..opq";

int OpenInRoot(int rootfd, const std::string& rel, uint64_t flags) {
  struct open_how how {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(syscall(SYS_openat2, rootfd, rel.empty() ? "." : rel.c_str(), &how, sizeof how));
}

std::string Join(const std::vector<std::string>& comps, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out += '/';
    out += comps[i];
  }
  return out;
}

// Splits an entry name into clean components: "" and "." dropped, ".." pops. A name that climbs
// above the root is refused; a leading "/" is relative to the root.
StatusOr<std::vector<std::string>> CleanPath(const std::string& name) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= name.size()) {
    size_t j = name.find('/', i);
    if (j == std::string::npos) j = name.size();
    std::string c = name.substr(i, j - i);
    i = j + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (out.empty()) {
        return absl::InvalidArgumentError(StrCat("layer entry \"", name, "\": path escapes the root"));
      }
      out.pop_back();
      continue;
    }
    out.push_back(std::move(c));
  }
  return out;
}

// rm -rf of `name` inside `dirfd`, never following symlinks. Missing is OK.
Status RemoveAt(int dirfd, const std::string& name, int depth = 0) {
  if (depth > 4096) return absl::ResourceExhaustedError("directory tree too deep");
  struct stat sb;
  if (fstatat(dirfd, name.c_str(), &sb, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Status();
    return ErrnoStatus(errno, StrCat("stat ", name));
  }
  if (!S_ISDIR(sb.st_mode)) {
    if (unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) return ErrnoStatus(errno, StrCat("remove ", name));
    return Status();
  }
  int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, StrCat("open ", name));
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return ErrnoStatus(errno, "fdopendir");
  }
  std::vector<std::string> kids;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") kids.push_back(std::move(n));
  }
  Status s;
  for (const auto& k : kids) {
    s = RemoveAt(::dirfd(d), k, depth + 1);
    if (!s.ok()) break;
  }
  closedir(d);
  RETURN_IF_ERROR(s);
  if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, StrCat("remove directory ", name));
  }
  return Status();
}

struct DirTimes {
  std::string path;
  struct timespec times[2];
};

class Extractor {
 public:
  Extractor(int rootfd, const ExtractTarget& t, std::vector<UniqueFd> lowers)
      : rootfd_(rootfd), target_(t), lowers_(std::move(lowers)) {}

  Status Entry(struct archive* a, struct archive_entry* e);
  void Finish();

 private:
  // An fd for the directory `comps[0..n)`, creating missing ones. Valid until the next call.
  StatusOr<int> ParentFd(const std::vector<std::string>& comps, size_t n);
  StatusOr<int> EnsureDir(const std::vector<std::string>& comps, size_t n, int depth);
  void CopyLowerDirInfo(const std::string& rel, int newfd);
  Status Whiteout(int pfd, const std::vector<std::string>& comps, struct archive_entry* e);
  Status WriteData(struct archive* a, int fd, const std::string& name);
  Status SetXattrs(struct archive_entry* e, int fd, int pfd, const std::string& base);
  void Invalidate() {
    cache_path_.clear();
    cache_fd_.Reset();
    cache_valid_ = false;
  }

  int rootfd_;
  const ExtractTarget& target_;
  std::vector<UniqueFd> lowers_;
  std::string cache_path_;
  UniqueFd cache_fd_;
  bool cache_valid_ = false;
  std::unordered_set<std::string> unpacked_;
  std::vector<DirTimes> dirs_;
};

void Extractor::CopyLowerDirInfo(const std::string& rel, int newfd) {
  for (const auto& lower : lowers_) {
    int fd = OpenInRoot(lower.get(), rel, O_PATH | O_NOFOLLOW);
    if (fd < 0) continue;
    UniqueFd owned(fd);
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISDIR(sb.st_mode)) return;  // replaced: keep the defaults
    if (fchown(newfd, sb.st_uid, sb.st_gid) != 0 || fchmod(newfd, sb.st_mode & 07777) != 0) {
      BLOG(Warn) << "copying attributes of lower directory " << rel << ": " << strerror(errno);
    }
    return;
  }
}

StatusOr<int> Extractor::EnsureDir(const std::vector<std::string>& comps, size_t n, int depth) {
  std::string rel = Join(comps, n);
  int fd = OpenInRoot(rootfd_, rel, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) return fd;
  if (errno != ENOENT || n == 0) return ErrnoStatus(errno, StrCat("open directory \"", rel, "\" in layer root"));
  ASSIGN_OR_RETURN(int pfd, EnsureDir(comps, n - 1, depth + 1));
  UniqueFd parent(pfd);
  if (mkdirat(parent.get(), comps[n - 1].c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, StrCat("create parent directory \"", rel, "\""));
  }
  fd = OpenInRoot(rootfd_, rel, O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    int err = errno;
    struct stat sb;
    if (fstatat(parent.get(), comps[n - 1].c_str(), &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode)) {
      // e.g. "esc -> /outside" then "esc/x": the link is resolved inside the root, where its target is missing.
      return ErrnoStatus(err, StrCat("parent directory \"", rel, "\" is a symlink whose target is not a directory "
                                     "inside the layer root"));
    }
    return ErrnoStatus(err, StrCat("open created directory \"", rel, "\""));
  }
  if (!lowers_.empty()) CopyLowerDirInfo(rel, fd);
  return fd;
}

StatusOr<int> Extractor::ParentFd(const std::vector<std::string>& comps, size_t n) {
  if (n == 0) return rootfd_;
  std::string rel = Join(comps, n);
  if (cache_valid_ && cache_path_ == rel) return cache_fd_.get();
  Invalidate();
  ASSIGN_OR_RETURN(int fd, EnsureDir(comps, n, 0));
  cache_fd_.Reset(fd);
  cache_path_ = rel;
  cache_valid_ = true;
  return fd;
}

Status Extractor::Whiteout(int pfd, const std::vector<std::string>& comps, struct archive_entry* e) {
  const std::string& base = comps.back();
  std::string parent_rel = Join(comps, comps.size() - 1);
  if (base == kOpaqueMarker) {
    if (target_.mode == WhiteoutMode::kOverlay) {
      if (fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) != 0) {
        return ErrnoStatus(errno, StrCat("mark \"", parent_rel, "\" opaque"));
      }
      return Status();
    }
    // Delete mode: drop everything in the directory that this layer did not itself unpack.
    int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, "open opaque directory");
    DIR* d = fdopendir(fd);
    if (d == nullptr) {
      ::close(fd);
      return ErrnoStatus(errno, "fdopendir");
    }
    std::vector<std::string> kids;
    while (struct dirent* de = readdir(d)) {
      std::string k = de->d_name;
      if (k == "." || k == "..") continue;
      std::string rel = parent_rel.empty() ? k : parent_rel + "/" + k;
      if (!unpacked_.count(rel)) kids.push_back(k);
    }
    closedir(d);
    for (const auto& k : kids) RETURN_IF_ERROR(RemoveAt(pfd, k));
    return Status();
  }
  if (base.rfind(kWhiteoutMeta, 0) == 0) return Status();  // other aufs metadata: ignored
  std::string orig = base.substr(strlen(kWhiteoutPrefix));
  if (orig.empty() || orig == "." || orig == "..") {
    return absl::InvalidArgumentError(StrCat("layer entry \"", base, "\": invalid whiteout"));
  }
  RETURN_IF_ERROR(RemoveAt(pfd, orig));
  if (target_.mode == WhiteoutMode::kOverlay) {
    if (mknodat(pfd, orig.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
      return ErrnoStatus(errno, StrCat("create whiteout for \"", orig, "\""));
    }
    if (fchownat(pfd, orig.c_str(), archive_entry_uid(e), archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(errno, StrCat("chown whiteout \"", orig, "\""));
    }
  }
  return Status();
}

Status Extractor::WriteData(struct archive* a, int fd, const std::string& name) {
  const void* buf;
  size_t size;
  la_int64_t offset;
  for (;;) {
    int r = archive_read_data_block(a, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) return Status();
    if (r < ARCHIVE_WARN) {
      return absl::DataLossError(StrCat("read data of \"", name, "\": ", archive_error_string(a)));
    }
    const char* p = static_cast<const char*>(buf);
    while (size > 0) {
      ssize_t w = pwrite(fd, p, size, offset);
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, StrCat("write \"", name, "\""));
      }
      p += w;
      size -= static_cast<size_t>(w);
      offset += w;
    }
  }
}

Status Extractor::SetXattrs(struct archive_entry* e, int fd, int pfd, const std::string& base) {
  if (archive_entry_xattr_reset(e) == 0) return Status();
  const char* name;
  const void* value;
  size_t size;
  std::string proc_path = StrCat("/proc/self/fd/", pfd, "/", base);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    std::string n = name;
    // Overlay's own attributes are ours to write (whiteouts, opaque dirs), never the layer's.
    if (n.rfind("trusted.overlay.", 0) == 0) continue;
    int rc = fd >= 0 ? fsetxattr(fd, name, value, size, 0) : lsetxattr(proc_path.c_str(), name, value, size, 0);
    if (rc != 0) {
      if (errno == ENOTSUP || errno == EOPNOTSUPP) {
        BLOG(Warn) << "ignoring xattr " << n << " on " << base << ": not supported";
        continue;
      }
      return ErrnoStatus(errno, StrCat("set xattr ", n, " on \"", base, "\""));
    }
  }
  return Status();
}

Status Extractor::Entry(struct archive* a, struct archive_entry* e) {
  const char* raw = archive_entry_pathname(e);
  if (raw == nullptr) return absl::InvalidArgumentError("layer entry without a name");
  std::string name = raw;
  ASSIGN_OR_RETURN(std::vector<std::string> comps, CleanPath(name));
  if (comps.empty()) return Status();  // the root itself: left alone, as containerd does
  const std::string base = comps.back();
  std::string rel = Join(comps, comps.size());
  ASSIGN_OR_RETURN(int pfd, ParentFd(comps, comps.size() - 1));

  if (base.rfind(kWhiteoutPrefix, 0) == 0) {
    Status s = Whiteout(pfd, comps, e);
    Invalidate();
    return Annotate(s, StrCat("layer entry \"", name, "\""));
  }

  mode_t type = archive_entry_filetype(e);
  const char* hardlink = archive_entry_hardlink(e);
  struct stat sb;
  if (fstatat(pfd, base.c_str(), &sb, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!(S_ISDIR(sb.st_mode) && type == AE_IFDIR && hardlink == nullptr)) {
      RETURN_IF_ERROR(RemoveAt(pfd, base));
      if (S_ISDIR(sb.st_mode)) {
        Invalidate();
        ASSIGN_OR_RETURN(pfd, ParentFd(comps, comps.size() - 1));
      }
    }
  }

  uid_t uid = static_cast<uid_t>(archive_entry_uid(e));
  gid_t gid = static_cast<gid_t>(archive_entry_gid(e));
  mode_t perm = archive_entry_perm(e);
  struct timespec times[2];
  times[1].tv_sec = archive_entry_mtime(e);
  times[1].tv_nsec = archive_entry_mtime_nsec(e);
  if (archive_entry_atime_is_set(e)) {
    times[0].tv_sec = archive_entry_atime(e);
    times[0].tv_nsec = archive_entry_atime_nsec(e);
  } else {
    times[0] = times[1];
  }
  const std::string what = StrCat("layer entry \"", name, "\"");

  if (hardlink != nullptr) {
    auto tcomps = CleanPath(hardlink);
    if (!tcomps.ok()) return Annotate(tcomps.status(), what);
    if (tcomps->empty()) return absl::InvalidArgumentError(StrCat(what, ": hard link to the root"));
    std::string trel = Join(*tcomps, tcomps->size() - 1);
    UniqueFd tdir(OpenInRoot(rootfd_, trel, O_PATH | O_DIRECTORY));
    if (!tdir) return ErrnoStatus(errno, StrCat(what, ": hard link target \"", hardlink, "\""));
    struct stat tsb;
    if (fstatat(tdir.get(), tcomps->back().c_str(), &tsb, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(errno, StrCat(what, ": hard link target \"", hardlink, "\""));
    }
    if (S_ISDIR(tsb.st_mode)) return absl::InvalidArgumentError(StrCat(what, ": hard link to a directory"));
    if (linkat(tdir.get(), tcomps->back().c_str(), pfd, base.c_str(), 0) != 0) {
      return ErrnoStatus(errno, StrCat(what, ": link to \"", hardlink, "\""));
    }
    unpacked_.insert(rel);
    return Status();
  }

  switch (type) {
    case AE_IFDIR: {
      if (mkdirat(pfd, base.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus(errno, StrCat("mkdir ", what));
      UniqueFd fd(openat(pfd, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) return ErrnoStatus(errno, StrCat("open ", what));
      if (fchown(fd.get(), uid, gid) != 0) return ErrnoStatus(errno, StrCat("chown ", what));
      if (fchmod(fd.get(), perm) != 0) return ErrnoStatus(errno, StrCat("chmod ", what));
      RETURN_IF_ERROR(SetXattrs(e, fd.get(), pfd, base));
      dirs_.push_back(DirTimes{rel, {times[0], times[1]}});
      break;
    }
    case AE_IFREG: {
      UniqueFd fd(openat(pfd, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!fd) return ErrnoStatus(errno, StrCat("create ", what));
      RETURN_IF_ERROR(WriteData(a, fd.get(), name));
      if (archive_entry_size_is_set(e) && ftruncate(fd.get(), archive_entry_size(e)) != 0) {
        return ErrnoStatus(errno, StrCat("truncate ", what));
      }
      if (fchown(fd.get(), uid, gid) != 0) return ErrnoStatus(errno, StrCat("chown ", what));
      if (fchmod(fd.get(), perm) != 0) return ErrnoStatus(errno, StrCat("chmod ", what));
      RETURN_IF_ERROR(SetXattrs(e, fd.get(), pfd, base));
      if (futimens(fd.get(), times) != 0) return ErrnoStatus(errno, StrCat("set times of ", what));
      break;
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (target == nullptr) return absl::InvalidArgumentError(StrCat(what, ": symlink without a target"));
      if (symlinkat(target, pfd, base.c_str()) != 0) return ErrnoStatus(errno, StrCat("symlink ", what));
      if (fchownat(pfd, base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
        return ErrnoStatus(errno, StrCat("chown ", what));
      }
      RETURN_IF_ERROR(SetXattrs(e, -1, pfd, base));
      if (utimensat(pfd, base.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
        return ErrnoStatus(errno, StrCat("set times of ", what));
      }
      break;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
      dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
      if (mknodat(pfd, base.c_str(), type | perm, dev) != 0) return ErrnoStatus(errno, StrCat("mknod ", what));
      // Just created by us and not a symlink: opening O_PATH|O_NOFOLLOW pins it.
      UniqueFd fd(openat(pfd, base.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) return ErrnoStatus(errno, StrCat("open ", what));
      if (fchownat(fd.get(), "", uid, gid, AT_EMPTY_PATH) != 0) return ErrnoStatus(errno, StrCat("chown ", what));
      std::string self = StrCat("/proc/self/fd/", fd.get());
      if (chmod(self.c_str(), perm) != 0) return ErrnoStatus(errno, StrCat("chmod ", what));
      RETURN_IF_ERROR(SetXattrs(e, -1, pfd, base));
      if (utimensat(pfd, base.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
        return ErrnoStatus(errno, StrCat("set times of ", what));
      }
      break;
    }
    case AE_IFSOCK:
      BLOG(Debug) << "skipping socket " << name;
      return Status();
    default:
      return absl::InvalidArgumentError(StrCat(what, ": unsupported file type ", static_cast<int>(type)));
  }
  if (target_.mode == WhiteoutMode::kDelete) unpacked_.insert(rel);
  return Status();
}

void Extractor::Finish() {
  Invalidate();
  for (const auto& d : dirs_) {
    UniqueFd fd(OpenInRoot(rootfd_, d.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    if (!fd) continue;  // removed or replaced later in the layer
    futimens(fd.get(), d.times);
  }
}

struct ReadCtx {
  Reader* src;
  std::string buf;
  Status error;
};

la_ssize_t ReadCallback(struct archive*, void* opaque, const void** out) {
  auto* ctx = static_cast<ReadCtx*>(opaque);
  auto n = ctx->src->Read(ctx->buf.data(), ctx->buf.size());
  if (!n.ok()) {
    ctx->error = n.status();
    return -1;
  }
  *out = ctx->buf.data();
  return static_cast<la_ssize_t>(*n);
}

}  // namespace

Status Extract(Reader& tar, const ExtractTarget& target, const ApplyOptions& opts) {
  UniqueFd rootfd(::open(target.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) return ErrnoStatus(errno, StrCat("open layer root ", target.root));
  std::vector<UniqueFd> lowers;
  for (const auto& l : target.lowerdirs) {
    UniqueFd fd(::open(l.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return ErrnoStatus(errno, StrCat("open lower directory ", l));
    lowers.push_back(std::move(fd));
  }
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(a.get());
  ReadCtx ctx{&tar, std::string(1 << 17, '\0'), Status()};
  if (archive_read_open(a.get(), &ctx, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
    if (!ctx.error.ok()) return ctx.error;
    return absl::DataLossError(StrCat("layer is not a tar archive: ", archive_error_string(a.get())));
  }
  Extractor ex(rootfd.get(), target, std::move(lowers));
  int64_t entries = 0;
  for (;;) {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (!ctx.error.ok()) return ctx.error;
    if (r == ARCHIVE_WARN) {
      BLOG(Warn) << "layer: " << archive_error_string(a.get());
    } else if (r != ARCHIVE_OK) {
      return absl::DataLossError(StrCat("read layer: ", archive_error_string(a.get())));
    }
    if (++entries > opts.max_entries) {
      return absl::ResourceExhaustedError(StrCat("layer has more than ", opts.max_entries, " entries"));
    }
    Status s = ex.Entry(a.get(), e);
    if (!ctx.error.ok()) return ctx.error;
    RETURN_IF_ERROR(s);
  }
  if (!ctx.error.ok()) return ctx.error;
  ex.Finish();
  return Status();
}

}  // namespace berth::diff
