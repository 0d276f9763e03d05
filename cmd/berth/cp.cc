// berth cp CONTAINER:SRC DEST | berth cp SRC CONTAINER:DEST (docker's; "-" for a tar stream is
// not supported). The container's filesystem is /proc/<pid>/root of its running task, else its
// snapshot's mounts (Snapshots.Mounts) mounted on a temporary directory for the copy.
// Paths inside the container are resolved with openat2(RESOLVE_IN_ROOT), so a symlink in the
// container can never lead outside it; the copy itself is a libarchive disk-to-disk copy that
// keeps modes, owners (-a is implied as docker's uid/gid handling would need the image's
// passwd), times, symlinks and hard links, and refuses to extract through symlinks or "..".
// Destination rules as docker's: an existing directory receives SRC under its base name;
// otherwise DEST is SRC's new name (its parent must exist); SRC ending in "/." copies the
// directory's contents.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <iostream>

#include "cmd/berth/containers.h"
#include "common/unique_fd.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "snapshotter/mount.h"

namespace berth::cli {
namespace {

namespace snv1 = containerd::services::snapshots::v1;

Status Errno(const std::string& what) { return absl::InternalError(StrCat(what, ": ", std::strerror(errno))); }

// `path` (absolute inside the container) opened O_PATH under `root`. ENOENT -> NotFound.
StatusOr<UniqueFd> OpenInRoot(const std::string& root, const std::string& path) {
  UniqueFd rfd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rfd.valid()) return Errno("open " + root);
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = path;
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  if (rel.empty()) rel = ".";
  int fd = static_cast<int>(syscall(SYS_openat2, rfd.get(), rel.c_str(), &how, sizeof how));
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(StrCat("no such file or directory: ", path));
    return Errno("resolve " + path);
  }
  return UniqueFd(fd);
}

std::string FdPath(const UniqueFd& fd) { return StrCat("/proc/self/fd/", fd.get()); }

std::string BaseName(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}
std::string ParentOf(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto s = p.rfind('/');
  if (s == std::string::npos) return ".";
  return s == 0 ? "/" : p.substr(0, s);
}

// Copies the tree at `src` (a path the process can open) into directory fd `dst_dir` under the
// name `name` ("" = the contents of src go into dst_dir itself).
Status CopyTree(const std::string& src, int dst_dir, const std::string& name) {
  archive* rd = archive_read_disk_new();
  archive_read_disk_set_behavior(rd, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
  archive_read_disk_set_symlink_physical(rd);
  archive_read_disk_set_standard_lookup(rd);
  archive* wr = archive_write_disk_new();
  archive_write_disk_set_options(wr, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_OWNER |
                                         ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                         ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |
                                         ARCHIVE_EXTRACT_UNLINK);
  archive_write_disk_set_standard_lookup(wr);
  struct Closer {
    archive *r, *w;
    int cwd;
    ~Closer() {
      archive_read_free(r);
      archive_write_free(w);
      if (cwd >= 0) {
        if (fchdir(cwd) != 0) {}
        close(cwd);
      }
    }
  } closer{rd, wr, ::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)};
  // Relative names under dst_dir: work from there.
  if (fchdir(dst_dir) != 0) return Errno("enter destination");
  if (archive_read_disk_open(rd, src.c_str()) != ARCHIVE_OK) {
    return absl::InvalidArgumentError(StrCat("read ", src, ": ", archive_error_string(rd)));
  }
  std::string prefix = src;
  for (;;) {
    archive_entry* e = archive_entry_new();
    int rc = archive_read_next_header2(rd, e);
    if (rc == ARCHIVE_EOF) {
      archive_entry_free(e);
      break;
    }
    if (rc < ARCHIVE_WARN) {
      archive_entry_free(e);
      return absl::InternalError(StrCat("read ", src, ": ", archive_error_string(rd)));
    }
    archive_read_disk_descend(rd);
    std::string p = archive_entry_pathname(e);
    std::string rel = p.size() > prefix.size() ? p.substr(prefix.size() + (prefix.back() == '/' ? 0 : 1)) : "";
    std::string out = name.empty() ? (rel.empty() ? "." : rel) : (rel.empty() ? name : name + "/" + rel);
    if (out == ".") {
      archive_entry_free(e);
      continue;
    }
    archive_entry_set_pathname(e, out.c_str());
    if (const char* hl = archive_entry_hardlink(e)) {
      std::string h = hl;
      std::string hr = h.size() > prefix.size() ? h.substr(prefix.size() + 1) : "";
      archive_entry_set_hardlink(e, (name.empty() ? hr : name + "/" + hr).c_str());
    }
    rc = archive_write_header(wr, e);
    if (rc < ARCHIVE_WARN) {
      Status s = absl::InternalError(StrCat("write ", out, ": ", archive_error_string(wr)));
      archive_entry_free(e);
      return s;
    }
    if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0 && archive_entry_hardlink(e) == nullptr) {
      int fd = ::open(archive_entry_sourcepath(e), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) {
        archive_entry_free(e);
        return Errno(StrCat("open ", archive_entry_sourcepath(e)));
      }
      char buf[1 << 16];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) {
        if (archive_write_data(wr, buf, static_cast<size_t>(n)) < 0) break;
      }
      close(fd);
    }
    archive_write_finish_entry(wr);
    archive_entry_free(e);
  }
  if (archive_write_close(wr) != ARCHIVE_OK) return absl::InternalError(StrCat("copy: ", archive_error_string(wr)));
  return Status();
}

struct Side {
  std::string container;  // "" = host
  std::string path;
};

Side ParseSide(const std::string& s) {
  auto colon = s.find(':');
  if (colon == std::string::npos || colon == 0 || s[0] == '/' || s[0] == '.') return {"", s};
  return {s.substr(0, colon), s.substr(colon + 1)};
}

// The container's root on the host for the copy's lifetime.
struct ContainerRoot {
  std::string path;
  std::unique_ptr<snapshotter::TempMount> mount;
};

StatusOr<ContainerRoot> RootOf(const Globals& g, const std::string& arg) {
  ASSIGN_OR_RETURN(cov1::Container c, FindContainer(g, arg));
  ContainerRoot r;
  ASSIGN_OR_RETURN(auto task, GetTask(g, c.id()));
  if (task && IsLive(task) && task->pid() > 0) {
    r.path = StrCat("/proc/", task->pid(), "/root");
    return r;
  }
  auto stub = snv1::Snapshots::NewStub(Connect(g));
  auto ctx = NewContext(g);
  snv1::MountsRequest req;
  req.set_snapshotter(c.snapshotter().empty() ? "overlayfs" : c.snapshotter());
  req.set_key(c.snapshot_key().empty() ? c.id() : c.snapshot_key());
  snv1::MountsResponse resp;
  RETURN_IF_ERROR(FromGrpc(stub->Mounts(ctx.get(), req, &resp)));
  std::vector<snapshotter::Mount> ms;
  for (const auto& m : resp.mounts()) {
    ms.push_back({m.type(), m.source(), m.target(), {m.options().begin(), m.options().end()}});
  }
  const char* td = std::getenv("TMPDIR");
  ASSIGN_OR_RETURN(r.mount, snapshotter::TempMount::Create(ms, td != nullptr && *td ? td : "/tmp"));
  r.path = r.mount->path();
  return r;
}

Status Copy(const Globals& g, const std::string& src_arg, const std::string& dst_arg) {
  Side src = ParseSide(src_arg), dst = ParseSide(dst_arg);
  if (src.container.empty() == dst.container.empty()) {
    return absl::InvalidArgumentError("copying between containers or between host paths is not supported: one side must be CONTAINER:PATH");
  }
  bool contents = src.path.size() >= 2 && src.path.compare(src.path.size() - 2, 2, "/.") == 0;
  ContainerRoot root;
  UniqueFd src_fd, dst_parent;
  std::string name;
  auto open_host = [](const std::string& p) -> StatusOr<UniqueFd> {
    UniqueFd fd(::open(p.c_str(), O_PATH | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) return absl::NotFoundError(StrCat("no such file or directory: ", p));
      return Errno("open " + p);
    }
    return fd;
  };
  if (!src.container.empty()) {
    ASSIGN_OR_RETURN(root, RootOf(g, src.container));
    ASSIGN_OR_RETURN(src_fd, OpenInRoot(root.path, src.path));
  } else {
    ASSIGN_OR_RETURN(src_fd, open_host(src.path));
  }
  struct stat sst;
  if (fstat(src_fd.get(), &sst) != 0) return Errno("stat " + src.path);
  auto open_dst = [&](const std::string& p) -> StatusOr<UniqueFd> {
    if (!dst.container.empty()) return OpenInRoot(root.path, p);
    return open_host(p);
  };
  if (!dst.container.empty()) {
    ASSIGN_OR_RETURN(root, RootOf(g, dst.container));
  }
  auto whole = open_dst(dst.path);
  struct stat dst_st;
  if (whole.ok() && fstat(whole->get(), &dst_st) == 0 && S_ISDIR(dst_st.st_mode)) {
    dst_parent = std::move(*whole);
    name = contents ? "" : BaseName(src.path);
  } else if (!whole.ok() && !absl::IsNotFound(whole.status())) {
    return whole.status();
  } else {
    if (whole.ok() && S_ISDIR(sst.st_mode)) {
      return absl::InvalidArgumentError(StrCat("cannot copy a directory to a file: ", dst_arg));
    }
    ASSIGN_OR_RETURN(dst_parent, open_dst(ParentOf(dst.path)));
    name = BaseName(dst.path);
    if (contents) {
      // "dir/." onto a new name: make the directory, then copy the contents into it.
      if (mkdirat(dst_parent.get(), name.c_str(), sst.st_mode & 07777) != 0) return Errno("mkdir " + dst.path);
      ASSIGN_OR_RETURN(dst_parent, open_dst(dst.path));
      name.clear();
    }
  }
  // O_PATH fds cannot be fchdir'ed into on every kernel: reopen the directory.
  UniqueFd dir(::openat(dst_parent.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return Errno("open destination directory " + dst.path);
  std::string from = FdPath(src_fd);
  if (S_ISLNK(sst.st_mode) || S_ISREG(sst.st_mode) || S_ISDIR(sst.st_mode)) {
    // read_disk needs a real path; the magic link resolves to the object itself.
    char real[PATH_MAX];
    ssize_t n = readlink(from.c_str(), real, sizeof real - 1);
    if (n <= 0) return Errno("readlink " + from);
    real[n] = '\0';
    std::string rp = real;
    // For a container opened through /proc/<pid>/root the kernel shows the path as the
    // container sees it: prefix the root again.
    if (!src.container.empty() && root.path.rfind("/proc/", 0) == 0) rp = root.path + rp;
    return CopyTree(rp, dir.get(), name);
  }
  return absl::InvalidArgumentError(StrCat(src.path, ": not a regular file, directory or symlink"));
}

}  // namespace

void SetupCp(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("cp", "copy files between a container and the host (CONTAINER:PATH on one side)");
  static std::string from, to;
  static bool archive_flag = false;
  c->add_option("source", from, "CONTAINER:PATH or a host path")->required();
  c->add_option("destination", to, "CONTAINER:PATH or a host path")->required();
  c->add_flag("-a,--archive", archive_flag, "keep uid/gid (always done)");
  c->callback([&g] {
    Status s = Copy(g, from, to);
    if (!s.ok()) g.exit_code = Fail(s, 1);
  });
}

}  // namespace berth::cli
