#include "runtime/task_manager.h"

#include <future>

#include <time.h>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/log.h"
#include "common/scope_exit.h"
#include "containerd/events/task.pb.h"
#include "runtime/oom_score.h"

namespace berth::runtime {
namespace task = containerd::task::v2;
using namespace std::chrono_literals;

namespace {

std::string Tag(const Bundle& b) { return StrCat(b.ns, "/", b.id); }

Status TaskNotFound(const std::string& id) { return absl::NotFoundError(StrCat("task ", id, " not found")); }

void SetTime(int64_t ns, google::protobuf::Timestamp* ts) {
  ts->set_seconds(ns / 1000000000);
  ts->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The exit status the shim recorded in <bundle>/exit.json, if any.
std::optional<ShimDeleteResult> ReadExitFile(const Bundle& b) {
  auto data = ReadFile(b.File("exit.json"));
  if (!data.ok()) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(*data);
    ShimDeleteResult r;
    r.pid = j.value("pid", 0u);
    r.exit_status = j.value("exit_status", 0u);
    r.exited_at_ns = j.value("exited_at_ns", int64_t{0});
    return r;
  } catch (const std::exception& e) {
    BLOG(Warn) << "task " << Tag(b) << ": bad exit.json: " << e.what();
    return std::nullopt;
  }
}

}  // namespace

TaskManager::TaskManager(TaskManagerOptions opts, EventPublisher publish, Executor executor)
    : opts_(std::move(opts)), publish_(std::move(publish)), executor_(std::move(executor)) {}

TaskManager::~TaskManager() {
  std::map<Key, std::shared_ptr<Task>> tasks;
  {
    std::lock_guard<std::mutex> l(mu_);
    closing_ = true;
    tasks.swap(tasks_);
  }
  // Connections close; shims keep running and are reconnected by the next berthd.
  tasks.clear();
}

StatusOr<std::shared_ptr<Task>> TaskManager::Launch(const Bundle& b, const std::string& runtime,
                                                    const std::string& binary, const std::string& options_any) {
  ASSIGN_OR_RETURN(int log_fd, OpenLogFifo(b));
  logs_.Add(UniqueFd(log_fd), Tag(b));
  ASSIGN_OR_RETURN(std::string address, StartShim(binary, b, opts_.env, options_any));
  ASSIGN_OR_RETURN(auto client, ShimClient::Connect(address, OnShimClosed(b.ns, b.id)));
  // Before Create, so runc and the container inherit it as under containerd. containerd's shims
  // set this themselves from their parent (berthd); doing it here covers any shim binary.
  task::ConnectRequest creq;
  creq.set_id(b.id);
  auto conn = client->Call<task::ConnectResponse>("Connect", creq, 5s);
  if (!conn.ok()) {
    BLOG(Warn) << "task " << Tag(b) << ": shim Connect: " << conn.status();
  } else if (conn->shim_pid() > 0) {
    if (Status s = AdjustShimOomScore(static_cast<pid_t>(conn->shim_pid())); !s.ok()) {
      BLOG(Warn) << "task " << Tag(b) << ": " << s;
    }
  }
  return std::make_shared<Task>(b, runtime, binary, std::move(client));
}

StatusOr<std::shared_ptr<Task>> TaskManager::Create(CreateTaskParams p) {
  Key key{p.ns, p.id};
  {
    std::lock_guard<std::mutex> l(mu_);
    if (tasks_.count(key) != 0) return absl::AlreadyExistsError(StrCat("task ", p.id, ": already exists"));
    tasks_[key] = nullptr;  // reserved
  }
  bool registered = false;
  ScopeExit unreserve([&] {
    if (registered) return;
    std::lock_guard<std::mutex> l(mu_);
    auto it = tasks_.find(key);
    if (it != tasks_.end() && it->second == nullptr) tasks_.erase(it);
  });

  std::string runtime = p.runtime.empty() ? opts_.default_runtime : p.runtime;
  ASSIGN_OR_RETURN(std::string binary, ResolveShimBinary(runtime, opts_.runtime_shims, opts_.env.self_exe));
  ASSIGN_OR_RETURN(Bundle b, CreateBundle(opts_.root, opts_.state, p.ns, p.id, p.spec_json));
  bool bundle_kept = false;
  ScopeExit remove_bundle([&] {
    if (bundle_kept) return;
    logs_.Remove(Tag(b));
    Status s = DeleteBundle(b);
    if (!s.ok()) {
      BLOG(Warn) << "task " << Tag(b) << ": remove bundle: " << s;
    }
  });
  RETURN_IF_ERROR(WriteFileAtomic(b.File("shim-binary-path"), binary, 0644));

  auto launched = Launch(b, runtime, binary, p.options_any);
  if (!launched.ok()) {
    // A start that failed half way may have left a shim behind.
    auto r = RunShimDelete(binary, b, opts_.env);
    (void)r;
    return Annotate(launched.status(), StrCat("create task ", p.id));
  }
  std::shared_ptr<Task> t = *std::move(launched);

  p.request.set_id(p.id);
  p.request.set_bundle(b.path);
  auto created = t->shim().Call<task::CreateTaskResponse>("Create", p.request);
  if (!created.ok()) {
    BLOG(Warn) << "task " << Tag(b) << ": shim create failed: " << created.status();
    {
      std::lock_guard<std::mutex> l(mu_);
      t->deleting_ = true;
    }
    Shutdown(*t);
    auto r = RunShimDelete(binary, b, opts_.env);
    if (!r.ok()) {
      BLOG(Warn) << "task " << Tag(b) << ": shim delete: " << r.status();
    }
    return created.status();
  }
  t->pid_ = created->pid();
  {
    std::lock_guard<std::mutex> l(mu_);
    tasks_[key] = t;
    registered = true;
  }
  bundle_kept = true;
  return t;
}

StatusOr<std::shared_ptr<Task>> TaskManager::Get(const std::string& ns, const std::string& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = tasks_.find(Key{ns, id});
  if (it == tasks_.end() || it->second == nullptr || it->second->deleting_) return TaskNotFound(id);
  return it->second;
}

std::vector<std::shared_ptr<Task>> TaskManager::List(const std::string& ns) {
  std::vector<std::shared_ptr<Task>> out;
  std::lock_guard<std::mutex> l(mu_);
  for (auto it = tasks_.lower_bound(Key{ns, ""}); it != tasks_.end() && it->first.first == ns; ++it) {
    if (it->second != nullptr && !it->second->deleting_) out.push_back(it->second);
  }
  return out;
}

void TaskManager::Shutdown(Task& t) {
  task::ShutdownRequest req;
  req.set_id(t.id());
  auto r = t.shim().Call<google::protobuf::Empty>("Shutdown", req, 3s);
  (void)r;  // the shim exits and the connection closes: "ttrpc: closed" is the normal answer
  // As containerd does, wait (3 s at most) for the shim to close its end as it exits, so the
  // bundle is not removed under a shim that is still running (containerd's own shim answers
  // Shutdown before it exits).
  auto closed = std::make_shared<std::promise<void>>();
  std::future<void> done = closed->get_future();
  t.shim().OnClose([closed] { closed->set_value(); });
  done.wait_for(3s);
  t.shim().Close();
}

StatusOr<task::DeleteResponse> TaskManager::Delete(const std::string& ns, const std::string& id) {
  std::shared_ptr<Task> t;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = tasks_.find(Key{ns, id});
    if (it == tasks_.end() || it->second == nullptr || it->second->deleting_) return TaskNotFound(id);
    t = it->second;
    t->deleting_ = true;
  }
  task::DeleteRequest req;
  req.set_id(id);
  auto resp = t->shim().Call<task::DeleteResponse>("Delete", req, 30s);
  if (!resp.ok() && !absl::IsNotFound(resp.status()) && !t->shim().closed()) {
    std::lock_guard<std::mutex> l(mu_);
    t->deleting_ = false;
    return resp.status();
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    tasks_.erase(Key{ns, id});
  }
  Shutdown(*t);
  if (!resp.ok()) {
    // The shim is gone or lost the task: its delete action cleans up.
    CleanupDeadShim(t->bundle(), t->shim_binary(), /*publish=*/true);
    return resp.status();
  }
  logs_.Remove(Tag(t->bundle()));
  Status s = DeleteBundle(t->bundle());
  if (!s.ok()) {
    BLOG(Warn) << "task " << Tag(t->bundle()) << ": remove bundle: " << s;
  }
  return resp;
}

std::function<void()> TaskManager::OnShimClosed(const std::string& ns, const std::string& id) {
  return [this, ns, id] {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (closing_) return;
      auto it = tasks_.find(Key{ns, id});
      if (it == tasks_.end() || it->second == nullptr || it->second->deleting_) return;
      it->second->deleting_ = true;
    }
    // Off the client's io thread: the cleanup destroys the client.
    executor_([this, ns, id] {
      std::shared_ptr<Task> t;
      {
        std::lock_guard<std::mutex> l(mu_);
        auto it = tasks_.find(Key{ns, id});
        if (it == tasks_.end() || it->second == nullptr) return;
        t = it->second;
        tasks_.erase(it);
      }
      BLOG(Warn) << "task " << ns << "/" << id << ": shim disconnected, cleaning up";
      CleanupDeadShim(t->bundle(), t->shim_binary(), /*publish=*/true);
    });
  };
}

void TaskManager::CleanupDeadShim(const Bundle& b, const std::string& binary, bool publish) {
  std::optional<ShimDeleteResult> exit = ReadExitFile(b);
  if (!binary.empty()) {
    auto r = RunShimDelete(binary, b, opts_.env);
    if (!r.ok()) {
      BLOG(Warn) << "task " << Tag(b) << ": shim delete action: " << r.status();
    } else if (!exit) {
      exit = *r;
    }
  }
  if (!exit) exit = ShimDeleteResult{0, 255, NowNs()};
  if (exit->exited_at_ns == 0) exit->exited_at_ns = NowNs();
  if (publish) {
    containerd::events::TaskExit ev;
    ev.set_container_id(b.id);
    ev.set_id(b.id);
    ev.set_pid(exit->pid);
    ev.set_exit_status(exit->exit_status);
    SetTime(exit->exited_at_ns, ev.mutable_exited_at());
    publish_(b.ns, "/tasks/exit", ev);
    containerd::events::TaskDelete del;
    del.set_container_id(b.id);
    del.set_pid(exit->pid);
    del.set_exit_status(exit->exit_status);
    SetTime(exit->exited_at_ns, del.mutable_exited_at());
    publish_(b.ns, "/tasks/delete", del);
  }
  logs_.Remove(Tag(b));
  Status s = DeleteBundle(b);
  if (!s.ok()) {
    BLOG(Warn) << "task " << Tag(b) << ": remove bundle: " << s;
  }
}

void TaskManager::LoadExisting() {
  for (const Bundle& b : ListBundles(opts_.root, opts_.state)) {
    auto binary = ReadFile(b.File("shim-binary-path"));
    std::string bin = binary.ok() ? *binary : "";
    auto address = ReadFile(b.File("address"));
    if (!address.ok()) {
      BLOG(Warn) << "task " << Tag(b) << ": no shim address, removing the bundle";
      CleanupDeadShim(b, bin, /*publish=*/false);
      continue;
    }
    std::string addr = *address;
    while (!addr.empty() && (addr.back() == '\n' || addr.back() == ' ')) addr.pop_back();
    auto log_fd = OpenLogFifo(b);
    if (log_fd.ok()) logs_.Add(UniqueFd(*log_fd), Tag(b));
    auto client = ShimClient::Connect(addr, OnShimClosed(b.ns, b.id));
    if (!client.ok()) {
      BLOG(Warn) << "task " << Tag(b) << ": shim at " << addr << " is gone (" << client.status() << "), cleaning up";
      CleanupDeadShim(b, bin, /*publish=*/true);
      continue;
    }
    auto t = std::make_shared<Task>(b, "", bin, *std::move(client));
    {
      std::lock_guard<std::mutex> l(mu_);
      tasks_[Key{b.ns, b.id}] = t;
    }
    // The connection may have closed between Connect and registration.
    if (t->shim().closed()) OnShimClosed(b.ns, b.id)();
    // A shim that has no task (berthd stopped after starting it, before or during its Create)
    // would hold the container forever: Create says AlreadyExists while Get, List and Delete see
    // no task. Its Create failed as far as any client knows: shut it down, run its delete
    // action (which removes a half-created runc container) and remove the bundle.
    task::StateRequest sreq;
    sreq.set_id(b.id);
    auto state = t->shim().Call<task::StateResponse>("State", sreq, 5s);
    if (absl::IsNotFound(state.status())) {
      bool ours = false;
      {
        std::lock_guard<std::mutex> l(mu_);
        auto it = tasks_.find(Key{b.ns, b.id});
        if (it != tasks_.end() && it->second == t && !t->deleting_) {
          t->deleting_ = true;
          tasks_.erase(it);
          ours = true;
        }
      }
      if (ours) {
        BLOG(Warn) << "task " << Tag(b) << ": shim at " << addr << " has no task (" << state.status()
                   << "), its create did not finish: cleaning up";
        Shutdown(*t);
        CleanupDeadShim(b, bin, /*publish=*/false);
      }
      continue;
    }
    BLOG(Info) << "task " << Tag(b) << ": reconnected to shim at " << addr;
  }
}

}  // namespace berth::runtime
