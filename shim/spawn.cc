#include "shim/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "common/unique_fd.h"

extern char** environ;

namespace berth::shim {

int ExitCodeFromWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

namespace {

// posix_spawnp with the stdio of `opts`; `*out_r` receives the read end of the stdout pipe
// when capturing.
StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const SpawnOptions& opts,
                      UniqueFd* out_r) {
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  UniqueFd out_w;
  if (opts.capture_stdout) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
    out_r->Reset(p[0]);
    out_w.Reset(p[1]);
  }
  int fds[3] = {opts.stdin_fd, opts.capture_stdout ? out_w.get() : opts.stdout_fd,
                opts.stderr_fd};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int i = 0; i < 3; i++) {
    posix_spawn_file_actions_adddup2(&fa, fds[i] >= 0 ? fds[i] : devnull.get(), i);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, cargv[0], &fa, &attr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return ErrnoStatus(rc, StrCat("exec ", argv[0]));
  return pid;
}

// One asynchronous child: finished once reaped and its captured stdout (if any) hit EOF.
struct AsyncChild : std::enable_shared_from_this<AsyncChild> {
  AsyncChild(boost::asio::io_context& io, SpawnDone d) : out(io), done(std::move(d)) {}
  void ReadMore() {
    out.async_read_some(boost::asio::buffer(buf),
                        [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                          self->result.out.append(self->buf, n);
                          if (ec) {
                            self->eof = true;
                            self->MaybeFinish();
                            return;
                          }
                          self->ReadMore();
                        });
  }
  void MaybeFinish() {
    if (!exited || !eof || !done) return;
    SpawnDone d = std::move(done);
    done = nullptr;
    boost::system::error_code ignored;
    out.close(ignored);
    d(std::move(result));
  }
  boost::asio::posix::stream_descriptor out;
  SpawnDone done;
  SpawnResult result;
  bool exited = false, eof = true;
  char buf[4096];
};

}  // namespace

void SpawnAsync(boost::asio::io_context& io, ChildWaiter& waiter,
                const std::vector<std::string>& argv, const SpawnOptions& opts, SpawnDone done) {
  UniqueFd out_r;
  StatusOr<pid_t> pid = Spawn(argv, opts, &out_r);
  if (!pid.ok()) {
    done(pid.status());
    return;
  }
  auto child = std::make_shared<AsyncChild>(io, std::move(done));
  if (out_r) {
    ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
    child->out.assign(out_r.Release());
    child->eof = false;
    child->ReadMore();
  }
  waiter.Expect(*pid, [child](int code) {
    child->result.exit_code = code;
    child->exited = true;
    child->MaybeFinish();
  });
}

StatusOr<SpawnResult> RunAndWait(const std::vector<std::string>& argv, const SpawnOptions& opts) {
  UniqueFd out_r;
  ASSIGN_OR_RETURN(pid_t pid, Spawn(argv, opts, &out_r));
  SpawnResult res;
  if (out_r) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(out_r.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      res.out.append(buf, static_cast<size_t>(n));
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoStatus(errno, StrCat("wait ", argv[0]));
  }
  res.exit_code = ExitCodeFromWaitStatus(status);
  return res;
}

}  // namespace berth::shim
