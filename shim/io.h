// Stdio of one container process (init or exec), copied on the shim's single Asio loop.
//
// The client names stdin/stdout/stderr as FIFO paths it created (ctr opens its ends first),
// as "file:///path" (appended to), or "" (nothing: /dev/null). For FIFOs the shim opens
// stdout/stderr write-only plus once read-only as a keepalive (so the client closing its end
// never makes the container see EPIPE), and stdin read-only non-blocking plus a keepalive
// writer that CloseIO drops (the copy then ends at EOF and the container's stdin is closed).
// Without a terminal the container gets pipes; with one, runc sends the pty master over a
// console socket (SCM_RIGHTS) and the shim copies stdin -> master -> stdout.
//
// Lifecycle: Create() before runc create/exec (it provides child_stdio() or
// console_socket()); after runc returned call Started() (closes the child ends, receives the
// pty master, starts copying). When the process exits, WhenDrained() calls back once every
// output copy reached EOF or after a bound (a daemonised child may keep the pipe). Loop thread
// only; no thread per process, one small buffer per active copy.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/status.h"
#include "common/unique_fd.h"
#include "shim/runc.h"

namespace berth::shim {

struct StdioConfig {
  std::string stdin_path, stdout_path, stderr_path;
  bool terminal = false;
};

class Pump;

class ProcessIO {
 public:
  // Opens the FIFOs/files and creates pipes or the console socket. The container-side pipe
  // ends are owned by io_uid:io_gid (Options.IoUid/IoGid, for containers whose root is not
  // host root), as containerd's shim does. Unimplemented for binary:// URIs, errno statuses
  // for open/pipe/socket/chown failures.
  static StatusOr<std::unique_ptr<ProcessIO>> Create(boost::asio::io_context& io,
                                                     const StdioConfig& cfg,
                                                     uint32_t io_uid = 0, uint32_t io_gid = 0);
  ~ProcessIO();

  // fds to hand to runc as its 0/1/2 (without a terminal).
  RuncStdio child_stdio() const;
  // Path for runc --console-socket ("" without a terminal).
  const std::string& console_socket() const { return console_path_; }

  // After runc returned successfully: closes the child-side fds, receives the pty master when
  // there is a terminal (FailedPrecondition if runc sent none) and starts copying.
  Status Started();
  // Drops the stdin keepalive: the stdin copy ends once the client's writer is gone.
  void CloseStdin();
  // TIOCSWINSZ on the pty master (remembered until the master arrives). Without a terminal it
  // does nothing and succeeds, as containerd's shim does.
  Status Resize(uint32_t width, uint32_t height);
  // Runs `done` once all output copies finished, or after `bound`, whichever is first.
  void WhenDrained(std::chrono::milliseconds bound, std::function<void()> done);

 private:
  ProcessIO(boost::asio::io_context& io) : io_(io) {}
  Status OpenOutput(const std::string& path, UniqueFd* dst, UniqueFd* keepalive, bool* is_file);
  void OnPumpDone();

  boost::asio::io_context& io_;
  StdioConfig cfg_;
  // Client side.
  UniqueFd stdin_fifo_, stdin_keepalive_;
  UniqueFd stdout_dst_, stdout_keep_, stderr_dst_, stderr_keep_;
  bool stdout_is_file_ = false, stderr_is_file_ = false;
  // Container side (pipes): our ends and the child's.
  UniqueFd stdin_w_, stdout_r_, stderr_r_;
  UniqueFd child_in_, child_out_, child_err_;
  // Terminal.
  std::string console_dir_, console_path_;
  UniqueFd console_listener_, master_;
  std::optional<std::pair<uint32_t, uint32_t>> pending_size_;
  std::shared_ptr<Pump> in_pump_, out_pump_, err_pump_;
  int active_outputs_ = 0;
  std::vector<std::function<void()>> drained_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Opens a FIFO end without blocking on a missing peer (O_NONBLOCK for read-only; for
// write-only the caller must hold a reader first). Exposed for tests.
StatusOr<UniqueFd> OpenFifo(const std::string& path, int flags);

}  // namespace berth::shim
