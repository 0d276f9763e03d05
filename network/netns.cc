// Persistent network namespaces, made the way `ip netns add` makes them: the directory becomes a
// shared mount point (so unmounting a namespace in one mount namespace propagates to the others
// and the namespace is freed), a thread unshares CLONE_NEWNET and bind-mounts its namespace on an
// empty file.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/fs.h"
#include "common/unique_fd.h"
#include "network/cni.h"

namespace berth::network {
namespace {

// mount --make-shared dir, first making dir a mount point (a bind mount on itself) if it is not.
// Serialised, so two first calls do not stack two bind mounts.
Status MakeSharedMountPoint(const std::string& dir) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  bool bound = false;
  while (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) {
    if (errno != EINVAL || bound) return ErrnoStatus(errno, StrCat("make ", dir, " shared"));
    if (::mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) {
      return ErrnoStatus(errno, StrCat("bind-mount ", dir, " on itself"));
    }
    bound = true;
  }
  return Status();
}

}  // namespace

StatusOr<std::string> CreateNetns(const std::string& dir, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(StrCat("invalid network namespace name '", name, "'"));
  }
  RETURN_IF_ERROR(MkdirAll(dir, 0755));
  RETURN_IF_ERROR(MakeSharedMountPoint(dir));
  std::string path = JoinPath(dir, name);
  {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
    if (!fd) return ErrnoStatus(errno, StrCat("create network namespace ", path));
  }
  // unshare(CLONE_NEWNET) moves only the calling thread; a short-lived thread keeps the caller's
  // threads where they are. The bind mount keeps the namespace alive after the thread is gone.
  int err = 0;
  const char* step = "";
  auto body = [&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      err = errno;
      step = "unshare(CLONE_NEWNET)";
      return;
    }
    std::string self =
        StrCat("/proc/self/task/", static_cast<long>(::syscall(SYS_gettid)), "/ns/net");
    if (::mount(self.c_str(), path.c_str(), "none", MS_BIND, nullptr) != 0) {
      err = errno;
      step = "bind-mount the namespace";
    }
  };
  try {
    std::thread(body).join();
  } catch (const std::system_error& e) {
    err = e.code().value();
    step = "start a thread";
  }
  if (err != 0) {
    ::unlink(path.c_str());
    return ErrnoStatus(err, StrCat("create network namespace ", path, ": ", step));
  }
  return path;
}

Status RemoveNetns(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return ErrnoStatus(errno, StrCat("unmount network namespace ", path));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, StrCat("remove network namespace ", path));
  }
  return Status();
}

}  // namespace berth::network
