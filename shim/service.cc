#include "shim/service.h"

#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

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

bool ShouldKillAllOnExit(const std::string& config_json) {
  nlohmann::json j = nlohmann::json::parse(config_json, nullptr, false);
  if (!j.is_object()) return true;
  auto linux = j.find("linux");
  if (linux == j.end() || !linux->is_object()) return true;
  auto nss = linux->find("namespaces");
  if (nss == linux->end() || !nss->is_array()) return true;
  for (const auto& ns : *nss) {
    if (!ns.is_object()) continue;
    if (ns.value("type", std::string()) == "pid" && ns.value("path", std::string()).empty()) {
      return false;
    }
  }
  return true;
}

TaskService::TaskService(boost::asio::io_context& io, ServiceConfig cfg, EventForwarder* events,
                         std::function<void()> exit_shim, Runner runner)
    : io_(io),
      cfg_(std::move(cfg)),
      events_(events),
      exit_shim_(std::move(exit_shim)),
      runner_(std::move(runner)) {
  if (StatusOr<std::string> j = ReadFile(BundlePath("options.json")); j.ok()) {
    opts_ = OptionsFromJson(*j);
  }
}

TaskService::~TaskService() { *alive_ = false; }

std::function<void()> TaskService::Guard(std::function<void()> fn) const {
  return [alive = std::weak_ptr<bool>(alive_), fn = std::move(fn)] {
    if (auto a = alive.lock(); a && *a) fn();
  };
}

std::string TaskService::BundlePath(const std::string& name) const {
  return JoinPath(cfg_.bundle, name);
}

Runc TaskService::MakeRunc() const {
  RuncGlobal g;
  g.binary = opts_.binary_name.empty() ? "runc" : opts_.binary_name;
  // containerd's rule: the runtime's state lives under <Root or /run/containerd/runc>/<ns>.
  g.root = JoinPath(opts_.root.empty() ? cfg_.runc_root_base : opts_.root, cfg_.ns);
  g.log_json = BundlePath("log.json");
  g.systemd_cgroup = opts_.systemd_cgroup;
  return Runc(std::move(g), runner_);
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

void TaskService::UnmountRootfs() {
  if (!rootfs_mounted_) return;
  if (Status st = UnmountAll(BundlePath("rootfs")); !st.ok()) {
    BLOG(Warn) << st;
  }
  rootfs_mounted_ = false;
}

void TaskService::Create(const task::CreateTaskRequest& r, Reply<task::CreateTaskResponse> done) {
  if (Status st = CheckId(r.id()); !st.ok()) return done(st);
  if (init_ || creating_) {
    return done(absl::AlreadyExistsError(StrCat("container \"", r.id(), "\": already exists")));
  }
  if (!r.checkpoint().empty()) {
    return done(absl::UnimplementedError(
        "berth shim: restoring a container from a checkpoint is not supported"));
  }
  RuntimeOptions opts = opts_;
  if (r.has_options()) {
    if (Status st = ApplyOptionsAny(r.options().type_url(), r.options().value(), &opts);
        !st.ok()) {
      return done(st);
    }
  }
  opts_ = opts;
  if (Status st = WriteFileAtomic(BundlePath("options.json"), OptionsToJson(opts_), 0600);
      !st.ok()) {
    return done(st);
  }
  if (Status st = WriteFileAtomic(BundlePath("runtime"), opts_.binary_name, 0600); !st.ok()) {
    return done(st);
  }
  StatusOr<std::string> spec = ReadFile(BundlePath("config.json"));
  kill_all_on_exit_ = !spec.ok() || ShouldKillAllOnExit(*spec);
  std::string rootfs = BundlePath("rootfs");
  if (!r.rootfs().empty()) {
    ::mkdir(rootfs.c_str(), 0711);
    std::vector<MountSpec> specs;
    for (const auto& m : r.rootfs()) {
      specs.push_back(MountSpec{m.type(), m.source(), {m.options().begin(), m.options().end()}});
    }
    if (Status st = MountAll(specs, rootfs); !st.ok()) return done(st);
    rootfs_mounted_ = true;
  }
  StdioConfig stdio{r.stdin(), r.stdout(), r.stderr(), r.terminal()};
  auto p = std::make_unique<Process>("", stdio);
  StatusOr<std::unique_ptr<ProcessIO>> pio =
      ProcessIO::Create(io_, stdio, opts_.io_uid, opts_.io_gid);
  if (!pio.ok()) {
    UnmountRootfs();
    return done(pio.status());
  }
  p->io = std::move(*pio);
  CreateOpts co;
  co.bundle = cfg_.bundle;
  co.pid_file = BundlePath("init.pid");
  co.console_socket = p->io->console_socket();
  co.no_pivot = opts_.no_pivot_root;
  co.no_new_keyring = opts_.no_new_keyring;
  co.stdio = p->io->child_stdio();
  creating_ = true;
  // The process is owned by the callback until the runtime answered.
  auto holder = std::make_shared<std::unique_ptr<Process>>(std::move(p));
  MakeRunc().Create(cfg_.id, co, [this, alive = std::weak_ptr<bool>(alive_), holder, r,
                                  done](Status st) mutable {
    if (alive.expired()) return;
    init_ = std::move(*holder);
    FinishCreate(std::move(st), r, std::move(done));
  });
}

void TaskService::FinishCreate(Status st, const task::CreateTaskRequest& r,
                               Reply<task::CreateTaskResponse> done) {
  StatusOr<int> pid = st.ok() ? ReadPidFile(BundlePath("init.pid")) : StatusOr<int>(st);
  if (pid.ok()) st = init_->io->Started();
  if (!pid.ok() || !st.ok()) {
    Status err = Annotate(pid.ok() ? st : pid.status(), "OCI runtime create failed");
    init_.reset();
    MakeRunc().Delete(cfg_.id, /*force=*/true, [this, alive = std::weak_ptr<bool>(alive_), err,
                                                 done](Status) {
      if (alive.expired()) return;
      UnmountRootfs();
      creating_ = false;
      done(err);
    });
    return;
  }
  creating_ = false;
  Track(init_.get(), *pid);
  oom_ = std::make_unique<OomWatcher>(io_, [this] {
    containerd::events::TaskOOM ev;
    ev.set_container_id(cfg_.id);
    Publish("/tasks/oom", "containerd.events.TaskOOM", ev);
  });
  if (Status w = oom_->Watch(*pid); !w.ok()) {
    BLOG(Debug) << "no OOM events: " << w;
  }

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
  done(resp);
}

void TaskService::Start(const task::StartRequest& r, Reply<task::StartResponse> done) {
  StatusOr<Process*> found = Find(r.id(), r.exec_id());
  if (!found.ok()) return done(found.status());
  Process* p = *found;
  if (p->starting) return done(absl::FailedPreconditionError(StrCat(p->name(), " is starting")));
  if (Status st = CheckTransition(p->name(), p->state(), ProcState::kRunning); !st.ok()) {
    return done(st);
  }
  if (p->start_failed) {
    return done(absl::FailedPreconditionError(StrCat(p->name(), ": its start already failed")));
  }
  if (p->is_init()) return StartInit(p, std::move(done));
  if (init_->state() != ProcState::kRunning) {
    return done(absl::FailedPreconditionError(
        StrCat("container \"", cfg_.id, "\" is ", ProcStateName(init_->state()),
               ": cannot start an exec")));
  }
  StartExec(p, std::move(done));
}

void TaskService::StartInit(Process* p, Reply<task::StartResponse> done) {
  p->starting = true;
  MakeRunc().Start(cfg_.id, [this, alive = std::weak_ptr<bool>(alive_), p, done](Status st) {
    if (alive.expired()) return;
    if (!st.ok()) {
      p->starting = false;
      p->start_failed = true;
      done(Annotate(st, "OCI runtime start failed"));
      if (p->report_after_start) ReportExit(p);
      return;
    }
    if (p->state() == ProcState::kCreated) (void)p->SetState(ProcState::kRunning);
    FinishStart(p, done);
  });
}

void TaskService::StartExec(Process* p, Reply<task::StartResponse> done) {
  p->starting = true;
  std::string pid_file = BundlePath(StrCat(p->exec_id(), ".pid"));
  MakeRunc().Exec(
      cfg_.id, p->spec_path, pid_file, p->io->console_socket(), p->io->child_stdio(),
      [this, alive = std::weak_ptr<bool>(alive_), p, pid_file, done](Status st) {
        if (alive.expired()) return;
        ::unlink(p->spec_path.c_str());
        StatusOr<int> pid = st.ok() ? ReadPidFile(pid_file) : StatusOr<int>(st);
        ::unlink(pid_file.c_str());
        if (pid.ok()) st = p->io->Started();
        if (!pid.ok() || !st.ok()) {
          p->starting = false;
          p->start_failed = true;
          // Close its stdio now: the client waits for EOF on its FIFOs before it even deletes
          // the exec (containerd's shim never opened them for an exec that did not start).
          p->io.reset();
          done(Annotate(pid.ok() ? st : pid.status(), "OCI runtime exec failed"));
          return;
        }
        (void)p->SetState(ProcState::kRunning);
        Track(p, *pid);  // may find its exit already reaped: reported after the start event
        FinishStart(p, done);
      });
}

void TaskService::FinishStart(Process* p, Reply<task::StartResponse> done) {
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
  p->starting = false;
  done(resp);
  if (p->report_after_start) ReportExit(p);
}

StatusOr<Empty> TaskService::Exec(const task::ExecProcessRequest& r) {
  ASSIGN_OR_RETURN(Process * init, Find(r.id(), ""));
  if (r.exec_id().empty()) return absl::InvalidArgumentError("exec id must not be empty");
  if (execs_.count(r.exec_id())) {
    return absl::AlreadyExistsError(StrCat("id ", r.exec_id(), ": already exists"));
  }
  if (init->state() == ProcState::kStopped || init->state() == ProcState::kDeleted ||
      init->exit_pending) {
    return absl::FailedPreconditionError(StrCat("container \"", cfg_.id, "\" is stopped: cannot exec"));
  }
  if (init->state() == ProcState::kPaused) {
    return absl::FailedPreconditionError("cannot exec in a paused state");
  }
  StdioConfig stdio{r.stdin(), r.stdout(), r.stderr(), r.terminal()};
  auto p = std::make_unique<Process>(r.exec_id(), stdio);
  p->spec_path = BundlePath(StrCat(r.exec_id(), "-process.json"));
  RETURN_IF_ERROR(WriteFileAtomic(p->spec_path, r.spec().value(), 0600));
  StatusOr<std::unique_ptr<ProcessIO>> pio = ProcessIO::Create(io_, stdio, opts_.io_uid, opts_.io_gid);
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

void TaskService::Delete(const task::DeleteRequest& r, Reply<task::DeleteResponse> done) {
  StatusOr<Process*> found = Find(r.id(), r.exec_id());
  if (!found.ok()) return done(found.status());
  Process* p = *found;
  if (p->starting || p->deleting) {
    return done(absl::FailedPreconditionError(
        StrCat(p->name(), p->starting ? " is starting" : " is being deleted")));
  }
  if (p->exit_pending) {
    return done(absl::FailedPreconditionError(StrCat("cannot delete a running process")));
  }
  if (Status st = CheckTransition(p->name(), p->state(), ProcState::kDeleted); !st.ok()) {
    return done(st);
  }
  if (!p->is_init()) return FinishDelete(p, std::move(done));
  // Execs whose exit is not reaped yet do not hold the delete back (containerd's shim does not
  // check them either): once init is gone the kernel (own PID namespace) or our kill --all (shared
  // one) has killed them, and a health probe racing `rm -f` must not make it fail.
  p->deleting = true;
  MakeRunc().Delete(cfg_.id, /*force=*/p->state() == ProcState::kCreated,
                    [this, alive = std::weak_ptr<bool>(alive_), p, done](Status st) {
                      if (alive.expired()) return;
                      p->deleting = false;
                      // Already gone from the runtime (deleted behind our back): fine.
                      if (!st.ok() && st.code() != absl::StatusCode::kNotFound) {
                        return done(Annotate(st, "failed to delete task"));
                      }
                      UnmountRootfs();
                      FinishDelete(p, done);
                    });
}

void TaskService::FinishDelete(Process* p, Reply<task::DeleteResponse> done) {
  if (Status st = p->SetState(ProcState::kDeleted); !st.ok()) return done(st);
  for (auto& w : p->waiters) w(absl::NotFoundError(StrCat(p->name(), ": deleted before it exited")));
  p->waiters.clear();
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
    oom_.reset();
  } else {
    execs_.erase(p->exec_id());
  }
  done(resp);
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
  if (!p) {
    // Not (yet) ours: maybe the runtime's pid file has not been read. Keep a few.
    if (early_exits_.size() >= 256) early_exits_.erase(early_exits_.begin());
    early_exits_[pid] = exit_code;
    return;
  }
  if (p->exit_pending || p->state() == ProcState::kStopped || p->state() == ProcState::kDeleted) {
    return;
  }
  BLOG(Debug) << p->name() << " pid " << pid << " exited with " << exit_code;
  p->exit_pending = true;
  p->exit_status = static_cast<uint32_t>(exit_code);
  p->exited_at_ns = NowNs();
  std::string exec_id = p->exec_id();
  auto report = Guard([this, exec_id] {
    StatusOr<Process*> q = Find(cfg_.id, exec_id);
    if (q.ok()) ReportExit(*q);
  });
  auto drain = Guard([this, exec_id, report] {
    StatusOr<Process*> q = Find(cfg_.id, exec_id);
    if (!q.ok()) return;
    if ((*q)->io) {
      (*q)->io->WhenDrained(kDrainBound, report);
    } else {
      report();
    }
  });
  if (p->is_init() && kill_all_on_exit_) {
    // No PID namespace of its own: nothing else may outlive init (runc kill --all).
    MakeRunc().Kill(cfg_.id, SIGKILL, /*all=*/true, [drain](Status st) {
      if (!st.ok()) {
        BLOG(Debug) << "kill --all after init exit: " << st;
      }
      drain();
    });
    return;
  }
  drain();
}

void TaskService::ReportExit(Process* p) {
  if (!p->exit_pending) return;
  if (p->starting) {
    p->report_after_start = true;
    return;
  }
  p->report_after_start = false;
  p->exit_pending = false;
  if (Status st = p->SetState(ProcState::kStopped); !st.ok()) {
    BLOG(Warn) << st;
    return;
  }
  if (p->is_init()) {
    if (oom_) oom_->Poll();
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
  if (!p->start_failed) Publish("/tasks/exit", "containerd.events.TaskExit", ev);
  task::WaitResponse resp;
  resp.set_exit_status(p->exit_status);
  *resp.mutable_exited_at() = ev.exited_at();
  std::string bytes = resp.SerializeAsString();
  auto waiters = std::move(p->waiters);
  p->waiters.clear();
  for (auto& w : waiters) w(bytes);
}

}  // namespace berth::shim
