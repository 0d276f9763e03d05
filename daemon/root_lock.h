// An exclusive lock on berthd's root directory (flock on <root>/berthd.lock), held for the life
// of the process, so a second berthd on the same root refuses to start.
#pragma once

#include <string>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::daemon {

class RootLock {
 public:
  // Unavailable, naming the root and the holder's pid, when another process holds it.
  static StatusOr<RootLock> Acquire(const std::string& root);

 private:
  explicit RootLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace berth::daemon
