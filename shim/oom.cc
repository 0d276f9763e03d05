#include "shim/oom.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <sstream>

#include "common/fs.h"

namespace berth::shim {

Status OomWatcher::Watch(int pid) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(StrCat("/proc/", pid, "/cgroup")));
  std::istringstream in(text);
  std::string line, path;
  while (std::getline(in, line)) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctls = "," + line.substr(a + 1, b - a - 1) + ",";
    if (ctls.find(",memory,") != std::string::npos) path = line.substr(b + 1);
  }
  if (path.empty()) return absl::UnimplementedError("no cgroup v1 memory controller");
  cgroup_dir_ = StrCat("/sys/fs/cgroup/memory", path);
  int ofd = ::open((cgroup_dir_ + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC);
  if (ofd < 0) return ErrnoStatus(errno, "open memory.oom_control");
  oom_control_.Reset(ofd);
  UniqueFd efd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!efd) return ErrnoStatus(errno, "eventfd");
  std::string reg = StrCat(efd.get(), " ", ofd);
  int cfd = ::open((cgroup_dir_ + "/cgroup.event_control").c_str(), O_WRONLY | O_CLOEXEC);
  if (cfd < 0) return ErrnoStatus(errno, "open cgroup.event_control");
  ssize_t n = ::write(cfd, reg.data(), reg.size());
  int e = errno;
  ::close(cfd);
  if (n < 0) return ErrnoStatus(e, "register oom eventfd");
  efd_.assign(efd.Release());
  Wait();
  return absl::OkStatus();
}

void OomWatcher::Poll() {
  if (!efd_.is_open()) return;
  uint64_t count = 0;
  if (::read(efd_.native_handle(), &count, sizeof(count)) == sizeof(count) && count > 0 &&
      ::access(cgroup_dir_.c_str(), F_OK) == 0 && on_oom_) {
    on_oom_();
  }
}

void OomWatcher::Wait() {
  efd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                  [this](const boost::system::error_code& ec) {
                    if (ec) return;
                    uint64_t count = 0;
                    if (::read(efd_.native_handle(), &count, sizeof(count)) < 0) {
                      Wait();
                      return;
                    }
                    // The eventfd also fires when the cgroup is removed: then stop.
                    if (::access(cgroup_dir_.c_str(), F_OK) != 0) {
                      boost::system::error_code ignored;
                      efd_.close(ignored);
                      return;
                    }
                    if (on_oom_) on_oom_();
                    Wait();
                  });
}

}  // namespace berth::shim
