#include "shim/reaper.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>


namespace berth::shim {

Status BecomeSubreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) return ErrnoStatus(errno, "subreaper");
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<Reaper>> Reaper::Create(boost::asio::io_context& io, ExitFn on_exit) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return ErrnoStatus(errno, "sigprocmask");
  int sfd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return ErrnoStatus(errno, "signalfd");
  return std::unique_ptr<Reaper>(new Reaper(io, sfd, std::move(on_exit)));
}

void Reaper::Start() {
  ReapAll();
  Wait();
}

void Reaper::Wait() {
  sfd_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                  [this](const boost::system::error_code& ec) {
                    if (ec) return;
                    signalfd_siginfo si[8];
                    while (::read(sfd_.native_handle(), si, sizeof(si)) > 0) {
                    }
                    ReapAll();
                    Wait();
                  });
}

void Reaper::ReapAll() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      if (pid < 0 && errno == EINTR) continue;
      return;
    }
    int code = ExitCodeFromWaitStatus(status);
    if (auto it = expected_.find(pid); it != expected_.end()) {
      auto fn = std::move(it->second);
      expected_.erase(it);
      fn(code);
      continue;
    }
    on_exit_(pid, code);
  }
}

void Reaper::Expect(pid_t pid, std::function<void(int exit_code)> on_exit) {
  expected_[pid] = std::move(on_exit);
}

}  // namespace berth::shim
