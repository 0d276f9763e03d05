// Running helper programs (runc) from the shim: posix_spawn with explicit stdio, an empty signal
// mask and default dispositions (the shim blocks SIGCHLD for its signalfd; children must not
// inherit that), optionally capturing stdout.
//
// Two ways to wait:
//  - SpawnAsync (the server): returns at once; the Reaper (a ChildWaiter) hands the child's
//    exit to its callback instead of to the task service, so a slow runc never holds up the
//    loop, and other processes' Kill/State/Wait/IO go on meanwhile. The pid is registered
//    before control returns to the loop, so the exit cannot be mistaken for a container's.
//  - RunAndWait (one-shot modes such as `delete`, and tests): waitpid on that one pid.
// Single-threaded use.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

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

using SpawnDone = std::function<void(StatusOr<SpawnResult>)>;

// Who reaps children the shim started itself: an expected pid's exit goes to `on_exit`
// (exit code, 128+signal) instead of being reported as a container process's.
class ChildWaiter {
 public:
  virtual ~ChildWaiter() = default;
  virtual void Expect(pid_t pid, std::function<void(int exit_code)> on_exit) = 0;
};

// Starts argv[0] (searched in PATH) and returns at once. `done` runs later on the loop, once the
// child was reaped and (when capturing) its stdout reached EOF; or at once with Internal when
// the spawn itself fails. A non-zero exit is not an error here (look at exit_code).
void SpawnAsync(boost::asio::io_context& io, ChildWaiter& waiter,
                const std::vector<std::string>& argv, const SpawnOptions& opts, SpawnDone done);

// Runs argv[0] and waits for it. Internal on spawn failure.
StatusOr<SpawnResult> RunAndWait(const std::vector<std::string>& argv, const SpawnOptions& opts);

// Decodes a waitpid status: exit code, or 128+signal.
int ExitCodeFromWaitStatus(int status);

}  // namespace berth::shim
