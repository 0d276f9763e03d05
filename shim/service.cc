#include "shim/service.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/log.h"
#include "containerd/events/task.pb.h"
#include "shim/mount.h"

namespace berth::shim {

namespace {

int64_t NowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void SetTimestamp(int64_t ns, google::protobuf::Timestamp* t) {
  t->set_seconds(ns / 1000000000);
  t->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

StatusOr<int> ReadPidFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string s, ReadFile(path));
  try {
    int pid = std::stoi(s);
    if (pid > 0) return pid;
  } catch (...) {
  }
  return absl::InternalError(StrCat("bad pid file ", path, ": \"", s, "\""));
}

constexpr auto kDrainBound = std::chrono::milliseconds(2000);

}  // namespace

TaskService::TaskService(boost::asio::io_context& io, ServiceConfig cfg, EventForwarder* events,
                         std::function<void()> exit_shim)
    : io_(io), cfg_(std::move(cfg)), events_(events), exit_shim_(std::move(exit_shim)) {
  if (StatusOr<std::string> j = ReadFile(BundlePath("options.json")); j.ok()) {
    opts_ = OptionsFromJson(*j);
  }
}

TaskService::~TaskService() = default;

std::string TaskService::BundlePath(const std::string& name) const {
  return JoinPath(cfg_.bundle, name);
}

Runc TaskService::MakeRunc() const {
  std::string root = opts_.root.empty() ? JoinPath(cfg_.runc_root_base, cfg_.ns) : opts_.root;
  return Runc(opts_.binary_name.empty() ? "runc" : opts_.binary_name, root,
              BundlePath("log.json"), opts_.systemd_cgroup);
}

Status TaskService::CheckId(const std::string& id) const {
  if (id != cfg_.id) return absl::NotFoundError(StrCat("container \"", id, "\": not found"));
  return absl::OkStatus();
}

StatusOr<Process*> TaskService::Find(const std::string& id, const std::string& exec_id) {
  RETURN_IF_ERROR(CheckId(id));
  if (!init_) return absl::NotFoundError(StrCat("container \"", id, "\": not created"));
  if (exec_id.empty()) return init_.get();
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return absl::NotFoundError(StrCat("process \"", exec_id, "\": not found"));
  return it->second.get();
}

void TaskService::Publish(const std::string& topic, const std::string& type,
                          const google::protobuf::MessageLite& m) {
  if (events_) events_->Publish(topic, type, m);
}

StatusOr<task::CreateTaskResponse> TaskService::Create(const task::CreateTaskRequest& r) {
  RETURN_IF_ERROR(CheckId(r.id()));
  if (init_) return absl::AlreadyExistsError(StrCat("container \"", r.id(), "\": already exists"));
  if (r.has_options()) {
    ASSIGN_OR_RETURN(opts_, OptionsFromAny(r.options().type_url(), r.options().value()));
  }
  if (!r.checkpoint().empty()) {
    return absl::UnimplementedError("berth shim: restoring from a checkpoint is not supported");
  }
  RETURN_IF_ERROR(WriteFileAtomic(BundlePath("options.json"), OptionsToJson(opts_)));
  RETURN_IF_ERROR(WriteFileAtomic(BundlePath("runtime"), opts_.binary_name));
  std::string rootfs = BundlePath("rootfs");
  if (!r.rootfs().empty()) {
    ::mkdir(rootfs.c_str(), 0711);
    std::vector<MountSpec> specs;
    for (const auto& m : r.rootfs()) {
      specs.push_back(MountSpec{m.type(), m.source(), {m.options().begin(), m.options().end()}});
    }
    RETURN_IF_ERROR(MountAll(specs, rootfs));
    rootfs_mounted_ = true;
  }
  auto unmount = [&] {
    if (rootfs_mounted_) {
      if (Status st = UnmountAll(rootfs); !st.ok()) {
      BLOG(Warn) << st;
    }
      rootfs_mounted_ = false;
    }
  };
  StdioConfig stdio{r.stdin(), r.stdout(), r.stderr(), r.terminal()};
  auto p = std::make_unique<Process>("", stdio);
  StatusOr<std::unique_ptr<ProcessIO>> pio = ProcessIO::Create(io_, stdio);
  if (!pio.ok()) {
    unmount();
    return pio.status();
  }
  p->io = std::move(*pio);
  std::string pid_file = BundlePath("init.pid");
  Runc runc = MakeRunc();
  Status st = runc.Create(cfg_.id, cfg_.bundle, pid_file, p->io->console_socket(),
                          opts_.no_pivot_root, opts_.no_new_keyring, p->io->child_stdio());
  StatusOr<int> pid = st.ok() ? ReadPidFile(pid_file) : StatusOr<int>(st);
  if (pid.ok()) st = p->io->Started();
  if (!pid.ok() || !st.ok()) {
    (void)runc.Delete(cfg_.id, /*force=*/true);
    unmount();
    return pid.ok() ? st : pid.status();
  }
  init_ = std::move(p);
  Track(init_.get(), *pid);

  containerd::events::TaskCreate ev;
  ev.set_container_id(cfg_.id);
  ev.set_bundle(cfg_.bundle);
  for (const auto& m : r.rootfs()) *ev.add_rootfs() = m;
  ev.mutable_io()->set_stdin(r.stdin());
  ev.mutable_io()->set_stdout(r.stdout());
  ev.mutable_io()->set_stderr(r.stderr());
  ev.mutable_io()->set_terminal(r.terminal());
  ev.set_checkpoint(r.checkpoint());
  ev.set_pid(static_cast<uint32_t>(*pid));
  Publish("/tasks/create", "containerd.events.TaskCreate", ev);
  task::CreateTaskResponse resp;
  resp.set_pid(static_cast<uint32_t>(*pid));
  return resp;
}

StatusOr<task::StartResponse> TaskService::Start(const task::StartRequest& r) {
  ASSIGN_OR_RETURN(Process * p, Find(r.id(), r.exec_id()));
  RETURN_IF_ERROR(CheckTransition(p->name(), p->state(), ProcState::kRunning));
  Runc runc = MakeRunc();
  if (p->is_init()) {
    RETURN_IF_ERROR(runc.Start(cfg_.id));
  } else {
    if (init_->state() != ProcState::kRunning) {
      return absl::FailedPreconditionError(
          StrCat("container \"", cfg_.id, "\" is ", ProcStateName(init_->state()),
                 ": cannot start an exec"));
    }
    std::string pid_file = BundlePath(StrCat(p->exec_id(), ".pid"));
    Status st = runc.Exec(cfg_.id, p->spec_path, pid_file, p->io->console_socket(),
                          p->io->child_stdio());
    ::unlink(p->spec_path.c_str());
    RETURN_IF_ERROR(st);
    ASSIGN_OR_RETURN(int pid, ReadPidFile(pid_file));
    ::unlink(pid_file.c_str());
    RETURN_IF_ERROR(p->io->Started());
    Track(p, pid);
  }
  // An exit reaped meanwhile may already have moved it on.
  if (p->state() == ProcState::kCreated) RETURN_IF_ERROR(p->SetState(ProcState::kRunning));
  task::StartResponse resp;
  resp.set_pid(static_cast<uint32_t>(p->pid));
  if (p->is_init()) {
    containerd::events::TaskStart ev;
    ev.set_container_id(cfg_.id);
    ev.set_pid(resp.pid());
    Publish("/tasks/start", "containerd.events.TaskStart", ev);
  } else {
    containerd::events::TaskExecStarted ev;
    ev.set_container_id(cfg_.id);
    ev.set_exec_id(p->exec_id());
    ev.set_pid(resp.pid());
    Publish("/tasks/exec-started", "containerd.events.TaskExecStarted", ev);
  }
  return resp;
}

StatusOr<Empty> TaskService::Exec(const task::ExecProcessRequest& r) {
  ASSIGN_OR_RETURN(Process * init, Find(r.id(), ""));
  if (r.exec_id().empty()) return absl::InvalidArgumentError("exec id must not be empty");
  if (execs_.count(r.exec_id())) {
    return absl::AlreadyExistsError(StrCat("exec \"", r.exec_id(), "\": already exists"));
  }
  if (init->state() == ProcState::kStopped || init->state() == ProcState::kDeleted) {
    return absl::FailedPreconditionError(StrCat("container \"", cfg_.id, "\" is stopped"));
  }
  StdioConfig stdio{r.stdin(), r.stdout(), r.stderr(), r.terminal()};
  auto p = std::make_unique<Process>(r.exec_id(), stdio);
  p->spec_path = BundlePath(StrCat(r.exec_id(), "-process.json"));
  RETURN_IF_ERROR(WriteFileAtomic(p->spec_path, r.spec().value(), 0600));
  StatusOr<std::unique_ptr<ProcessIO>> pio = ProcessIO::Create(io_, stdio);
  if (!pio.ok()) {
    ::unlink(p->spec_path.c_str());
    return pio.status();
  }
  p->io = std::move(*pio);
  execs_.emplace(r.exec_id(), std::move(p));
  containerd::events::TaskExecAdded ev;
  ev.set_container_id(cfg_.id);
  ev.set_exec_id(r.exec_id());
  Publish("/tasks/exec-added", "containerd.events.TaskExecAdded", ev);
  return Empty();
}

StatusOr<task::DeleteResponse> TaskService::Delete(const task::DeleteRequest& r) {
  ASSIGN_OR_RETURN(Process * p, Find(r.id(), r.exec_id()));
  RETURN_IF_ERROR(CheckTransition(p->name(), p->state(), ProcState::kDeleted));
  if (p->is_init()) {
    // Execs of a deleted container are gone with it.
    for (auto& [id, e] : execs_) {
      if (e->state() == ProcState::kRunning || e->state() == ProcState::kPaused) {
        return absl::FailedPreconditionError(StrCat("exec \"", id, "\" is still running"));
      }
    }
    Status st = MakeRunc().Delete(cfg_.id, /*force=*/p->state() == ProcState::kCreated);
    if (!st.ok() && st.code() != absl::StatusCode::kNotFound) return st;
    if (rootfs_mounted_) {
      if (Status u = UnmountAll(BundlePath("rootfs")); !u.ok()) {
      BLOG(Warn) << u;
    }
      rootfs_mounted_ = false;
    }
  }
  RETURN_IF_ERROR(p->SetState(ProcState::kDeleted));
  task::DeleteResponse resp;
  resp.set_pid(static_cast<uint32_t>(p->pid));
  resp.set_exit_status(p->exit_status);
  SetTimestamp(p->exited_at_ns ? p->exited_at_ns : NowNs(), resp.mutable_exited_at());
  if (p->is_init()) {
    containerd::events::TaskDelete ev;
    ev.set_container_id(cfg_.id);
    ev.set_pid(resp.pid());
    ev.set_exit_status(resp.exit_status());
    *ev.mutable_exited_at() = resp.exited_at();
    Publish("/tasks/delete", "containerd.events.TaskDelete", ev);
    execs_.clear();
    init_.reset();
  } else {
    execs_.erase(r.exec_id());
  }
  return resp;
}

void TaskService::Wait(const task::WaitRequest& r, ttrpc::Responder done) {
  StatusOr<Process*> p = Find(r.id(), r.exec_id());
  if (!p.ok()) {
    done(p.status());
    return;
  }
  if ((*p)->state() == ProcState::kStopped) {
    task::WaitResponse resp;
    resp.set_exit_status((*p)->exit_status);
    SetTimestamp((*p)->exited_at_ns, resp.mutable_exited_at());
    done(resp.SerializeAsString());
    return;
  }
  (*p)->waiters.push_back(std::move(done));
}

void TaskService::Track(Process* p, int pid) {
  p->pid = pid;
  auto it = early_exits_.find(pid);
  if (it != early_exits_.end()) {
    int code = it->second;
    early_exits_.erase(it);
    OnExit(pid, code);
  }
}

void TaskService::OnExit(int pid, int exit_code) {
  Process* p = nullptr;
  if (init_ && init_->pid == pid) p = init_.get();
  for (auto& [id, e] : execs_) {
    if (!p && e->pid == pid) p = e.get();
  }
  if (!p || p->exit_pending || p->state() == ProcState::kStopped ||
      p->state() == ProcState::kDeleted) {
    // Not (yet) ours: maybe runc's pid file has not been read. Keep a few.
    if (!p) {
      if (early_exits_.size() >= 256) early_exits_.erase(early_exits_.begin());
      early_exits_[pid] = exit_code;
    }
    return;
  }
  BLOG(Debug) << p->name() << " pid " << pid << " exited with " << exit_code;
  p->exit_pending = true;
  p->exit_status = static_cast<uint32_t>(exit_code);
  p->exited_at_ns = NowNs();
  std::string exec_id = p->exec_id();
  p->io->WhenDrained(kDrainBound, [this, alive = std::weak_ptr<bool>(alive_), exec_id] {
    if (alive.expired()) return;
    StatusOr<Process*> q = Find(cfg_.id, exec_id);
    if (q.ok()) ReportExit(*q);
  });
}

void TaskService::ReportExit(Process* p) {
  if (!p->exit_pending) return;
  p->exit_pending = false;
  if (Status st = p->SetState(ProcState::kStopped); !st.ok()) {
    BLOG(Warn) << st;
    return;
  }
  if (p->is_init()) {
    std::string json = StrCat("{\"pid\":", p->pid, ",\"exit_status\":", p->exit_status,
                              ",\"exited_at_ns\":", p->exited_at_ns, "}\n");
    if (Status st = WriteFileAtomic(BundlePath("exit.json"), json); !st.ok()) {
      BLOG(Warn) << st;
    }
  }
  containerd::events::TaskExit ev;
  ev.set_container_id(cfg_.id);
  ev.set_id(p->is_init() ? cfg_.id : p->exec_id());
  ev.set_pid(static_cast<uint32_t>(p->pid));
  ev.set_exit_status(p->exit_status);
  SetTimestamp(p->exited_at_ns, ev.mutable_exited_at());
  Publish("/tasks/exit", "containerd.events.TaskExit", ev);
  task::WaitResponse resp;
  resp.set_exit_status(p->exit_status);
  *resp.mutable_exited_at() = ev.exited_at();
  std::string bytes = resp.SerializeAsString();
  auto waiters = std::move(p->waiters);
  p->waiters.clear();
  for (auto& w : waiters) w(bytes);
}

}  // namespace berth::shim
