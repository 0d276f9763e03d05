// TaskService: the methods that inspect or signal existing processes, plus registration.
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/log.h"
#include "containerd/events/task.pb.h"
#include "containerd/runc/options/oci.pb.h"
#include "shim/service.h"
#include "shim/stats.h"

namespace berth::shim {

namespace {
constexpr char kService[] = "containerd.task.v2.Task";
}  // namespace

StatusOr<task::StateResponse> TaskService::State(const task::StateRequest& r) {
  ASSIGN_OR_RETURN(Process * p, Find(r.id(), r.exec_id()));
  task::StateResponse resp;
  resp.set_id(p->is_init() ? cfg_.id : p->exec_id());
  resp.set_bundle(cfg_.bundle);
  resp.set_pid(static_cast<uint32_t>(p->pid));
  resp.set_status(ToProtoStatus(p->state()));
  resp.set_stdin(p->stdio().stdin_path);
  resp.set_stdout(p->stdio().stdout_path);
  resp.set_stderr(p->stdio().stderr_path);
  resp.set_terminal(p->stdio().terminal);
  resp.set_exit_status(p->exit_status);
  if (p->state() == ProcState::kStopped) {
    resp.mutable_exited_at()->set_seconds(p->exited_at_ns / 1000000000);
    resp.mutable_exited_at()->set_nanos(static_cast<int32_t>(p->exited_at_ns % 1000000000));
  }
  resp.set_exec_id(p->exec_id());
  return resp;
}

StatusOr<Empty> TaskService::Kill(const task::KillRequest& r) {
  ASSIGN_OR_RETURN(Process * p, Find(r.id(), r.exec_id()));
  if (p->state() == ProcState::kStopped || p->state() == ProcState::kDeleted || p->exit_pending) {
    return absl::NotFoundError(StrCat(p->name(), ": process already finished"));
  }
  if (p->is_init()) {
    RETURN_IF_ERROR(MakeRunc().Kill(cfg_.id, static_cast<int>(r.signal()), r.all()));
    return Empty();
  }
  if (p->pid <= 0) return absl::FailedPreconditionError(StrCat(p->name(), ": not started"));
  if (::kill(p->pid, static_cast<int>(r.signal())) != 0) {
    return ErrnoStatus(errno, StrCat("kill ", p->name()));
  }
  return Empty();
}

StatusOr<task::PidsResponse> TaskService::Pids(const task::PidsRequest& r) {
  ASSIGN_OR_RETURN(Process * init, Find(r.id(), ""));
  (void)init;
  ASSIGN_OR_RETURN(std::vector<int> pids, MakeRunc().Ps(cfg_.id));
  task::PidsResponse resp;
  for (int pid : pids) {
    auto* info = resp.add_processes();
    info->set_pid(static_cast<uint32_t>(pid));
    for (const auto& [id, e] : execs_) {
      if (e->pid == pid) {
        containerd::runc::v1::ProcessDetails d;
        d.set_exec_id(id);
        info->mutable_info()->set_type_url("containerd.runc.v1.ProcessDetails");
        info->mutable_info()->set_value(d.SerializeAsString());
      }
    }
  }
  return resp;
}

StatusOr<Empty> TaskService::Pause(const task::PauseRequest& r) {
  ASSIGN_OR_RETURN(Process * p, Find(r.id(), ""));
  RETURN_IF_ERROR(CheckTransition(p->name(), p->state(), ProcState::kPaused));
  RETURN_IF_ERROR(MakeRunc().Pause(cfg_.id));
  RETURN_IF_ERROR(p->SetState(ProcState::kPaused));
  containerd::events::TaskPaused ev;
  ev.set_container_id(cfg_.id);
  Publish("/tasks/paused", "containerd.events.TaskPaused", ev);
  return Empty();
}

StatusOr<Empty> TaskService::Resume(const task::ResumeRequest& r) {
  ASSIGN_OR_RETURN(Process * p, Find(r.id(), ""));
  if (p->state() != ProcState::kPaused) {
    return absl::FailedPreconditionError(
        StrCat(p->name(), " is ", ProcStateName(p->state()), ": cannot resume"));
  }
  RETURN_IF_ERROR(MakeRunc().Resume(cfg_.id));
  RETURN_IF_ERROR(p->SetState(ProcState::kRunning));
  containerd::events::TaskResumed ev;
  ev.set_container_id(cfg_.id);
  Publish("/tasks/resumed", "containerd.events.TaskResumed", ev);
  return Empty();
}

StatusOr<Empty> TaskService::Checkpoint(const task::CheckpointTaskRequest& r) {
  RETURN_IF_ERROR(CheckId(r.id()));
  return absl::UnimplementedError("berth shim: checkpoint is not implemented (no CRIU support)");
}

StatusOr<Empty> TaskService::ResizePty(const task::ResizePtyRequest& r) {
  ASSIGN_OR_RETURN(Process * p, Find(r.id(), r.exec_id()));
  if (!p->io) return absl::FailedPreconditionError(StrCat(p->name(), ": no io"));
  RETURN_IF_ERROR(p->io->Resize(r.width(), r.height()));
  return Empty();
}

StatusOr<Empty> TaskService::CloseIO(const task::CloseIORequest& r) {
  ASSIGN_OR_RETURN(Process * p, Find(r.id(), r.exec_id()));
  if (r.stdin() && p->io) p->io->CloseStdin();
  return Empty();
}

StatusOr<Empty> TaskService::Update(const task::UpdateTaskRequest& r) {
  ASSIGN_OR_RETURN(Process * p, Find(r.id(), ""));
  (void)p;
  std::string path = BundlePath("update-resources.json");
  RETURN_IF_ERROR(WriteFileAtomic(path, r.resources().value(), 0600));
  Status st = MakeRunc().Update(cfg_.id, path);
  ::unlink(path.c_str());
  RETURN_IF_ERROR(st);
  return Empty();
}

StatusOr<task::StatsResponse> TaskService::Stats(const task::StatsRequest& r) {
  ASSIGN_OR_RETURN(Process * p, Find(r.id(), ""));
  if (p->pid <= 0) return absl::FailedPreconditionError("container has no process");
  task::StatsResponse resp;
  RETURN_IF_ERROR(CollectCgroupStats(p->pid, resp.mutable_stats()));
  return resp;
}

StatusOr<task::ConnectResponse> TaskService::Connect(const task::ConnectRequest& r) {
  RETURN_IF_ERROR(CheckId(r.id()));
  task::ConnectResponse resp;
  resp.set_shim_pid(static_cast<uint32_t>(::getpid()));
  if (init_) resp.set_task_pid(static_cast<uint32_t>(init_->pid));
  return resp;
}

StatusOr<Empty> TaskService::Shutdown(const task::ShutdownRequest& r) {
  RETURN_IF_ERROR(CheckId(r.id()));
  // Like containerd-shim-runc-v2: stay while the container exists, unless told `now`.
  if (init_ && !r.now()) return Empty();
  if (exit_shim_) exit_shim_();
  return Empty();
}

namespace {

template <typename Req, typename Resp>
void Bind(ttrpc::Server& s, TaskService* svc, const char* method,
          StatusOr<Resp> (TaskService::*fn)(const Req&)) {
  s.Register(kService, method,
             [svc, fn, method](const ttrpc::CallContext&, std::string payload,
                               ttrpc::Responder done) {
               Req req;
               if (!req.ParseFromString(payload)) {
                 done(absl::InvalidArgumentError(StrCat("cannot decode ", method, " request")));
                 return;
               }
               StatusOr<Resp> r = (svc->*fn)(req);
               if (!r.ok()) {
                 BLOG(Debug) << method << ": " << r.status();
                 done(r.status());
               } else {
                 done(r->SerializeAsString());
               }
             });
}

}  // namespace

void TaskService::Register(ttrpc::Server& s) {
  Bind(s, this, "State", &TaskService::State);
  Bind(s, this, "Create", &TaskService::Create);
  Bind(s, this, "Start", &TaskService::Start);
  Bind(s, this, "Delete", &TaskService::Delete);
  Bind(s, this, "Pids", &TaskService::Pids);
  Bind(s, this, "Pause", &TaskService::Pause);
  Bind(s, this, "Resume", &TaskService::Resume);
  Bind(s, this, "Checkpoint", &TaskService::Checkpoint);
  Bind(s, this, "Kill", &TaskService::Kill);
  Bind(s, this, "Exec", &TaskService::Exec);
  Bind(s, this, "ResizePty", &TaskService::ResizePty);
  Bind(s, this, "CloseIO", &TaskService::CloseIO);
  Bind(s, this, "Update", &TaskService::Update);
  Bind(s, this, "Stats", &TaskService::Stats);
  Bind(s, this, "Connect", &TaskService::Connect);
  Bind(s, this, "Shutdown", &TaskService::Shutdown);
  s.Register(kService, "Wait",
             [this](const ttrpc::CallContext&, std::string payload, ttrpc::Responder done) {
               task::WaitRequest req;
               if (!req.ParseFromString(payload)) {
                 done(absl::InvalidArgumentError("cannot decode Wait request"));
                 return;
               }
               Wait(req, std::move(done));
             });
}

StatusOr<RuntimeOptions> OptionsFromAny(const std::string& type_url, const std::string& value) {
  RuntimeOptions o;
  if (type_url.empty() && value.empty()) return o;
  std::string_view t = type_url;
  if (size_t slash = t.rfind('/'); slash != std::string_view::npos) t.remove_prefix(slash + 1);
  if (t != "containerd.runc.v1.Options" && t != "containerd.runc.v1.CheckpointOptions" &&
      t != "io.containerd.runc.v1.Options") {
    return absl::InvalidArgumentError(StrCat("unsupported runtime options type \"", type_url, "\""));
  }
  containerd::runc::v1::Options pb;
  if (!pb.ParseFromString(value)) return absl::InvalidArgumentError("cannot decode runtime options");
  if (!pb.binary_name().empty()) o.binary_name = pb.binary_name();
  o.root = pb.root();
  o.systemd_cgroup = pb.systemd_cgroup();
  o.no_pivot_root = pb.no_pivot_root();
  o.no_new_keyring = pb.no_new_keyring();
  o.shim_cgroup = pb.shim_cgroup();
  return o;
}

std::string OptionsToJson(const RuntimeOptions& o) {
  nlohmann::json j = {{"binary_name", o.binary_name},     {"root", o.root},
                      {"systemd_cgroup", o.systemd_cgroup}, {"no_pivot_root", o.no_pivot_root},
                      {"no_new_keyring", o.no_new_keyring}, {"shim_cgroup", o.shim_cgroup}};
  return j.dump() + "\n";
}

RuntimeOptions OptionsFromJson(const std::string& json) {
  RuntimeOptions o;
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return o;
  try {
    o.binary_name = j.value("binary_name", std::string("runc"));
  if (o.binary_name.empty()) o.binary_name = "runc";
  o.root = j.value("root", std::string());
  o.systemd_cgroup = j.value("systemd_cgroup", false);
  o.no_pivot_root = j.value("no_pivot_root", false);
  o.no_new_keyring = j.value("no_new_keyring", false);
    o.shim_cgroup = j.value("shim_cgroup", std::string());
  } catch (const nlohmann::json::exception&) {
    return RuntimeOptions();
  }
  return o;
}

}  // namespace berth::shim
