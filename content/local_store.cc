#include "content/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "common/filters.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/scope_exit.h"
#include "common/unique_fd.h"
#include "content/internal.h"
#include "content/local_writer.h"

namespace berth::content {
namespace {

constexpr size_t kBufSize = 1 << 20;
constexpr char kTmpPrefix[] = ".tmp-";

class LocalReader final : public ReaderAt {
 public:
  LocalReader(UniqueFd fd, int64_t size) : fd_(std::move(fd)), size_(size) {}
  int64_t Size() const override { return size_; }
  StatusOr<size_t> ReadAt(void* buf, size_t n, int64_t offset) override {
    if (offset >= size_ || n == 0) return size_t{0};
    if (static_cast<int64_t>(n) > size_ - offset) n = static_cast<size_t>(size_ - offset);
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_.get(), static_cast<char*>(buf) + done, n - done, offset + static_cast<int64_t>(done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "read blob");
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }

 private:
  UniqueFd fd_;
  int64_t size_;
};

// Directory entries other than "." and "..".
StatusOr<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(errno, "open " + dir);
  std::vector<std::string> out;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(std::move(n));
  }
  ::closedir(d);
  return out;
}

int64_t ParseInt(const std::string& s) {
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  return end == s.c_str() ? 0 : static_cast<int64_t>(v);
}

// Hashes `fd` from its start; returns the number of bytes read.
StatusOr<int64_t> HashFile(int fd, Sha256& hash) {
  std::unique_ptr<char[]> buf(new char[kBufSize]);
  int64_t total = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf.get(), kBufSize, total);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read ingest data");
    }
    if (n == 0) return total;
    hash.Update(buf.get(), static_cast<size_t>(n));
    total += n;
  }
}

}  // namespace

StatusOr<std::unique_ptr<LocalStore>> LocalStore::Open(const std::string& root) {
  RETURN_IF_ERROR(MkdirAll(JoinPath(root, "blobs/sha256"), 0755));
  RETURN_IF_ERROR(MkdirAll(JoinPath(root, "ingest"), 0700));
  return std::unique_ptr<LocalStore>(new LocalStore(root));
}

std::string LocalStore::BlobPath(const Digest& digest) const {
  return JoinPath(root_, StrCat("blobs/sha256/", digest.hex()));
}

std::string LocalStore::IngestPath(const std::string& ref) const {
  return JoinPath(root_, StrCat("ingest/", Sha256::Of(ref).hex()));
}

StatusOr<std::unique_ptr<ReaderAt>> LocalStore::OpenReader(const Digest& digest) {
  std::string path = BlobPath(digest);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return absl::NotFoundError(StrCat("content ", digest.str(), ": not found"));
    return ErrnoStatus(errno, "open blob " + digest.str());
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat blob " + digest.str());
  return std::unique_ptr<ReaderAt>(new LocalReader(std::move(fd), st.st_size));
}

StatusOr<Info> LocalStore::GetInfo(const Digest& digest) {
  struct stat st;
  if (::stat(BlobPath(digest).c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(StrCat("content ", digest.str(), ": not found"));
    return ErrnoStatus(errno, "stat blob " + digest.str());
  }
  Info info;
  info.digest = digest;
  info.size = st.st_size;
  info.created_at = info.updated_at = MtimeNanos(st);
  return info;
}

StatusOr<Info> LocalStore::Update(const Info& info, const std::vector<std::string>&) {
  return absl::UnimplementedError(StrCat("update ", info.digest.str(), ": the local store keeps no labels"));
}

Status LocalStore::Walk(const WalkFn& fn, const std::vector<std::string>& filters) {
  ASSIGN_OR_RETURN(Filter filter, Filter::ParseAll(filters));
  std::string dir = JoinPath(root_, "blobs/sha256");
  ASSIGN_OR_RETURN(auto names, ListDir(dir));
  for (const auto& name : names) {
    auto digest = Digest::Parse("sha256:" + name);
    if (!digest.ok()) continue;  // not a blob (a stray temporary file)
    auto info = GetInfo(*digest);
    if (!info.ok()) {
      if (absl::IsNotFound(info.status())) continue;  // deleted meanwhile
      return info.status();
    }
    if (!filter.Match([&](const FieldPath& p) { return InfoField(*info, p); })) continue;
    RETURN_IF_ERROR(fn(*info));
  }
  return Status();
}

Status LocalStore::Delete(const Digest& digest) {
  if (::unlink(BlobPath(digest).c_str()) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(StrCat("content ", digest.str(), ": not found"));
    return ErrnoStatus(errno, "delete blob " + digest.str());
  }
  return Status();
}

StatusOr<IngestStatus> LocalStore::ReadIngest(const std::string& dir, const std::string& ref) {
  IngestStatus st;
  auto stored_ref = ReadFile(JoinPath(dir, "ref"));
  if (!stored_ref.ok()) {
    if (absl::IsNotFound(stored_ref.status())) return absl::NotFoundError(StrCat("ingest ", ref, ": not found"));
    return stored_ref.status();
  }
  st.ref = *stored_ref;
  if (!ref.empty() && st.ref != ref) {
    return absl::InternalError(StrCat("ingest ", ref, ": ref key does not match (", st.ref, ")"));
  }
  struct stat ds;
  if (::stat(JoinPath(dir, "data").c_str(), &ds) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(StrCat("ingest ", st.ref, ": data is missing"));
    return ErrnoStatus(errno, "stat ingest data " + st.ref);
  }
  st.offset = ds.st_size;
  if (auto t = ReadFile(JoinPath(dir, "total")); t.ok()) st.total = ParseInt(*t);
  if (auto t = ReadFile(JoinPath(dir, "startedat")); t.ok()) st.started_at = ParseInt(*t);
  if (auto t = ReadFile(JoinPath(dir, "updatedat")); t.ok()) st.updated_at = ParseInt(*t);
  // Writes since the last Close only show in the data file's mtime.
  st.updated_at = std::max(st.updated_at, MtimeNanos(ds));
  if (st.started_at == 0) st.started_at = st.updated_at;
  return st;
}

StatusOr<std::unique_ptr<Writer>> LocalStore::OpenWriter(const WriterOptions& opts) {
  if (opts.ref.empty()) return absl::InvalidArgumentError("ref must not be empty");
  if (opts.expected && ::access(BlobPath(*opts.expected).c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(StrCat("content ", opts.expected->str(), ": already exists"));
  }
  RETURN_IF_ERROR(locks_.LockWithRetry(opts.ref));
  ScopeExit unlock([&] { locks_.Unlock(opts.ref); });

  const std::string dir = IngestPath(opts.ref);
  auto hash = std::make_unique<Sha256>();
  IngestStatus st;
  bool resumed = false;
  if (::access(dir.c_str(), F_OK) == 0) {
    auto existing = ReadIngest(dir, opts.ref);
    if (existing.ok() && opts.total > 0 && existing->total > 0 && existing->total != opts.total) {
      existing = absl::FailedPreconditionError(
          StrCat("provided total ", opts.total, " differs from ingest total ", existing->total));
    }
    if (existing.ok()) {
      UniqueFd rfd(::open(JoinPath(dir, "data").c_str(), O_RDONLY | O_CLOEXEC));
      if (!rfd) return ErrnoStatus(errno, "open ingest data " + opts.ref);
      ASSIGN_OR_RETURN(int64_t hashed, HashFile(rfd.get(), *hash));
      st = *existing;
      st.offset = hashed;
      if (st.total == 0) st.total = opts.total;
      resumed = true;
    } else {
      BLOG(Info) << "ingest " << opts.ref << " cannot be resumed, recreating it: " << existing.status();
      RETURN_IF_ERROR(RemoveAll(dir));
    }
  }
  if (!resumed) {
    // Build the ingest under a temporary name so it is either absent or complete.
    std::string tmpl = JoinPath(root_, StrCat("ingest/", kTmpPrefix, "XXXXXX"));
    if (::mkdtemp(tmpl.data()) == nullptr) return ErrnoStatus(errno, "create ingest " + opts.ref);
    ScopeExit rm_tmp([&] { (void)RemoveAll(tmpl); });
    st.ref = opts.ref;
    st.total = opts.total;
    st.started_at = st.updated_at = NowNanos();
    RETURN_IF_ERROR(WriteIngestFile(JoinPath(tmpl, "ref"), opts.ref));
    RETURN_IF_ERROR(WriteIngestFile(JoinPath(tmpl, "startedat"), std::to_string(st.started_at)));
    RETURN_IF_ERROR(WriteIngestFile(JoinPath(tmpl, "updatedat"), std::to_string(st.updated_at)));
    if (opts.total > 0) RETURN_IF_ERROR(WriteIngestFile(JoinPath(tmpl, "total"), std::to_string(opts.total)));
    UniqueFd create(::open(JoinPath(tmpl, "data").c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!create) return ErrnoStatus(errno, "create ingest data " + opts.ref);
    if (::chmod(tmpl.c_str(), 0755) != 0) return ErrnoStatus(errno, "chmod ingest " + opts.ref);
    if (::rename(tmpl.c_str(), dir.c_str()) != 0) return ErrnoStatus(errno, "rename ingest " + opts.ref);
    rm_tmp.Dismiss();
    RETURN_IF_ERROR(FsyncDir(DirName(dir)));
  }
  if (opts.expected) st.expected = opts.expected->str();

  UniqueFd fd(::open(JoinPath(dir, "data").c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open ingest data " + opts.ref);
  if (::lseek(fd.get(), st.offset, SEEK_SET) < 0) return ErrnoStatus(errno, "seek ingest data " + opts.ref);
  unlock.Dismiss();  // the writer owns the lock now
  return std::unique_ptr<Writer>(new LocalWriter(*this, dir, std::move(fd), std::move(hash), std::move(st)));
}

StatusOr<IngestStatus> LocalStore::GetStatus(const std::string& ref) {
  std::string dir = IngestPath(ref);
  return ReadIngest(dir, ref);
}

StatusOr<std::vector<IngestStatus>> LocalStore::ListStatuses(const std::vector<std::string>& filters) {
  ASSIGN_OR_RETURN(Filter filter, Filter::ParseAll(filters));
  ASSIGN_OR_RETURN(auto names, ListDir(JoinPath(root_, "ingest")));
  std::vector<IngestStatus> out;
  for (const auto& name : names) {
    if (name.rfind(kTmpPrefix, 0) == 0) continue;
    auto st = ReadIngest(JoinPath(root_, "ingest/" + name), "");
    if (!st.ok()) continue;  // committed or aborted meanwhile, or half-cleaned: not active
    if (filter.Match([&](const FieldPath& p) { return StatusField(*st, p); })) out.push_back(std::move(*st));
  }
  return out;
}

Status LocalStore::Abort(const std::string& ref) {
  // No lock: as containerd's store, an ingest is removed even under an open writer.
  std::string dir = IngestPath(ref);
  if (::access(dir.c_str(), F_OK) != 0) return absl::NotFoundError(StrCat("ingest ref \"", ref, "\": not found"));
  return RemoveAll(dir);
}

StatusOr<std::vector<std::string>> LocalStore::IngestRefs() {
  ASSIGN_OR_RETURN(auto names, ListDir(JoinPath(root_, "ingest")));
  std::vector<std::string> out;
  for (const auto& name : names) {
    if (name.rfind(kTmpPrefix, 0) == 0) continue;
    auto ref = ReadFile(JoinPath(root_, "ingest/" + name + "/ref"));
    if (ref.ok()) out.push_back(*ref);
  }
  return out;
}

int LocalStore::RemoveStaleIngests(int64_t cutoff, const std::function<bool(const std::string&)>& keep) {
  auto names = ListDir(JoinPath(root_, "ingest"));
  if (!names.ok()) {
    BLOG(Warn) << "clean ingests: " << names.status();
    return 0;
  }
  int removed = 0;
  for (const auto& name : *names) {
    std::string dir = JoinPath(root_, "ingest/" + name);
    std::string why;
    std::string ref;
    if (name.rfind(kTmpPrefix, 0) == 0) {
      why = "unfinished ingest directory";
    } else {
      auto st = ReadIngest(dir, "");
      if (!st.ok()) {
        why = std::string(st.status().message());
      } else {
        ref = st->ref;
        if (locks_.IsLocked(ref) || (keep && keep(ref))) continue;
        if (st->updated_at >= cutoff) continue;
        why = "not updated since " + std::to_string(st->updated_at);
      }
    }
    if (!ref.empty() && !locks_.TryLock(ref).ok()) continue;
    Status s = RemoveAll(dir);
    if (!ref.empty()) locks_.Unlock(ref);
    if (!s.ok()) {
      BLOG(Warn) << "remove stale ingest " << dir << ": " << s;
      continue;
    }
    BLOG(Info) << "removed stale ingest " << (ref.empty() ? name : ref) << " (" << why << ")";
    ++removed;
  }
  return removed;
}

}  // namespace berth::content
