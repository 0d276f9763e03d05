// The restart monitor (containerd's runtime/restart and runtime/restart/monitor): keeps labelled
// containers' tasks in the state their labels ask for. Every `interval` it scans each namespace's
// containers that carry containerd.io/restart.status, and
//   status=running  a task that is missing, created or stopped (not paused or pausing) is
//                   started again, when the restart policy allows it: the old task is killed
//                   (SIGKILL to all its processes), waited for and deleted, then a new one is
//                   created from the container (spec, runtime, snapshot mounts) and started, its
//                   stdout and stderr going to restart.loguri (file:///path, binary://...) or the
//                   legacy restart.logpath (a file), or nowhere when neither is set;
//   status=stopped  a task that is not stopped is killed, waited for and deleted.
// The policy labels are containerd 1.7's (containerd 1.6 has none: every labelled container is
// "always"): restart.policy "" or "always" restarts every time; "no" never; "on-failure[:N]" only
// after a non-zero exit and fewer than N restarts (restart.count); "unless-stopped" unless
// restart.explicitly-stopped is true. Each restart sets restart.count to one more than before.
// Task events are those of any task start (the shim publishes /tasks/create and /tasks/start).
//
// The decision is a pure function (DecideRestart); the actions go through RestartBackend, so the
// loop is tested with a fake and the daemon's backend (restart_monitor.cc) reuses the task
// creation that Tasks/Create uses (daemon/task_start.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace berth::daemon {

struct Daemon;

inline constexpr char kRestartStatusLabel[] = "containerd.io/restart.status";
inline constexpr char kRestartLogUriLabel[] = "containerd.io/restart.loguri";
inline constexpr char kRestartLogPathLabel[] = "containerd.io/restart.logpath";  // deprecated in containerd 1.5
inline constexpr char kRestartPolicyLabel[] = "containerd.io/restart.policy";
inline constexpr char kRestartCountLabel[] = "containerd.io/restart.count";
inline constexpr char kRestartExplicitlyStoppedLabel[] = "containerd.io/restart.explicitly-stopped";

// What the monitor sees of a container's task.
struct ObservedTask {
  enum class State { kMissing, kUnknown, kCreated, kRunning, kStopped, kPaused, kPausing };
  State state = State::kMissing;
  uint32_t exit_status = 0;
};

struct RestartDecision {
  enum class Action { kNone, kStart, kStop };
  Action action = Action::kNone;
  int count = 0;        // kStart: the restart.count to record
  std::string log_uri;  // kStart: stdout/stderr of the new task ("" = none)
  std::string why;      // for the log
};

using RestartLabels = std::map<std::string, std::string>;

// containerd's monitor rules for one container (see above). A malformed policy or log label is
// logged by the caller from `why` and decides kNone.
RestartDecision DecideRestart(const RestartLabels& labels, const ObservedTask& task);

// The stdio URI for a restarted task: restart.loguri as given (it must parse as scheme://...),
// else file://<restart.logpath> (an absolute path), else "". InvalidArgument otherwise.
StatusOr<std::string> RestartLogUri(const RestartLabels& labels);

// Go's time.ParseDuration for the config's `interval` ("10s", "1m30s", "500ms", "1.5h").
// InvalidArgument for anything else.
StatusOr<std::chrono::nanoseconds> ParseGoDuration(const std::string& text);

// What the monitor does to the world. Implementations are called from the monitor's threads.
class RestartBackend {
 public:
  struct Labelled {
    std::string id;
    RestartLabels labels;
  };
  virtual ~RestartBackend() = default;
  virtual StatusOr<std::vector<std::string>> Namespaces() = 0;
  // Containers of `ns` that carry the restart.status label.
  virtual StatusOr<std::vector<Labelled>> Containers(const std::string& ns) = 0;
  virtual ObservedTask Observe(const std::string& ns, const std::string& id) = 0;
  // Kills (SIGKILL, all processes), waits for and deletes the task; OK when there is none.
  virtual Status StopTask(const std::string& ns, const std::string& id) = 0;
  // Stops any old task as StopTask, then creates and starts a new one with `log_uri` as stdout
  // and stderr; records restart.count = `count` on the container first.
  virtual Status StartTask(const std::string& ns, const std::string& id, const std::string& log_uri, int count) = 0;
};

class RestartMonitor {
 public:
  // Starts the loop: a reconcile at once, then one every `interval` after the previous ended.
  RestartMonitor(RestartBackend& backend, std::chrono::nanoseconds interval);
  // Stops the loop (waits for a reconcile in progress).
  ~RestartMonitor();
  RestartMonitor(const RestartMonitor&) = delete;
  RestartMonitor& operator=(const RestartMonitor&) = delete;

  // One pass over every namespace; changes are applied concurrently (a few at a time) and all
  // are done when this returns. Errors are logged. Returns how many changes were attempted.
  static int Reconcile(RestartBackend& backend);

 private:
  void Run();
  RestartBackend& backend_;
  std::chrono::nanoseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

// The daemon's backend: containers from the metadata store, tasks through the task manager.
std::unique_ptr<RestartBackend> NewDaemonRestartBackend(Daemon& d);

}  // namespace berth::daemon
