// LogDrainer: keeps every shim's `log` FIFO drained, copying its lines into berthd's log.
//
// A shim opens <bundle>/log write-only and blocking: it would hang if nobody held the FIFO open
// for reading, and its writes would block once the pipe filled. berthd opens each FIFO
// O_RDWR|O_NONBLOCK before starting (or reconnecting to) the shim and hands the fd here; one
// thread with epoll reads all of them, so 50 containers cost one thread.
//
// Thread-safety: Add/Remove may be called from any thread.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::runtime {

class LogDrainer {
 public:
  LogDrainer();
  ~LogDrainer();
  LogDrainer(const LogDrainer&) = delete;
  LogDrainer& operator=(const LogDrainer&) = delete;

  // Takes ownership of `fd` and logs each line read from it as "shim <tag>: <line>".
  void Add(UniqueFd fd, const std::string& tag);
  // Stops draining and closes the fd registered under `tag` (after a last non-blocking read).
  void Remove(const std::string& tag);

 private:
  struct Source {
    UniqueFd fd;
    std::string tag;
    std::string partial;
  };
  void Run();
  void Drain(Source& s, bool flush);

  UniqueFd epoll_;
  UniqueFd wake_;  // eventfd to stop the thread
  std::mutex mu_;
  std::map<int, Source> sources_;  // by fd
  std::thread thread_;
};

}  // namespace berth::runtime
