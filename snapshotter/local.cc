#include "snapshotter/local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <set>
#include <utility>

#include "common/fs.h"
#include "common/log.h"
#include "common/scope_exit.h"

namespace berth::snapshotter {
namespace {

struct DuState {
  dev_t dev;
  std::set<std::pair<dev_t, ino_t>> seen;
  Usage usage;
};

Status DuWalk(int dirfd, DuState& st, int depth) {
  if (depth > 4096) return absl::ResourceExhaustedError("directory tree too deep");
  DIR* d = fdopendir(dirfd);
  if (d == nullptr) {
    int err = errno;
    ::close(dirfd);
    return ErrnoStatus(err, "fdopendir");
  }
  Status result;
  while (struct dirent* e = readdir(d)) {
    std::string_view n(e->d_name);
    if (n == "." || n == "..") continue;
    struct stat sb;
    if (fstatat(::dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      result = ErrnoStatus(errno, StrCat("stat ", n));
      break;
    }
    if (st.seen.insert({sb.st_dev, sb.st_ino}).second) {
      st.usage.inodes++;
      st.usage.size += static_cast<int64_t>(sb.st_blocks) * 512;
    }
    if (S_ISDIR(sb.st_mode) && sb.st_dev == st.dev) {
      int fd = openat(::dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        result = ErrnoStatus(errno, StrCat("open ", n));
        break;
      }
      result = DuWalk(fd, st, depth + 1);
      if (!result.ok()) break;
    }
  }
  closedir(d);
  return result;
}

}  // namespace

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kView:
      return "View";
    case Kind::kActive:
      return "Active";
    case Kind::kCommitted:
      return "Committed";
    default:
      return "Unknown";
  }
}

StatusOr<Usage> DiskUsage(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, StrCat("open ", dir));
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus(err, StrCat("stat ", dir));
  }
  DuState st{sb.st_dev, {}, {}};
  st.seen.insert({sb.st_dev, sb.st_ino});
  st.usage.inodes = 1;
  st.usage.size = static_cast<int64_t>(sb.st_blocks) * 512;
  RETURN_IF_ERROR(Annotate(DuWalk(fd, st, 0), StrCat("disk usage of ", dir)));
  return st.usage;
}

LocalSnapshotter::~LocalSnapshotter() = default;

StatusOr<std::unique_ptr<metadata::Db>> LocalSnapshotter::OpenRoot(const std::string& root) {
  RETURN_IF_ERROR(MkdirAll(JoinPath(root, "snapshots"), 0700));
  return storage::Open(JoinPath(root, "metadata.db"));
}

std::string LocalSnapshotter::UpperPath(int64_t id) const { return StrCat(root_, "/snapshots/", id, "/fs"); }
std::string LocalSnapshotter::WorkPath(int64_t id) const { return StrCat(root_, "/snapshots/", id, "/work"); }

StatusOr<Info> LocalSnapshotter::Stat(const std::string& key) {
  StatusOr<Info> out;
  RETURN_IF_ERROR(db_->View([&](metadata::Tx& tx) {
    out = storage::GetInfo(tx, key);
    return out.status();
  }));
  return out;
}

StatusOr<Info> LocalSnapshotter::Update(const Info& info, const std::vector<std::string>& fieldpaths) {
  StatusOr<Info> out;
  RETURN_IF_ERROR(db_->Update([&](metadata::Tx& tx) {
    out = storage::UpdateInfo(tx, info, fieldpaths);
    return out.status();
  }));
  return out;
}

StatusOr<Usage> LocalSnapshotter::GetUsage(const std::string& key) {
  Snapshot s;
  Usage recorded;
  RETURN_IF_ERROR(db_->View([&](metadata::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(s, storage::GetSnapshot(tx, key));
    ASSIGN_OR_RETURN(recorded, storage::GetUsage(tx, key));
    return Status();
  }));
  if (s.kind == Kind::kCommitted) return recorded;
  return DiskUsage(UpperPath(s.id));
}

StatusOr<std::vector<Mount>> LocalSnapshotter::Mounts(const std::string& key) {
  Snapshot s;
  RETURN_IF_ERROR(db_->View([&](metadata::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(s, storage::GetSnapshot(tx, key));
    return Status();
  }));
  if (s.kind == Kind::kCommitted) {
    return absl::FailedPreconditionError(StrCat("snapshot ", key,
                                                " is committed: mounts of a committed snapshot "
                                                "are not available: failed precondition"));
  }
  return MountsFor(s);
}

StatusOr<std::vector<Mount>> LocalSnapshotter::Prepare(const std::string& key, const std::string& parent,
                                                       const Labels& labels) {
  return Create(Kind::kActive, key, parent, labels);
}

StatusOr<std::vector<Mount>> LocalSnapshotter::View(const std::string& key, const std::string& parent,
                                                    const Labels& labels) {
  return Create(Kind::kView, key, parent, labels);
}

StatusOr<std::vector<Mount>> LocalSnapshotter::Create(Kind kind, const std::string& key, const std::string& parent,
                                                      const Labels& labels) {
  std::shared_lock<std::shared_mutex> guard(cleanup_mu_);
  // Fail fast (before any copying) on an existing key or a bad parent.
  std::vector<int64_t> parent_ids;
  RETURN_IF_ERROR(db_->View([&](metadata::Tx& tx) -> Status {
    if (storage::GetInfo(tx, key).ok()) return absl::AlreadyExistsError(StrCat("snapshot ", key, ": already exists"));
    if (parent.empty()) return Status();
    auto p = storage::GetSnapshot(tx, parent);
    if (!p.ok()) return absl::NotFoundError(StrCat("parent snapshot ", parent, " does not exist: not found"));
    if (p->kind != Kind::kCommitted) {
      return absl::FailedPreconditionError(StrCat("parent ", parent, " is not committed snapshot"));
    }
    parent_ids.push_back(p->id);
    parent_ids.insert(parent_ids.end(), p->parent_ids.begin(), p->parent_ids.end());
    return Status();
  }));

  std::string tmpl = JoinPath(root_, "snapshots/new-XXXXXX");
  if (::mkdtemp(tmpl.data()) == nullptr) return ErrnoStatus(errno, "create temporary snapshot directory");
  std::string td = tmpl;
  ScopeExit remove_td([&] {
    if (td.empty()) return;
    Status s = RemoveAll(td);
    if (!s.ok()) {
      BLOG(Warn) << "failed to clean up temporary snapshot directory " << td << ": " << s.message();
    }
  });
  if (::mkdir(JoinPath(td, "fs").c_str(), 0755) != 0) return ErrnoStatus(errno, "create snapshot fs directory");
  RETURN_IF_ERROR(Annotate(PrepareDirectory(td, kind, parent_ids), StrCat("prepare snapshot ", key)));

  Snapshot created;
  RETURN_IF_ERROR(db_->Update([&](metadata::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(created, storage::CreateSnapshot(tx, kind, key, parent, labels));
    if (created.parent_ids != parent_ids) {
      return absl::UnavailableError(StrCat("parent ", parent, " changed while preparing ", key));
    }
    std::string path = StrCat(root_, "/snapshots/", created.id);
    if (::rename(td.c_str(), path.c_str()) != 0) return ErrnoStatus(errno, StrCat("rename ", td, " to ", path));
    td.clear();
    return Status();
  }));
  Status synced = FsyncDir(JoinPath(root_, "snapshots"));
  if (!synced.ok()) {
    BLOG(Warn) << "fsync snapshots dir: " << synced.message();
  }
  return MountsFor(created);
}

Status LocalSnapshotter::Commit(const std::string& name, const std::string& key, const Labels& labels) {
  std::shared_lock<std::shared_mutex> guard(cleanup_mu_);
  Snapshot s;
  RETURN_IF_ERROR(db_->View([&](metadata::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(s, storage::GetSnapshot(tx, key));
    return Status();
  }));
  if (s.kind != Kind::kActive) {
    return absl::FailedPreconditionError(StrCat("snapshot ", key, " is not active: failed precondition"));
  }
  // The layer is final once committed: measure it now, as containerd does.
  ASSIGN_OR_RETURN(Usage usage, DiskUsage(UpperPath(s.id)));
  return db_->Update([&](metadata::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(int64_t id, storage::CommitActive(tx, key, name, usage, labels));
    (void)id;
    return Status();
  });
}

Status LocalSnapshotter::Remove(const std::string& key) {
  std::shared_lock<std::shared_mutex> guard(cleanup_mu_);
  std::string removed;
  RETURN_IF_ERROR(db_->Update([&](metadata::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto r, storage::Remove(tx, key));
    std::string path = StrCat(root_, "/snapshots/", r.first);
    std::string rm = StrCat(root_, "/snapshots/rm-", r.first);
    if (::rename(path.c_str(), rm.c_str()) != 0) {
      if (errno != ENOENT) return ErrnoStatus(errno, StrCat("rename ", path, " to ", rm));
      BLOG(Warn) << "snapshot directory " << path << " was already gone";
      return Status();
    }
    removed = rm;
    return Status();
  }));
  if (!removed.empty()) {
    Status s = RemoveAll(removed);
    if (!s.ok()) {
      BLOG(Warn) << "failed to remove " << removed << " (Cleanup will retry): " << s.message();
    }
  }
  return Status();
}

Status LocalSnapshotter::Walk(const std::function<Status(const Info&)>& fn) {
  // Collect first so `fn` never runs inside the transaction.
  std::vector<Info> all;
  RETURN_IF_ERROR(db_->View([&](metadata::Tx& tx) {
    return storage::Walk(tx, [&](const Info& i) {
      all.push_back(i);
      return Status();
    });
  }));
  for (const auto& i : all) RETURN_IF_ERROR(fn(i));
  return Status();
}

Status LocalSnapshotter::Cleanup() {
  std::unique_lock<std::shared_mutex> guard(cleanup_mu_);
  std::set<int64_t> ids;
  RETURN_IF_ERROR(db_->View([&](metadata::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(ids, storage::Ids(tx));
    return Status();
  }));
  std::string dir = JoinPath(root_, "snapshots");
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus(errno, StrCat("open ", dir));
  std::vector<std::string> stale;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    char* end = nullptr;
    long long id = strtoll(n.c_str(), &end, 10);
    if (!n.empty() && *end == '\0' && ids.count(id)) continue;
    stale.push_back(JoinPath(dir, n));
  }
  closedir(d);
  Status result;
  for (const auto& p : stale) {
    BLOG(Info) << "snapshotter cleanup: removing " << p;
    Status s = RemoveAll(p);
    if (!s.ok() && result.ok()) result = s;
  }
  return result;
}

}  // namespace berth::snapshotter
