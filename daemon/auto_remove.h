// docker's `run --rm -d` in berthd: a container labelled berth/auto-remove=true is removed by
// berthd itself once its task's init process exits, whoever is (or is not) watching: the task is
// deleted (shim, bundle, rootfs mount), then the container's snapshot, then the container record,
// publishing /containers/delete as the Containers service does. It acts on /tasks/exit events
// from the exchange, so an exit that happened while berthd was down is handled when the shim's
// queued event arrives after the restart, and a start-up sweep catches the rest.
#pragma once

#include <cstdint>
#include <string>

namespace berth::daemon {

struct Daemon;

inline constexpr char kAutoRemoveLabel[] = "berth/auto-remove";

class AutoRemover {
 public:
  explicit AutoRemover(Daemon& d);
  ~AutoRemover();
  AutoRemover(const AutoRemover&) = delete;
  AutoRemover& operator=(const AutoRemover&) = delete;

 private:
  void Remove(const std::string& ns, const std::string& id);
  // At start-up: removes labelled containers whose task is gone or stopped.
  void Sweep();
  Daemon& d_;
  uint64_t subscription_ = 0;
};

}  // namespace berth::daemon
