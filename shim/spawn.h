// Running helper programs (runc) from the shim: posix_spawn with explicit stdio, an empty signal
// mask and default dispositions (the shim blocks SIGCHLD for its signalfd; children must not
// inherit that), optionally capturing stdout.
//
// The shim runs runc synchronously on its loop thread and waits for that one pid with
// waitpid(pid): no other code reaps while it waits (the reaper only runs on the loop), so
// runc's own exit is never mistaken for a container exit. Single-threaded use.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace berth::shim {

struct SpawnOptions {
  // fds for the child's 0/1/2; -1 = /dev/null.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Collect the child's stdout into Result::out instead (stdout_fd is then ignored).
  bool capture_stdout = false;
};

struct SpawnResult {
  int exit_code = 0;  // 128+signal for signal deaths
  std::string out;    // captured stdout, when asked for
};

// Runs argv[0] (searched in PATH) and waits for it. Internal on spawn failure; a non-zero exit
// is not an error here (look at exit_code).
StatusOr<SpawnResult> RunAndWait(const std::vector<std::string>& argv, const SpawnOptions& opts);

// Decodes a waitpid status: exit code, or 128+signal.
int ExitCodeFromWaitStatus(int status);

}  // namespace berth::shim
