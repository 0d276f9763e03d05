// TaskManager: the runtime v2 task manager. A task is a container's running instance, executed
// by one shim process that outlives berthd; this class owns the bundle and the shim connection
// of every task, keyed by (namespace, container id).
//
// Lifecycle of a task:
//   Create: bundle (config.json from the container's spec) -> log FIFO opened and drained ->
//           shim `start` (binary from the runtime name) -> ttrpc connect -> shim Create.
//   calls:  Tasks/* map onto shim calls (the daemon's Tasks service does the mapping).
//   Delete: shim Delete -> forget the task -> shim Shutdown -> close -> remove the bundle; when the
//           shim is already gone, its `delete` action cleans up instead.
//   shim death: when a shim's connection closes while its task is registered, the `delete`
//           action runs, /tasks/exit and /tasks/delete are published and the task is forgotten.
//   berthd restart: LoadExisting() reconnects to every bundle's shim by its `address` file and
//           cleans up after the dead ones the same way; a live shim without its task (berthd
//           was killed before its Create finished) is shut down and cleaned up likewise, with
//           no events (no task was ever reported).
//
// Thread-safety: all methods are safe from any thread. The task map has one mutex, never held
// across a shim call or process spawn; creation of an id is reserved first so concurrent creates
// of the same id get AlreadyExists.
#pragma once

#include <google/protobuf/message.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "runtime/bundle.h"
#include "runtime/log_drainer.h"
#include "runtime/shim_binary.h"
#include "runtime/shim_client.h"

namespace berth::runtime {

inline constexpr char kDefaultRuntime[] = "io.containerd.berth.v2";

struct TaskManagerOptions {
  std::string root;   // daemon root (work directories)
  std::string state;  // daemon state (bundles)
  ShimEnv env;
  std::string default_runtime = kDefaultRuntime;
  // Runtime name -> shim binary (berthd's [runtimes] table); see ResolveShimBinary.
  std::map<std::string, std::string> runtime_shims;
};

// Publishes (namespace, topic, event) on the daemon's exchange.
using EventPublisher =
    std::function<void(const std::string& ns, const std::string& topic, const google::protobuf::Message& event)>;
// Runs blocking work off the calling thread (the daemon's pool).
using Executor = std::function<void(std::function<void()>)>;

// One registered task. The shim client stays valid as long as the Task is referenced.
class Task {
 public:
  Task(Bundle bundle, std::string runtime, std::string shim_binary, std::unique_ptr<ShimClient> shim)
      : bundle_(std::move(bundle)), runtime_(std::move(runtime)), shim_binary_(std::move(shim_binary)),
        shim_(std::move(shim)) {}
  const std::string& ns() const { return bundle_.ns; }
  const std::string& id() const { return bundle_.id; }
  const Bundle& bundle() const { return bundle_; }
  const std::string& runtime() const { return runtime_; }
  const std::string& shim_binary() const { return shim_binary_; }
  ShimClient& shim() { return *shim_; }
  // The init pid returned by the shim's Create (0 for a task reconnected after a restart).
  uint32_t pid() const { return pid_; }

 private:
  friend class TaskManager;
  Bundle bundle_;
  std::string runtime_;
  std::string shim_binary_;
  std::unique_ptr<ShimClient> shim_;
  bool deleting_ = false;  // guarded by TaskManager::mu_
  uint32_t pid_ = 0;
};

struct CreateTaskParams {
  std::string ns;
  std::string id;
  std::string runtime;      // "" = default runtime
  std::string spec_json;    // config.json
  std::string options_any;  // encoded google.protobuf.Any for the shim's stdin ("" = none)
  // rootfs, stdio, terminal, options (id and bundle are filled in here).
  containerd::task::v2::CreateTaskRequest request;
};

class TaskManager {
 public:
  TaskManager(TaskManagerOptions opts, EventPublisher publish, Executor executor);
  ~TaskManager();

  // Reconnects to the shims of every bundle under the state directory; cleans up dead ones.
  // Errors for single bundles are logged, not returned.
  void LoadExisting();

  // AlreadyExists when a task of that id exists; NotFound when the runtime's shim binary is not
  // installed; the shim's error (its code) when start or Create fail, after cleaning up.
  StatusOr<std::shared_ptr<Task>> Create(CreateTaskParams p);
  // NotFound "task <id> not found".
  StatusOr<std::shared_ptr<Task>> Get(const std::string& ns, const std::string& id);
  std::vector<std::shared_ptr<Task>> List(const std::string& ns);
  // Deletes the task: the shim's Delete answer (pid, exit status, time). NotFound when unknown;
  // the shim's error (e.g. FailedPrecondition while running) leaves the task in place.
  StatusOr<containerd::task::v2::DeleteResponse> Delete(const std::string& ns, const std::string& id);

 private:
  using Key = std::pair<std::string, std::string>;
  StatusOr<std::shared_ptr<Task>> Launch(const Bundle& b, const std::string& runtime, const std::string& binary,
                                         const std::string& options_any);
  std::function<void()> OnShimClosed(const std::string& ns, const std::string& id);
  // Runs the shim's delete action, publishes the exit and delete events (when `publish`) and
  // removes the bundle.
  void CleanupDeadShim(const Bundle& b, const std::string& binary, bool publish);
  void Shutdown(Task& t);

  TaskManagerOptions opts_;
  EventPublisher publish_;
  Executor executor_;
  LogDrainer logs_;
  std::mutex mu_;
  std::map<Key, std::shared_ptr<Task>> tasks_;  // null value = being created
  bool closing_ = false;
};

}  // namespace berth::runtime
