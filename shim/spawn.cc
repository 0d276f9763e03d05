#include "shim/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/unique_fd.h"

extern char** environ;

namespace berth::shim {

int ExitCodeFromWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

StatusOr<SpawnResult> RunAndWait(const std::vector<std::string>& argv, const SpawnOptions& opts) {
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  UniqueFd out_r, out_w;
  if (opts.capture_stdout) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
    out_r.Reset(p[0]);
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
  out_w.Reset();
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
