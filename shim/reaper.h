// Reaper: the shim is a child subreaper (PR_SET_CHILD_SUBREAPER), so container processes whose
// parent (runc) exits become its children. SIGCHLD is blocked and read from a signalfd on the
// Asio loop; each readiness drains waitpid(-1, WNOHANG) and reports every (pid, exit code)
// with 128+signal for signal deaths. Children the shim started itself (runc, via SpawnAsync)
// are registered with Expect() and their exits go to their own callbacks, never to the task
// service. Loop thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "common/status.h"
#include "shim/spawn.h"

namespace berth::shim {

class Reaper final : public ChildWaiter {
 public:
  using ExitFn = std::function<void(int pid, int exit_code)>;

  // Blocks SIGCHLD in this (single-threaded) process and creates the signalfd.
  static StatusOr<std::unique_ptr<Reaper>> Create(boost::asio::io_context& io, ExitFn on_exit);
  // Starts watching; also reaps anything that exited before.
  void Start();
  // Reaps every exited child now.
  void ReapAll();
  // ChildWaiter: `on_exit` runs (on the loop) when `pid` is reaped.
  void Expect(pid_t pid, std::function<void(int exit_code)> on_exit) override;

 private:
  Reaper(boost::asio::io_context& io, int sfd, ExitFn fn) : sfd_(io, sfd), on_exit_(std::move(fn)) {}
  void Wait();

  boost::asio::posix::stream_descriptor sfd_;
  ExitFn on_exit_;
  std::map<pid_t, std::function<void(int)>> expected_;
};

// PR_SET_CHILD_SUBREAPER on the calling process.
Status BecomeSubreaper();

}  // namespace berth::shim
