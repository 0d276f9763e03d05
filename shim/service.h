// TaskService: the containerd.task.v2.Task ttrpc service of containerd-shim-berth-v2 for one
// container (the shim's -id), all 17 methods, with containerd-shim-runc-v2's semantics. Drives
// the OCI runtime (runc.h), owns the processes (process.h) and their stdio (io.h), turns reaped
// exits into state changes, exit files and /tasks/* events (events.h).
//
// Requests name the container by id: another id -> NotFound. Codes: NotFound (no such
// container/exec; kill of a process that has exited or whose runtime state is gone),
// AlreadyExists (second Create, duplicate exec id), FailedPrecondition (invalid state
// transition, a call racing a start or delete of the same process), InvalidArgument
// (undecodable Any), Unimplemented (Checkpoint, binary:// URIs), Internal (runtime failures,
// message = the runtime's last error).
//
// Events: exactly one /tasks/exit per started process (init and exec), after its /tasks/start
// or /tasks/exec-started, preceded by /tasks/oom when the OOM killer hit; none for a process
// whose start failed (the error comes back from Start alone). When init exits in a container
// without a PID namespace of its own, every process left in it is killed first (kill --all),
// as containerd does.
//
// Exit file: when the init process exits the shim writes <bundle>/exit.json atomically:
//   {"pid": 1234, "exit_status": 137, "exited_at_ns": 1700000000000000000}
// so a restarted daemon (or the `delete` action) learns the status even if the shim is gone.
//
// Threading: everything runs on the shim's single io_context thread. Every runtime invocation
// is asynchronous (the Runner), so a slow create or exec never delays calls about other
// processes; replies to such calls are sent when the runtime finished.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "containerd/runtime/v2/task/shim.pb.h"
#include "google/protobuf/empty.pb.h"
#include "shim/events.h"
#include "shim/oom.h"
#include "shim/options.h"
#include "shim/process.h"
#include "shim/runc.h"
#include "ttrpc/server.h"

namespace berth::shim {

struct ServiceConfig {
  std::string ns, id, bundle;
  std::string runc_root_base = "/run/containerd/runc";  // Options.root replaces it; + /<ns>
};

namespace task = containerd::task::v2;
using Empty = google::protobuf::Empty;

template <typename T>
using Reply = std::function<void(StatusOr<T>)>;

class TaskService {
 public:
  // `runner` runs runtime commands (SpawnAsync on the shim's Reaper in production).
  TaskService(boost::asio::io_context& io, ServiceConfig cfg, EventForwarder* events,
              std::function<void()> exit_shim, Runner runner);
  ~TaskService();

  // Registers the 17 methods on `server`.
  void Register(ttrpc::Server& server);
  // Reaper callback for container processes.
  void OnExit(int pid, int exit_code);

  void Create(const task::CreateTaskRequest& r, Reply<task::CreateTaskResponse> done);
  void Start(const task::StartRequest& r, Reply<task::StartResponse> done);
  void Delete(const task::DeleteRequest& r, Reply<task::DeleteResponse> done);
  StatusOr<Empty> Exec(const task::ExecProcessRequest& r);
  void Wait(const task::WaitRequest& r, ttrpc::Responder done);
  StatusOr<task::StateResponse> State(const task::StateRequest& r);
  void Kill(const task::KillRequest& r, Reply<Empty> done);
  void Pids(const task::PidsRequest& r, Reply<task::PidsResponse> done);
  void Pause(const task::PauseRequest& r, Reply<Empty> done);
  void Resume(const task::ResumeRequest& r, Reply<Empty> done);
  StatusOr<Empty> Checkpoint(const task::CheckpointTaskRequest& r);
  StatusOr<Empty> ResizePty(const task::ResizePtyRequest& r);
  StatusOr<Empty> CloseIO(const task::CloseIORequest& r);
  void Update(const task::UpdateTaskRequest& r, Reply<Empty> done);
  StatusOr<task::StatsResponse> Stats(const task::StatsRequest& r);
  StatusOr<task::ConnectResponse> Connect(const task::ConnectRequest& r);
  StatusOr<Empty> Shutdown(const task::ShutdownRequest& r);

  const RuntimeOptions& options() const { return opts_; }

 private:
  // The process named by (id, exec_id): NotFound when unknown.
  StatusOr<Process*> Find(const std::string& id, const std::string& exec_id);
  Status CheckId(const std::string& id) const;
  Runc MakeRunc() const;
  // Create's second half, once the runtime's create returned.
  void FinishCreate(Status st, const task::CreateTaskRequest& r,
                    Reply<task::CreateTaskResponse> done);
  void StartInit(Process* p, Reply<task::StartResponse> done);
  void StartExec(Process* p, Reply<task::StartResponse> done);
  // Publishes the start event, answers, then reports an exit that came in meanwhile.
  void FinishStart(Process* p, Reply<task::StartResponse> done);
  void FinishDelete(Process* p, Reply<task::DeleteResponse> done);
  // Records the pid of a just-started process, handling an exit reaped before it was known.
  void Track(Process* p, int pid);
  void ReportExit(Process* p);
  void Publish(const std::string& topic, const std::string& type,
               const google::protobuf::MessageLite& m);
  void UnmountRootfs();
  std::string BundlePath(const std::string& name) const;
  // Runs `fn` later on the loop unless the service is gone by then.
  std::function<void()> Guard(std::function<void()> fn) const;

  boost::asio::io_context& io_;
  ServiceConfig cfg_;
  EventForwarder* events_;
  std::function<void()> exit_shim_;
  Runner runner_;
  RuntimeOptions opts_;
  std::unique_ptr<Process> init_;
  bool creating_ = false;
  // Read from config.json at create: no PID namespace of its own -> kill --all when init exits.
  bool kill_all_on_exit_ = true;
  std::map<std::string, std::unique_ptr<Process>> execs_;
  std::map<int, int> early_exits_;  // pid -> exit code, reaped before Track()
  bool rootfs_mounted_ = false;
  std::unique_ptr<OomWatcher> oom_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// containerd's rule: kill every process of the container when init exits, unless the spec
// gives it a PID namespace of its own (a `pid` namespace without a path). An unreadable spec
// means yes.
bool ShouldKillAllOnExit(const std::string& config_json);

}  // namespace berth::shim
