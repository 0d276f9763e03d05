// RefLocks: the in-process table of refs held by a writer, as containerd's content/local/locks.go.
// A ref is held from the moment its writer opens until it commits, closes or is destroyed; a
// second TryLock of a held ref is Unavailable with containerd's message
//   "ref <ref> locked for <held for> (since <time taken>): unavailable"
// so a dead lock (long duration) can be told from contention (short). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "common/status.h"

namespace berth::content {

class RefLocks {
 public:
  // Takes `ref`; Unavailable (message above) when it is held already.
  Status TryLock(const std::string& ref);
  // Takes `ref`, retrying a held one a few times with short random back-offs (at most about one
  // second in all) as containerd's store does, so a writer racing the previous writer's release
  // (a client reconnecting at once) still gets it. The last Unavailable otherwise.
  Status LockWithRetry(const std::string& ref);
  void Unlock(const std::string& ref);
  bool IsLocked(const std::string& ref);

 private:
  std::mutex mu_;
  std::map<std::string, int64_t> held_;  // ref -> taken at (ns since the epoch); guarded by mu_
};

// Go's time.Duration.String() form ("1.5s", "2m3.25s", "12.5ms", "800µs", "0s").
std::string FormatGoDuration(int64_t ns);
// Go's time.Time.String() form in UTC ("2026-12-01 23:18:35.123456789 +0000 UTC").
std::string FormatGoTime(int64_t unix_ns);

}  // namespace berth::content
