#include "daemon/root_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "common/fs.h"

namespace berth::daemon {

StatusOr<RootLock> RootLock::Acquire(const std::string& root) {
  RETURN_IF_ERROR(MkdirAll(root, 0711));
  std::string path = JoinPath(root, "berthd.lock");
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return ErrnoStatus(errno, "open " + path);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      auto holder = ReadFile(path);
      std::string pid = holder.ok() ? std::string(absl::StripAsciiWhitespace(*holder)) : "unknown";
      return absl::UnavailableError(StrCat("root ", root, " is in use by another berthd (pid ", pid,
                                                 "): refusing to start a second daemon on it"));
    }
    return ErrnoStatus(errno, "lock " + path);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) < 0)
    return ErrnoStatus(errno, "write " + path);
  return RootLock(std::move(fd));
}

}  // namespace berth::daemon
