// TaskService: the methods that inspect, signal or change existing processes, plus registration.
#include <signal.h>
#include <unistd.h>

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
  resp.set_status(p->pausing ? containerd::v1::types::PAUSING : ToProtoStatus(p->state()));
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

void TaskService::Kill(const task::KillRequest& r, Reply<Empty> done) {
  StatusOr<Process*> found = Find(r.id(), r.exec_id());
  if (!found.ok()) return done(found.status());
  Process* p = *found;
  if (p->state() == ProcState::kDeleted) {
    return done(absl::NotFoundError(StrCat("cannot kill a deleted process: ", p->name())));
  }
  bool exited = p->state() == ProcState::kStopped || p->exit_pending;
  if (!p->is_init()) {
    // Execs are signalled directly (`all` does not apply), as containerd does.
    if (p->pid <= 0) {
      return done(absl::FailedPreconditionError(StrCat(p->name(), ": process not created")));
    }
    if (exited) return done(absl::NotFoundError(StrCat(p->name(), ": process already finished")));
    if (::kill(p->pid, static_cast<int>(r.signal())) != 0) {
      return done(KillError(ErrnoStatus(errno, StrCat("exec kill ", p->name()))));
    }
    return done(Empty());
  }
  // A stopped init can still be asked to signal what is left of the container (--all).
  if (exited && !r.all()) {
    return done(absl::NotFoundError(StrCat(p->name(), ": process already finished")));
  }
  MakeRunc().Kill(cfg_.id, static_cast<int>(r.signal()), r.all(), [done](Status st) {
    if (!st.ok()) return done(KillError(st));
    done(Empty());
  });
}

void TaskService::Pids(const task::PidsRequest& r, Reply<task::PidsResponse> done) {
  StatusOr<Process*> found = Find(r.id(), "");
  if (!found.ok()) return done(found.status());
  MakeRunc().Ps(cfg_.id, [this, alive = std::weak_ptr<bool>(alive_),
                          done](StatusOr<std::vector<int>> pids) {
    if (alive.expired()) return;
    if (!pids.ok()) return done(pids.status());
    task::PidsResponse resp;
    for (int pid : *pids) {
      auto* info = resp.add_processes();
      info->set_pid(static_cast<uint32_t>(pid));
      for (const auto& [id, e] : execs_) {
        if (e->pid != pid) continue;
        containerd::runc::v1::ProcessDetails d;
        d.set_exec_id(id);
        info->mutable_info()->set_type_url("containerd.runc.v1.ProcessDetails");
        info->mutable_info()->set_value(d.SerializeAsString());
        break;
      }
    }
    done(resp);
  });
}

void TaskService::Pause(const task::PauseRequest& r, Reply<Empty> done) {
  StatusOr<Process*> found = Find(r.id(), "");
  if (!found.ok()) return done(found.status());
  Process* p = *found;
  if (p->pausing) return done(absl::FailedPreconditionError("the container is being paused"));
  if (Status st = CheckTransition(p->name(), p->state(), ProcState::kPaused); !st.ok()) {
    return done(st);
  }
  p->pausing = true;
  MakeRunc().Pause(cfg_.id, [this, alive = std::weak_ptr<bool>(alive_), p, done](Status st) {
    if (alive.expired()) return;
    p->pausing = false;
    if (!st.ok()) return done(Annotate(st, "OCI runtime pause failed"));
    if (p->state() == ProcState::kRunning) (void)p->SetState(ProcState::kPaused);
    containerd::events::TaskPaused ev;
    ev.set_container_id(cfg_.id);
    Publish("/tasks/paused", "containerd.events.TaskPaused", ev);
    done(Empty());
  });
}

void TaskService::Resume(const task::ResumeRequest& r, Reply<Empty> done) {
  StatusOr<Process*> found = Find(r.id(), "");
  if (!found.ok()) return done(found.status());
  Process* p = *found;
  if (p->state() != ProcState::kPaused) {
    return done(absl::FailedPreconditionError(
        StrCat(p->name(), " is ", ProcStateName(p->state()), ": cannot resume")));
  }
  MakeRunc().Resume(cfg_.id, [this, alive = std::weak_ptr<bool>(alive_), p, done](Status st) {
    if (alive.expired()) return;
    if (!st.ok()) return done(Annotate(st, "OCI runtime resume failed"));
    if (p->state() == ProcState::kPaused) (void)p->SetState(ProcState::kRunning);
    containerd::events::TaskResumed ev;
    ev.set_container_id(cfg_.id);
    Publish("/tasks/resumed", "containerd.events.TaskResumed", ev);
    done(Empty());
  });
}

StatusOr<Empty> TaskService::Checkpoint(const task::CheckpointTaskRequest& r) {
  RETURN_IF_ERROR(CheckId(r.id()));
  return absl::UnimplementedError(
      "berth shim: checkpoint is not supported (no CRIU integration); use runtime "
      "io.containerd.runc.v2 with containerd-shim-runc-v2 for checkpoint/restore");
}

StatusOr<Empty> TaskService::ResizePty(const task::ResizePtyRequest& r) {
  ASSIGN_OR_RETURN(Process * p, Find(r.id(), r.exec_id()));
  if (!p->io) return Empty();
  RETURN_IF_ERROR(p->io->Resize(r.width(), r.height()));
  return Empty();
}

StatusOr<Empty> TaskService::CloseIO(const task::CloseIORequest& r) {
  ASSIGN_OR_RETURN(Process * p, Find(r.id(), r.exec_id()));
  if (r.stdin() && p->io) p->io->CloseStdin();
  return Empty();
}

void TaskService::Update(const task::UpdateTaskRequest& r, Reply<Empty> done) {
  StatusOr<Process*> found = Find(r.id(), "");
  if (!found.ok()) return done(found.status());
  Process* p = *found;
  if (p->state() == ProcState::kStopped || p->state() == ProcState::kDeleted || p->exit_pending) {
    return done(absl::FailedPreconditionError("cannot update a stopped container"));
  }
  std::string path = BundlePath("update-resources.json");
  if (Status st = WriteFileAtomic(path, r.resources().value(), 0600); !st.ok()) return done(st);
  MakeRunc().Update(cfg_.id, path, [path, done](Status st) {
    ::unlink(path.c_str());
    if (!st.ok()) return done(st);
    done(Empty());
  });
}

StatusOr<task::StatsResponse> TaskService::Stats(const task::StatsRequest& r) {
  ASSIGN_OR_RETURN(Process * p, Find(r.id(), ""));
  if (p->pid <= 0) return absl::NotFoundError("cgroup does not exist");
  task::StatsResponse resp;
  RETURN_IF_ERROR(CollectCgroupStats(p->pid, resp.mutable_stats()));
  return resp;
}

StatusOr<task::ConnectResponse> TaskService::Connect(const task::ConnectRequest& r) {
  task::ConnectResponse resp;
  resp.set_shim_pid(static_cast<uint32_t>(::getpid()));
  if (init_ && r.id() == cfg_.id) resp.set_task_pid(static_cast<uint32_t>(init_->pid));
  return resp;
}

StatusOr<Empty> TaskService::Shutdown(const task::ShutdownRequest& r) {
  // Like containerd-shim-runc-v2: stay while the container exists, unless told `now`.
  if ((init_ || creating_) && !r.now()) return Empty();
  if (exit_shim_) exit_shim_();
  return Empty();
}

namespace {

template <typename Req>
bool Decode(const std::string& payload, const char* method, Req* req, const ttrpc::Responder& done) {
  if (req->ParseFromString(payload)) return true;
  done(absl::InvalidArgumentError(StrCat("cannot decode ", method, " request")));
  return false;
}

template <typename Resp>
void Answer(const char* method, const StatusOr<Resp>& r, const ttrpc::Responder& done) {
  if (!r.ok()) {
    BLOG(Debug) << method << ": " << r.status();
    done(r.status());
  } else {
    done(r->SerializeAsString());
  }
}

// A method answered at once.
template <typename Req, typename Resp>
void Bind(ttrpc::Server& s, TaskService* svc, const char* method,
          StatusOr<Resp> (TaskService::*fn)(const Req&)) {
  s.Register(kService, method,
             [svc, fn, method](const ttrpc::CallContext&, std::string payload,
                               ttrpc::Responder done) {
               Req req;
               if (!Decode(payload, method, &req, done)) return;
               Answer(method, (svc->*fn)(req), done);
             });
}

// A method answered when the runtime finished.
template <typename Req, typename Resp>
void BindAsync(ttrpc::Server& s, TaskService* svc, const char* method,
               void (TaskService::*fn)(const Req&, Reply<Resp>)) {
  s.Register(kService, method,
             [svc, fn, method](const ttrpc::CallContext&, std::string payload,
                               ttrpc::Responder done) {
               Req req;
               if (!Decode(payload, method, &req, done)) return;
               (svc->*fn)(req, [method, done](StatusOr<Resp> r) { Answer(method, r, done); });
             });
}

}  // namespace

void TaskService::Register(ttrpc::Server& s) {
  Bind(s, this, "State", &TaskService::State);
  BindAsync(s, this, "Create", &TaskService::Create);
  BindAsync(s, this, "Start", &TaskService::Start);
  BindAsync(s, this, "Delete", &TaskService::Delete);
  BindAsync(s, this, "Pids", &TaskService::Pids);
  BindAsync(s, this, "Pause", &TaskService::Pause);
  BindAsync(s, this, "Resume", &TaskService::Resume);
  Bind(s, this, "Checkpoint", &TaskService::Checkpoint);
  BindAsync(s, this, "Kill", &TaskService::Kill);
  Bind(s, this, "Exec", &TaskService::Exec);
  Bind(s, this, "ResizePty", &TaskService::ResizePty);
  Bind(s, this, "CloseIO", &TaskService::CloseIO);
  BindAsync(s, this, "Update", &TaskService::Update);
  Bind(s, this, "Stats", &TaskService::Stats);
  Bind(s, this, "Connect", &TaskService::Connect);
  Bind(s, this, "Shutdown", &TaskService::Shutdown);
  s.Register(kService, "Wait",
             [this](const ttrpc::CallContext&, std::string payload, ttrpc::Responder done) {
               task::WaitRequest req;
               if (!Decode(payload, "Wait", &req, done)) return;
               Wait(req, std::move(done));
             });
}

}  // namespace berth::shim
