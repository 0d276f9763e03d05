#include "runtime/bundle.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/identifiers.h"
#include "common/log.h"
#include "common/scope_exit.h"

#include <nlohmann/json.hpp>

namespace berth::runtime {

StatusOr<uint32_t> RemappedRootGid(const std::string& spec) {
  nlohmann::json j = nlohmann::json::parse(spec, nullptr, false);
  if (!j.is_object()) return absl::InvalidArgumentError("bundle spec: not a JSON object");
  auto linux = j.find("linux");
  if (linux == j.end() || !linux->is_object()) return 0u;
  auto maps = linux->find("gidMappings");
  if (maps == linux->end() || !maps->is_array()) return 0u;
  for (const auto& m : *maps) {
    if (!m.is_object()) continue;
    auto cid = m.find("containerID"), hid = m.find("hostID");
    if (cid != m.end() && hid != m.end() && cid->is_number_unsigned() && *cid == 0 &&
        hid->is_number_unsigned()) {
      return hid->get<uint32_t>();
    }
  }
  return 0u;
}

Bundle BundleAt(const std::string& root, const std::string& state, const std::string& ns, const std::string& id) {
  Bundle b;
  b.id = id;
  b.ns = ns;
  b.path = JoinPath(JoinPath(JoinPath(state, kTaskPluginDir), ns), id);
  b.work = JoinPath(JoinPath(JoinPath(root, kTaskPluginDir), ns), id);
  return b;
}

StatusOr<Bundle> CreateBundle(const std::string& root, const std::string& state, const std::string& ns,
                              const std::string& id, const std::string& spec) {
  RETURN_IF_ERROR(ValidateIdentifier(id, "task id"));
  RETURN_IF_ERROR(ValidateIdentifier(ns, "namespace"));
  Bundle b = BundleAt(root, state, ns, id);
  std::string parent = DirName(b.path);
  RETURN_IF_ERROR(MkdirAll(parent, 0711));
  if (access(b.path.c_str(), F_OK) == 0) return absl::AlreadyExistsError(StrCat("bundle ", b.path, ": already exists"));

  std::string tmpl = JoinPath(parent, StrCat(".tmp-", id, "-XXXXXX"));
  if (mkdtemp(tmpl.data()) == nullptr) return ErrnoStatus(errno, StrCat("create bundle in ", parent));
  bool done = false;
  ScopeExit cleanup([&] {
    if (!done) (void)RemoveAll(tmpl);
  });
  if (chmod(tmpl.c_str(), 0700) != 0) return ErrnoStatus(errno, "chmod bundle");
  // With a user namespace the container's root is an unprivileged host gid: let it reach the
  // bundle (runc mounts <bundle>/rootfs as that user), as containerd does.
  ASSIGN_OR_RETURN(uint32_t gid, RemappedRootGid(spec));
  if (gid != 0) {
    if (chown(tmpl.c_str(), static_cast<uid_t>(-1), gid) != 0) return ErrnoStatus(errno, "chown bundle");
    if (chmod(tmpl.c_str(), 0710) != 0) return ErrnoStatus(errno, "chmod bundle");
  }
  if (mkdir(JoinPath(tmpl, "rootfs").c_str(), 0711) != 0) return ErrnoStatus(errno, "mkdir rootfs");
  RETURN_IF_ERROR(WriteFileAtomic(JoinPath(tmpl, "config.json"), spec, 0666));

  RETURN_IF_ERROR(MkdirAll(DirName(b.work), 0711));
  (void)RemoveAll(b.work);
  if (mkdir(b.work.c_str(), 0711) != 0) return ErrnoStatus(errno, StrCat("mkdir ", b.work));
  if (symlink(b.work.c_str(), JoinPath(tmpl, "work").c_str()) != 0) return ErrnoStatus(errno, "symlink work");
  if (mkfifo(JoinPath(tmpl, "log").c_str(), 0700) != 0) return ErrnoStatus(errno, "mkfifo log");

  if (rename(tmpl.c_str(), b.path.c_str()) != 0) {
    int err = errno;
    (void)RemoveAll(b.work);
    if (err == EEXIST || err == ENOTEMPTY) return absl::AlreadyExistsError(StrCat("bundle ", b.path, ": already exists"));
    return ErrnoStatus(err, StrCat("rename bundle to ", b.path));
  }
  done = true;
  (void)FsyncDir(parent);
  return b;
}

std::vector<Bundle> ListBundles(const std::string& root, const std::string& state) {
  std::vector<Bundle> out;
  std::string base = JoinPath(state, kTaskPluginDir);
  DIR* nsdir = opendir(base.c_str());
  if (nsdir == nullptr) return out;
  while (struct dirent* ne = readdir(nsdir)) {
    std::string ns = ne->d_name;
    if (ns[0] == '.' || !ValidateIdentifier(ns).ok()) continue;
    DIR* iddir = opendir(JoinPath(base, ns).c_str());
    if (iddir == nullptr) continue;
    while (struct dirent* ie = readdir(iddir)) {
      std::string id = ie->d_name;
      if (id[0] == '.') {
        // Leftover of an interrupted CreateBundle.
        if (id.rfind(".tmp-", 0) == 0) (void)RemoveAll(JoinPath(JoinPath(base, ns), id));
        continue;
      }
      if (!ValidateIdentifier(id).ok()) continue;
      out.push_back(BundleAt(root, state, ns, id));
    }
    closedir(iddir);
  }
  closedir(nsdir);
  return out;
}

Status DeleteBundle(const Bundle& b) {
  std::string rootfs = b.File("rootfs");
  if (umount2(rootfs.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    BLOG(Warn) << "unmount " << rootfs << ": " << strerror(errno);
  }
  RETURN_IF_ERROR(RemoveAll(b.path));
  Status s = RemoveAll(b.work);
  if (!s.ok()) {
    BLOG(Warn) << "remove " << b.work << ": " << s;
  }
  return Status();
}

StatusOr<int> OpenLogFifo(const Bundle& b) {
  std::string path = b.File("log");
  if (mkfifo(path.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus(errno, StrCat("mkfifo ", path));
  int fd = open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, StrCat("open ", path));
  return fd;
}

}  // namespace berth::runtime
