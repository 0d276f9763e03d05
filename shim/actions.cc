#include "shim/actions.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/log.h"
#include "common/unique_fd.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "google/protobuf/any.pb.h"
#include "shim/mount.h"
#include "shim/runc.h"
#include "shim/service.h"
#include "ttrpc/client.h"

namespace berth::shim {

namespace {

std::string Cwd() {
  char buf[4096];
  return ::getcwd(buf, sizeof(buf)) ? std::string(buf) : std::string(".");
}

std::string ReadAllStdin() {
  std::string data;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

bool CanConnect(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, std::min(path.size(), sizeof(addr.sun_path) - 1));
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

// socket()+bind()+listen(); errno on failure (EADDRINUSE when the path exists).
int ListenUnix(const std::string& path, int* err) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, std::min(path.size(), sizeof(addr.sun_path) - 1));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, SOMAXCONN) != 0) {
    *err = errno;
    ::close(fd);
    return -1;
  }
  return fd;
}

// Moves `pid` into the existing cgroup `path` (Options.ShimCgroup), as containerd's shim does:
// cgroup v2: the unified hierarchy; v1: every hierarchy that has `path` (NotFound if none).
Status JoinShimCgroup(const std::string& path, pid_t pid) {
  std::string pidstr = std::to_string(pid);
  auto add = [&](const std::string& dir) {
    return WriteFileInPlace(JoinPath(dir, "cgroup.procs"), pidstr);
  };
  if (::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) {
    return add(StrCat("/sys/fs/cgroup", path));
  }
  int joined = 0;
  for (const char* ctl : {"cpu", "cpuacct", "memory", "pids", "blkio", "devices", "freezer",
                          "cpuset", "net_cls", "perf_event", "hugetlb", "systemd"}) {
    std::string dir = StrCat("/sys/fs/cgroup/", ctl, path);
    if (::access(dir.c_str(), F_OK) != 0) continue;
    RETURN_IF_ERROR(add(dir));
    joined++;
  }
  if (joined == 0) return absl::NotFoundError(StrCat("shim cgroup \"", path, "\": cgroup deleted"));
  return absl::OkStatus();
}

}  // namespace

int StartAction(const Flags& flags, const char* self_exe) {
  std::string bundle = Cwd();
  std::string stdin_data = ReadAllStdin();
  RuntimeOptions opts;
  if (!stdin_data.empty()) {
    google::protobuf::Any any;
    if (!any.ParseFromString(stdin_data)) {
      std::cerr << "start: cannot decode runtime options on stdin\n";
      return 1;
    }
    if (Status st = ApplyOptionsAny(any.type_url(), any.value(), &opts); !st.ok()) {
      std::cerr << "start: " << st << "\n";
      return 1;
    }
    if (Status st = WriteFileAtomic(JoinPath(bundle, "options.json"), OptionsToJson(opts), 0600);
        !st.ok()) {
      std::cerr << "start: " << st << "\n";
      return 1;
    }
  }
  std::string address = SocketAddress(kSocketRoot, flags.address, flags.ns, flags.id);
  std::string path = ttrpc::SocketPathFromAddress(address);
  if (Status st = MkdirAll(DirName(path), 0711); !st.ok()) {
    std::cerr << "start: " << st << "\n";
    return 1;
  }
  int err = 0;
  int lfd = ListenUnix(path, &err);
  if (lfd < 0 && err == EADDRINUSE) {
    if (CanConnect(path)) {
      // A shim already serves this container: reuse it.
      (void)WriteFileAtomic(JoinPath(bundle, "address"), address);
      std::cout << address << std::flush;
      return 0;
    }
    ::unlink(path.c_str());
    lfd = ListenUnix(path, &err);
  }
  if (lfd < 0) {
    std::cerr << "start: listen " << path << ": " << std::strerror(err) << "\n";
    return 1;
  }
  auto cleanup = [&] {
    ::close(lfd);
    ::unlink(path.c_str());
  };
  if (Status st = WriteFileAtomic(JoinPath(bundle, "address"), address); !st.ok()) {
    std::cerr << "start: " << st << "\n";
    cleanup();
    return 1;
  }
  std::vector<std::string> args = {self_exe, "-namespace", flags.ns, "-id", flags.id,
                                   "-address", flags.address};
  if (flags.debug) args.push_back("-debug");
  // The server writes one byte on fd 4 once it serves; EOF first means it died.
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    std::cerr << "start: pipe: " << std::strerror(errno) << "\n";
    cleanup();
    return 1;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    std::cerr << "start: fork: " << std::strerror(errno) << "\n";
    cleanup();
    return 1;
  }
  if (pid == 0) {
    ::setsid();
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    if (lfd == 3) {
      ::fcntl(3, F_SETFD, 0);
    } else {
      ::dup2(lfd, 3);  // dup2 clears FD_CLOEXEC on the new fd
    }
    if (ready[1] == kReadyFd) {
      ::fcntl(kReadyFd, F_SETFD, 0);
    } else {
      ::dup2(ready[1], kReadyFd);
    }
    // Nothing else from the caller (containerd hands its own inherited fds down) reaches the
    // long-lived server.
    for (int fd = kReadyFd + 1; fd < 1024; fd++) ::close(fd);
    ::setenv(kReadyEnv, "4", 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  ::close(lfd);
  ::close(ready[1]);
  if (!opts.shim_cgroup.empty()) {
    if (Status st = JoinShimCgroup(opts.shim_cgroup, pid); !st.ok()) {
      std::cerr << "start: failed to join the shim cgroup: " << st << "\n";
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      ::unlink(path.c_str());
      return 1;
    }
  }
  pollfd pfd{ready[0], POLLIN, 0};
  char byte = 0;
  bool ok = ::poll(&pfd, 1, 10000) == 1 && ::read(ready[0], &byte, 1) == 1 && byte == 'R';
  ::close(ready[0]);
  if (!ok) {
    std::cerr << "start: shim server (pid " << pid
              << ") did not become ready; see the bundle's log\n";
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::unlink(path.c_str());
    return 1;
  }
  std::cout << address << std::flush;
  return 0;
}

int DeleteAction(const Flags& flags) {
  std::string bundle = flags.bundle.empty() ? Cwd() : flags.bundle;
  RuntimeOptions opts;
  if (StatusOr<std::string> j = ReadFile(JoinPath(bundle, "options.json")); j.ok()) {
    opts = OptionsFromJson(*j);
  }
  std::string root = JoinPath(opts.root.empty() ? "/run/containerd/runc" : opts.root, flags.ns);
  Runc runc(RuncGlobal{opts.binary_name, root, JoinPath(bundle, "log.json"), opts.systemd_cgroup},
            SyncRunner());
  runc.Delete(flags.id, /*force=*/true, [](Status st) {
    if (!st.ok()) std::cerr << "delete: " << st << "\n";
  });
  if (Status st = UnmountAll(JoinPath(bundle, "rootfs")); !st.ok()) {
    std::cerr << "delete: " << st << "\n";
    return 1;
  }
  containerd::task::v2::DeleteResponse resp;
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  int64_t at = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
  resp.set_exit_status(128 + 9);
  if (StatusOr<std::string> e = ReadFile(JoinPath(bundle, "exit.json")); e.ok()) {
    nlohmann::json j = nlohmann::json::parse(*e, nullptr, false);
    if (j.is_object()) {
      try {
        resp.set_pid(j.value("pid", 0u));
        resp.set_exit_status(j.value("exit_status", 137u));
        at = j.value("exited_at_ns", at);
      } catch (const std::exception&) {
      }
    }
  }
  resp.mutable_exited_at()->set_seconds(at / 1000000000);
  resp.mutable_exited_at()->set_nanos(static_cast<int32_t>(at % 1000000000));
  std::string out = resp.SerializeAsString();
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace berth::shim
