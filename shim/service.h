// TaskService: the containerd.task.v2.Task ttrpc service of containerd-shim-berth-v2 for one
// container (the shim's -id), all 17 methods. Drives runc (runc.h), owns the processes
// (process.h) and their stdio (io.h), turns reaped exits into state changes, exit files and
// /tasks/* events (events.h).
//
// Requests name the container by id: another id -> NotFound. Codes: NotFound (no such
// container/exec), AlreadyExists (second Create, duplicate exec id), FailedPrecondition
// (invalid state transition), InvalidArgument (undecodable Any), Unimplemented (Checkpoint,
// binary:// URIs), Internal (runc failures, message = runc's last error).
//
// Exit file: when the init process exits the shim writes <bundle>/exit.json atomically:
//   {"pid": 1234, "exit_status": 137, "exited_at_ns": 1700000000000000000}
// so a restarted daemon (or the `delete` action) learns the status even if the shim is gone.
//
// Threading: everything runs on the shim's single io_context thread. runc calls are
// synchronous (see spawn.h); Wait is answered asynchronously when the exit is reported.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "containerd/runtime/v2/task/shim.pb.h"
#include "google/protobuf/empty.pb.h"
#include "shim/events.h"
#include "shim/process.h"
#include "shim/runc.h"
#include "ttrpc/server.h"

namespace berth::shim {

struct ServiceConfig {
  std::string ns, id, bundle;
  std::string runc_root_base = "/run/containerd/runc";  // + /<ns> unless Options.root is set
};

// The runtime options a shim understands (containerd.runc.v1.Options subset), kept in
// <bundle>/options.json.
struct RuntimeOptions {
  std::string binary_name = "runc";
  std::string root;  // runc --root; default <runc_root_base>/<ns>
  bool systemd_cgroup = false, no_pivot_root = false, no_new_keyring = false;
  std::string shim_cgroup;
};

// Decodes an Any holding containerd.runc.v1.Options (empty value allowed). InvalidArgument
// for another type or bad bytes.
StatusOr<RuntimeOptions> OptionsFromAny(const std::string& type_url, const std::string& value);
std::string OptionsToJson(const RuntimeOptions& o);
RuntimeOptions OptionsFromJson(const std::string& json);

namespace task = containerd::task::v2;
using Empty = google::protobuf::Empty;

class TaskService {
 public:
  TaskService(boost::asio::io_context& io, ServiceConfig cfg, EventForwarder* events,
              std::function<void()> exit_shim);
  ~TaskService();

  // Registers the 17 methods on `server`.
  void Register(ttrpc::Server& server);
  // Reaper callback.
  void OnExit(int pid, int exit_code);

  StatusOr<task::CreateTaskResponse> Create(const task::CreateTaskRequest& r);
  StatusOr<task::StartResponse> Start(const task::StartRequest& r);
  StatusOr<task::DeleteResponse> Delete(const task::DeleteRequest& r);
  StatusOr<Empty> Exec(const task::ExecProcessRequest& r);
  void Wait(const task::WaitRequest& r, ttrpc::Responder done);
  StatusOr<task::StateResponse> State(const task::StateRequest& r);
  StatusOr<Empty> Kill(const task::KillRequest& r);
  StatusOr<task::PidsResponse> Pids(const task::PidsRequest& r);
  StatusOr<Empty> Pause(const task::PauseRequest& r);
  StatusOr<Empty> Resume(const task::ResumeRequest& r);
  StatusOr<Empty> Checkpoint(const task::CheckpointTaskRequest& r);
  StatusOr<Empty> ResizePty(const task::ResizePtyRequest& r);
  StatusOr<Empty> CloseIO(const task::CloseIORequest& r);
  StatusOr<Empty> Update(const task::UpdateTaskRequest& r);
  StatusOr<task::StatsResponse> Stats(const task::StatsRequest& r);
  StatusOr<task::ConnectResponse> Connect(const task::ConnectRequest& r);
  StatusOr<Empty> Shutdown(const task::ShutdownRequest& r);

 private:
  // The process named by (id, exec_id): NotFound when unknown.
  StatusOr<Process*> Find(const std::string& id, const std::string& exec_id);
  Status CheckId(const std::string& id) const;
  Runc MakeRunc() const;
  // Records the pid of a just-started process, handling an exit reaped before it was known.
  void Track(Process* p, int pid);
  void ReportExit(Process* p);
  void Publish(const std::string& topic, const std::string& type,
               const google::protobuf::MessageLite& m);
  std::string BundlePath(const std::string& name) const;

  boost::asio::io_context& io_;
  ServiceConfig cfg_;
  EventForwarder* events_;
  std::function<void()> exit_shim_;
  RuntimeOptions opts_;
  std::unique_ptr<Process> init_;
  std::map<std::string, std::unique_ptr<Process>> execs_;
  std::map<int, int> early_exits_;  // pid -> exit code, reaped before Track()
  bool rootfs_mounted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth::shim
