#include "daemon/services/tasks.h"

#include <time.h>

#include <atomic>
#include <mutex>

#include "common/filters.h"
#include "common/identifiers.h"
#include "common/log.h"
#include "daemon/call.h"
#include "daemon/task_start.h"
#include "metadata/containers.h"
#include "runtime/task_manager.h"

namespace berth::daemon {

namespace tv1 = containerd::services::tasks::v1;
namespace shim = containerd::task::v2;
using google::protobuf::Empty;
using namespace std::chrono_literals;

namespace {

constexpr auto kStateTimeout = 2s;

// A closed shim connection means the task is gone.
Status ShimError(const Status& s, const std::string& id) {
  if (absl::IsUnavailable(s) && s.message().find("closed") != absl::string_view::npos)
    return absl::NotFoundError(StrCat("task ", id, " not found"));
  return s;
}

void ToProcess(const shim::StateResponse& st, const std::string& container_id, containerd::v1::types::Process* p) {
  p->set_id(st.exec_id().empty() ? container_id : st.exec_id());
  p->set_pid(st.pid());
  p->set_status(st.status());
  p->set_stdin(st.stdin());
  p->set_stdout(st.stdout());
  p->set_stderr(st.stderr());
  p->set_terminal(st.terminal());
  p->set_exit_status(st.exit_status());
  if (st.has_exited_at()) {
    *p->mutable_exited_at() = st.exited_at();
  } else {
    p->mutable_exited_at()->set_seconds(-62135596800);  // Go's zero time, as containerd sends
  }
}

StatusOr<shim::StateResponse> State(runtime::Task& t, const std::string& exec_id) {
  shim::StateRequest req;
  req.set_id(t.id());
  req.set_exec_id(exec_id);
  auto st = t.shim().Call<shim::StateResponse>("State", req, kStateTimeout);
  if (!st.ok()) return ShimError(st.status(), exec_id.empty() ? t.id() : exec_id);
  return st;
}

// Looks up the task of `container_id` in the caller's namespace.
StatusOr<std::shared_ptr<runtime::Task>> TaskFor(Daemon& d, grpc::CallbackServerContext* ctx,
                                                 const std::string& container_id) {
  ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
  if (container_id.empty()) return absl::InvalidArgumentError("container id must not be empty");
  return d.tasks->Get(ns, container_id);
}

// Runs a shim call that answers Empty.
template <typename Req>
Status Forward(runtime::Task& t, const char* method, const Req& req) {
  auto r = t.shim().Call<Empty>(method, req);
  if (!r.ok()) return ShimError(r.status(), t.id());
  return Status();
}

// One Tasks/Wait: an asynchronous shim Wait that holds no thread while the process runs.
// Whichever comes first finishes the call: the shim's answer (exit status, or an error when the
// shim goes away), or a cancellation (the client gave up or went away, or berthd is shutting
// down), which also drops the pending shim call so nothing it holds outlives the RPC.
class WaitReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit WaitReactor(tv1::WaitResponse* resp) : state_(std::make_shared<State>()) {
    state_->reactor = this;
    state_->resp = resp;
  }

  void Start(std::shared_ptr<runtime::Task> t, const std::string& exec_id) {
    std::string id = exec_id.empty() ? t->id() : exec_id;
    // The callback holds no Task reference: it runs on the shim client's io thread, which must
    // not be the one to destroy that client.
    uint64_t handle = t->shim().WaitAsync(t->id(), exec_id, [st = state_, id](StatusOr<shim::WaitResponse> r) {
      if (st->finished.exchange(true)) return;
      if (!r.ok()) {
        st->reactor->Finish(ToGrpcStatus(ShimError(r.status(), id)));
        return;
      }
      st->resp->set_exit_status(r->exit_status());
      *st->resp->mutable_exited_at() = r->exited_at();
      st->reactor->Finish(grpc::Status::OK);
    });
    bool cancelled;
    {
      std::lock_guard<std::mutex> l(mu_);
      task_ = t;
      handle_ = handle;
      cancelled = cancelled_;
    }
    if (cancelled) t->shim().CancelWait(handle);
  }

  void OnCancel() override {
    std::weak_ptr<runtime::Task> task;
    uint64_t handle;
    {
      std::lock_guard<std::mutex> l(mu_);
      cancelled_ = true;
      task = task_;
      handle = handle_;
    }
    if (handle != 0) {
      if (auto t = task.lock()) t->shim().CancelWait(handle);
    }
    if (!state_->finished.exchange(true)) Finish(grpc::Status(grpc::StatusCode::CANCELLED, "wait cancelled"));
  }

  void OnDone() override { delete this; }

 private:
  // Shared with the shim callback, which may run after this reactor is gone.
  struct State {
    std::atomic<bool> finished{false};  // set by whoever calls Finish
    WaitReactor* reactor = nullptr;     // valid until Finish
    tv1::WaitResponse* resp = nullptr;
  };
  std::shared_ptr<State> state_;
  std::mutex mu_;
  std::weak_ptr<runtime::Task> task_;
  uint64_t handle_ = 0;
  bool cancelled_ = false;
};

}  // namespace

grpc::ServerUnaryReactor* TasksService::Create(grpc::CallbackServerContext* ctx, const tv1::CreateTaskRequest* req,
                                               tv1::CreateTaskResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(metadata::Container c, d_.containers->Get(ns, req->container_id()));
    if (req->has_checkpoint()) return absl::UnimplementedError("checkpoint restore is not supported");
    runtime::CreateTaskParams p = ContainerTaskParams(ns, c);
    shim::CreateTaskRequest& sr = p.request;
    for (const auto& m : req->rootfs()) *sr.add_rootfs() = m;
    sr.set_terminal(req->terminal());
    sr.set_stdin(req->stdin());
    sr.set_stdout(req->stdout());
    sr.set_stderr(req->stderr());
    // The client's options (the task's, else the container's), completed by the configuration.
    std::optional<RuntimeOptionsAny> sent;
    if (req->has_options()) {
      sent = RuntimeOptionsAny{req->options().type_url(), req->options().value()};
    } else if (c.runtime_options) {
      sent = RuntimeOptionsAny{c.runtime_options->type_url, c.runtime_options->value};
    }
    std::string runtime_name = c.runtime_name.empty() ? d_.config.default_runtime : c.runtime_name;
    if (auto opts = EffectiveRuntimeOptions(d_.config, runtime_name, sent)) {
      sr.mutable_options()->set_type_url(opts->type_url);
      sr.mutable_options()->set_value(opts->value);
      p.options_any = sr.options().SerializeAsString();
    }
    ASSIGN_OR_RETURN(auto t, d_.tasks->Create(std::move(p)));
    resp->set_container_id(c.id);
    resp->set_pid(t->pid());
    return Status();
  });
}

grpc::ServerUnaryReactor* TasksService::Start(grpc::CallbackServerContext* ctx, const tv1::StartRequest* req,
                                              tv1::StartResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(auto t, TaskFor(d_, ctx, req->container_id()));
    auto pid = StartTaskProcess(*t, req->exec_id());
    if (!pid.ok()) return ShimError(pid.status(), t->id());
    resp->set_pid(*pid);
    return Status();
  });
}

grpc::ServerUnaryReactor* TasksService::Delete(grpc::CallbackServerContext* ctx, const tv1::DeleteTaskRequest* req,
                                               tv1::DeleteResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(shim::DeleteResponse r, d_.tasks->Delete(ns, req->container_id()));
    resp->set_id(req->container_id());
    resp->set_pid(r.pid());
    resp->set_exit_status(r.exit_status());
    *resp->mutable_exited_at() = r.exited_at();
    return Status();
  });
}

grpc::ServerUnaryReactor* TasksService::DeleteProcess(grpc::CallbackServerContext* ctx,
                                                      const tv1::DeleteProcessRequest* req, tv1::DeleteResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(auto t, TaskFor(d_, ctx, req->container_id()));
    if (req->exec_id().empty()) return absl::InvalidArgumentError("exec id must not be empty");
    shim::DeleteRequest sr;
    sr.set_id(t->id());
    sr.set_exec_id(req->exec_id());
    auto r = t->shim().Call<shim::DeleteResponse>("Delete", sr);
    if (!r.ok()) return ShimError(r.status(), req->exec_id());
    resp->set_id(req->exec_id());
    resp->set_pid(r->pid());
    resp->set_exit_status(r->exit_status());
    *resp->mutable_exited_at() = r->exited_at();
    return Status();
  });
}

grpc::ServerUnaryReactor* TasksService::Get(grpc::CallbackServerContext* ctx, const tv1::GetRequest* req,
                                            tv1::GetResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(auto t, TaskFor(d_, ctx, req->container_id()));
    ASSIGN_OR_RETURN(shim::StateResponse st, State(*t, req->exec_id()));
    ToProcess(st, t->id(), resp->mutable_process());
    return Status();
  });
}

grpc::ServerUnaryReactor* TasksService::List(grpc::CallbackServerContext* ctx, const tv1::ListTasksRequest* req,
                                             tv1::ListTasksResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    // containerd 1.6 ignores this field; we honour it with the usual syntax on the Process
    // fields: id, container_id, pid, status (created/running/stopped/paused/pausing), exit_status.
    ASSIGN_OR_RETURN(Filter filter, Filter::Parse(req->filter()));
    for (const auto& t : d_.tasks->List(ns)) {
      auto st = State(*t, "");
      if (!st.ok()) {
        BLOG(Debug) << "list tasks: state of " << t->id() << ": " << st.status();
        continue;
      }
      containerd::v1::types::Process p;
      ToProcess(*st, t->id(), &p);
      auto adaptor = [&p, &t](const FieldPath& path) -> std::optional<std::string> {
        if (path.size() != 1) return std::nullopt;
        const std::string& f = path[0];
        if (f == "id" || f == "container_id") return t->id();
        if (f == "pid") return std::to_string(p.pid());
        if (f == "exit_status") return std::to_string(p.exit_status());
        if (f == "status") {
          std::string name = containerd::v1::types::Status_Name(p.status());
          for (auto& ch : name) ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
          return name;
        }
        return std::nullopt;
      };
      if (filter.Match(adaptor)) *resp->add_tasks() = std::move(p);
    }
    return Status();
  });
}

grpc::ServerUnaryReactor* TasksService::Kill(grpc::CallbackServerContext* ctx, const tv1::KillRequest* req, Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(auto t, TaskFor(d_, ctx, req->container_id()));
    shim::KillRequest sr;
    sr.set_id(t->id());
    sr.set_exec_id(req->exec_id());
    sr.set_signal(req->signal());
    sr.set_all(req->all());
    return Forward(*t, "Kill", sr);
  });
}

grpc::ServerUnaryReactor* TasksService::Exec(grpc::CallbackServerContext* ctx, const tv1::ExecProcessRequest* req,
                                             Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(auto t, TaskFor(d_, ctx, req->container_id()));
    if (req->exec_id().empty()) return absl::InvalidArgumentError("exec id must not be empty");
    RETURN_IF_ERROR(ValidateIdentifier(req->exec_id(), "exec id"));
    shim::ExecProcessRequest sr;
    sr.set_id(t->id());
    sr.set_exec_id(req->exec_id());
    sr.set_terminal(req->terminal());
    sr.set_stdin(req->stdin());
    sr.set_stdout(req->stdout());
    sr.set_stderr(req->stderr());
    *sr.mutable_spec() = req->spec();
    return Forward(*t, "Exec", sr);
  });
}

grpc::ServerUnaryReactor* TasksService::ResizePty(grpc::CallbackServerContext* ctx, const tv1::ResizePtyRequest* req,
                                                  Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(auto t, TaskFor(d_, ctx, req->container_id()));
    shim::ResizePtyRequest sr;
    sr.set_id(t->id());
    sr.set_exec_id(req->exec_id());
    sr.set_width(req->width());
    sr.set_height(req->height());
    return Forward(*t, "ResizePty", sr);
  });
}

grpc::ServerUnaryReactor* TasksService::CloseIO(grpc::CallbackServerContext* ctx, const tv1::CloseIORequest* req,
                                                Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(auto t, TaskFor(d_, ctx, req->container_id()));
    shim::CloseIORequest sr;
    sr.set_id(t->id());
    sr.set_exec_id(req->exec_id());
    sr.set_stdin(req->stdin());
    return Forward(*t, "CloseIO", sr);
  });
}

grpc::ServerUnaryReactor* TasksService::Pause(grpc::CallbackServerContext* ctx, const tv1::PauseTaskRequest* req,
                                              Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(auto t, TaskFor(d_, ctx, req->container_id()));
    shim::PauseRequest sr;
    sr.set_id(t->id());
    return Forward(*t, "Pause", sr);
  });
}

grpc::ServerUnaryReactor* TasksService::Resume(grpc::CallbackServerContext* ctx, const tv1::ResumeTaskRequest* req,
                                               Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(auto t, TaskFor(d_, ctx, req->container_id()));
    shim::ResumeRequest sr;
    sr.set_id(t->id());
    return Forward(*t, "Resume", sr);
  });
}

grpc::ServerUnaryReactor* TasksService::ListPids(grpc::CallbackServerContext* ctx, const tv1::ListPidsRequest* req,
                                                 tv1::ListPidsResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(auto t, TaskFor(d_, ctx, req->container_id()));
    shim::PidsRequest sr;
    sr.set_id(t->id());
    auto r = t->shim().Call<shim::PidsResponse>("Pids", sr);
    if (!r.ok()) return ShimError(r.status(), t->id());
    *resp->mutable_processes() = r->processes();
    return Status();
  });
}

grpc::ServerUnaryReactor* TasksService::Checkpoint(grpc::CallbackServerContext* ctx,
                                                   const tv1::CheckpointTaskRequest*, tv1::CheckpointTaskResponse*) {
  return FinishNow(ctx, absl::UnimplementedError("checkpoint is not supported by berth"));
}

grpc::ServerUnaryReactor* TasksService::Update(grpc::CallbackServerContext* ctx, const tv1::UpdateTaskRequest* req,
                                               Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> Status {
    ASSIGN_OR_RETURN(auto t, TaskFor(d_, ctx, req->container_id()));
    shim::UpdateTaskRequest sr;
    sr.set_id(t->id());
    *sr.mutable_resources() = req->resources();
    *sr.mutable_annotations() = req->annotations();
    return Forward(*t, "Update", sr);
  });
}

grpc::ServerUnaryReactor* TasksService::Metrics(grpc::CallbackServerContext* ctx, const tv1::MetricsRequest* req,
                                                tv1::MetricsResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> Status {
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    ASSIGN_OR_RETURN(Filter filter, Filter::ParseAll({req->filters().begin(), req->filters().end()}));
    for (const auto& t : d_.tasks->List(ns)) {
      auto adaptor = [&](const FieldPath& p) -> std::optional<std::string> {
        // containerd's getTasksMetrics: id and namespace (its "runtime" case is commented out).
        if (p.empty()) return std::nullopt;
        if (p[0] == "id") return t->id();
        if (p[0] == "namespace") return t->ns();
        return std::nullopt;
      };
      if (!filter.Match(adaptor)) continue;
      shim::StatsRequest sr;
      sr.set_id(t->id());
      auto r = t->shim().Call<shim::StatsResponse>("Stats", sr, 10s);
      if (!r.ok()) {
        BLOG(Debug) << "metrics of " << t->id() << ": " << r.status();
        continue;
      }
      auto* m = resp->add_metrics();
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      m->mutable_timestamp()->set_seconds(ts.tv_sec);
      m->mutable_timestamp()->set_nanos(static_cast<int32_t>(ts.tv_nsec));
      m->set_id(t->id());
      *m->mutable_data() = r->stats();
    }
    return Status();
  });
}

grpc::ServerUnaryReactor* TasksService::Wait(grpc::CallbackServerContext* ctx, const tv1::WaitRequest* req,
                                             tv1::WaitResponse* resp) {
  auto t = TaskFor(d_, ctx, req->container_id());
  if (!t.ok()) return FinishNow(ctx, t.status());
  auto* reactor = new WaitReactor(resp);
  reactor->Start(*std::move(t), req->exec_id());
  return reactor;
}

}  // namespace berth::daemon
