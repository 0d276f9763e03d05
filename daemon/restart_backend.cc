// The restart monitor's backend over the Daemon: containers from the metadata store, tasks
// through the task manager, created as Tasks/Create creates them (daemon/task_start.h).
#include <google/protobuf/empty.pb.h>

#include <chrono>

#include "common/filters.h"
#include "common/log.h"
#include "containerd/events/container.pb.h"
#include "daemon/daemon.h"
#include "daemon/publish.h"
#include "daemon/restart_monitor.h"
#include "daemon/task_start.h"

namespace berth::daemon {
namespace {

namespace shim = containerd::task::v2;
using namespace std::chrono_literals;
using State = ObservedTask::State;

constexpr auto kStateTimeout = 2s;
// How long a SIGKILLed task may take to be reported exited before the change is given up (it is
// tried again at the next interval).
constexpr auto kKillWaitTimeout = 30s;

class DaemonRestartBackend final : public RestartBackend {
 public:
  explicit DaemonRestartBackend(Daemon& d) : d_(d) {}

  StatusOr<std::vector<std::string>> Namespaces() override {
    ASSIGN_OR_RETURN(auto list, d_.namespaces->List());
    std::vector<std::string> out;
    for (const auto& n : list) out.push_back(n.name);
    return out;
  }

  StatusOr<std::vector<Labelled>> Containers(const std::string& ns) override {
    ASSIGN_OR_RETURN(Filter filter, Filter::Parse(StrCat("labels.\"", kRestartStatusLabel, "\"")));
    ASSIGN_OR_RETURN(auto list, d_.containers->List(ns, filter));
    std::vector<Labelled> out;
    for (auto& c : list) out.push_back(Labelled{c.id, RestartLabels(c.labels.begin(), c.labels.end())});
    return out;
  }

  ObservedTask Observe(const std::string& ns, const std::string& id) override {
    ObservedTask o;
    auto t = d_.tasks->Get(ns, id);
    if (!t.ok()) {
      o.state = absl::IsNotFound(t.status()) ? State::kMissing : State::kUnknown;
      return o;
    }
    shim::StateRequest req;
    req.set_id(id);
    auto st = (*t)->shim().Call<shim::StateResponse>("State", req, kStateTimeout);
    if (!st.ok()) {
      o.state = State::kUnknown;
      return o;
    }
    switch (st->status()) {
      case containerd::v1::types::CREATED: o.state = State::kCreated; break;
      case containerd::v1::types::RUNNING: o.state = State::kRunning; break;
      case containerd::v1::types::STOPPED: o.state = State::kStopped; break;
      case containerd::v1::types::PAUSED: o.state = State::kPaused; break;
      case containerd::v1::types::PAUSING: o.state = State::kPausing; break;
      default: o.state = State::kUnknown; break;
    }
    o.exit_status = st->exit_status();
    return o;
  }

  // containerd's killTask: SIGKILL to every process, wait for the exit, delete the task.
  Status StopTask(const std::string& ns, const std::string& id) override {
    auto t = d_.tasks->Get(ns, id);
    if (!t.ok()) return absl::IsNotFound(t.status()) ? Status() : t.status();
    shim::StateRequest sreq;
    sreq.set_id(id);
    auto st = (*t)->shim().Call<shim::StateResponse>("State", sreq, kStateTimeout);
    if (st.ok() && st->status() != containerd::v1::types::STOPPED) {
      shim::KillRequest kreq;
      kreq.set_id(id);
      kreq.set_signal(9);
      kreq.set_all(true);
      auto k = (*t)->shim().Call<google::protobuf::Empty>("Kill", kreq);
      if (k.ok()) {
        shim::WaitRequest wreq;
        wreq.set_id(id);
        auto w = (*t)->shim().Call<shim::WaitResponse>("Wait", wreq, kKillWaitTimeout);
        if (!w.ok()) {
          BLOG(Warn) << "restart monitor: wait for " << ns << "/" << id << ": " << w.status();
        }
      } else {
        BLOG(Warn) << "restart monitor: kill " << ns << "/" << id << ": " << k.status();
      }
    }
    t->reset();  // the task manager's Delete closes the shim client; hold no reference to it
    auto deleted = d_.tasks->Delete(ns, id);
    if (!deleted.ok() && !absl::IsNotFound(deleted.status())) {
      return Annotate(deleted.status(), "delete task");
    }
    return Status();
  }

  Status StartTask(const std::string& ns, const std::string& id, const std::string& log_uri, int count) override {
    ASSIGN_OR_RETURN(metadata::Container c, d_.containers->Get(ns, id));
    RETURN_IF_ERROR(RecordCount(ns, c, count));
    RETURN_IF_ERROR(StopTask(ns, id));
    runtime::CreateTaskParams p = ContainerTaskParams(ns, c);
    if (!c.snapshot_key.empty()) {
      auto sn = d_.snapshotters.find(c.snapshotter);
      if (sn == d_.snapshotters.end()) {
        return absl::FailedPreconditionError(StrCat("snapshotter ", c.snapshotter, " of container ", id,
                                                    ": not loaded"));
      }
      ASSIGN_OR_RETURN(auto mounts, sn->second->Mounts(ns, c.snapshot_key));
      for (const auto& m : mounts) {
        auto* pm = p.request.add_rootfs();
        pm->set_type(m.type);
        pm->set_source(m.source);
        pm->set_target(m.target);
        for (const auto& o : m.options) pm->add_options(o);
      }
    }
    p.request.set_stdout(log_uri);
    p.request.set_stderr(log_uri);
    auto created = d_.tasks->Create(std::move(p));
    if (!created.ok()) return Annotate(created.status(), "create task");
    std::shared_ptr<runtime::Task> t = std::move(*created);
    auto pid = StartTaskProcess(*t, "");
    t.reset();
    if (!pid.ok()) {
      if (auto del = d_.tasks->Delete(ns, id); !del.ok()) {
        BLOG(Warn) << "restart monitor: delete unstarted task " << ns << "/" << id << ": " << del.status();
      }
      return Annotate(pid.status(), "start task");
    }
    BLOG(Info) << "restart monitor: started " << ns << "/" << id << " (pid " << *pid << ")";
    return Status();
  }

 private:
  // Sets restart.count on the container, publishing /containers/update as the Containers
  // service does.
  Status RecordCount(const std::string& ns, metadata::Container& c, int count) {
    c.labels[kRestartCountLabel] = std::to_string(count);
    ASSIGN_OR_RETURN(c, d_.containers->Update(ns, c, {StrCat("labels.", kRestartCountLabel)}));
    PublishContainerUpdate(*d_.events, ns, c);
    return Status();
  }

  Daemon& d_;
};

}  // namespace

std::unique_ptr<RestartBackend> NewDaemonRestartBackend(Daemon& d) { return std::make_unique<DaemonRestartBackend>(d); }

}  // namespace berth::daemon
