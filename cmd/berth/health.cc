#include "cmd/berth/health.h"

#include "cmd/berth/networks.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "cmd/berth/containers.h"
#include "cmd/berth/create.h"
#include "common/fs.h"

namespace berth::cli {

std::string HealthConfig::ToJson() const {
  return nlohmann::json{{"test", test},
                        {"interval", interval_ns},
                        {"timeout", timeout_ns},
                        {"start_period", start_period_ns},
                        {"retries", retries}}
      .dump();
}

StatusOr<HealthConfig> HealthConfig::FromJson(const std::string& json) {
  try {
    auto j = nlohmann::json::parse(json);
    HealthConfig h;
    h.test = j.at("test").get<std::vector<std::string>>();
    h.interval_ns = j.value("interval", h.interval_ns);
    h.timeout_ns = j.value("timeout", h.timeout_ns);
    h.start_period_ns = j.value("start_period", h.start_period_ns);
    h.retries = j.value("retries", h.retries);
    if (h.interval_ns <= 0) h.interval_ns = 30'000'000'000;
    if (h.timeout_ns <= 0) h.timeout_ns = 30'000'000'000;
    if (h.retries <= 0) h.retries = 3;
    return h;
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(StrCat("health check config: ", e.what()));
  }
}

StatusOr<ProbeResult> Probe(const Globals& g, const std::string& id, const HealthConfig& h) {
  std::vector<std::string> args;
  if (h.test.size() >= 2 && h.test[0] == "CMD-SHELL") {
    args = {"/bin/sh", "-c", h.test[1]};
  } else if (h.test.size() >= 2 && h.test[0] == "CMD") {
    args.assign(h.test.begin() + 1, h.test.end());
  } else {
    return absl::InvalidArgumentError("health check test must be CMD or CMD-SHELL with a command");
  }
  ASSIGN_OR_RETURN(cov1::Container c, FindContainer(g, id));
  nlohmann::json process;
  try {
    process = nlohmann::json::parse(c.spec().value()).at("process");
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(StrCat("container ", id, ": unreadable spec: ", e.what()));
  }
  process["args"] = args;
  process["terminal"] = false;
  std::string exec_id = "health-" + NewContainerId().substr(0, 12);
  ASSIGN_OR_RETURN(auto fifos, FifoSet::Create(g.fifo_dir, exec_id, false, true));
  int out = ::memfd_create("health-output", MFD_CLOEXEC);
  if (out < 0) return ErrnoStatus(errno, "memfd_create");
  UniqueFd out_fd(out);
  auto tasks = tkv1::Tasks::NewStub(Connect(g));
  {
    auto ctx = NewContext(g);
    tkv1::ExecProcessRequest req;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    req.set_stdout(fifos->stdout_path());
    req.set_stderr(fifos->stderr_path());
    req.mutable_spec()->set_type_url(kProcessTypeUrl);
    req.mutable_spec()->set_value(process.dump());
    google::protobuf::Empty empty;
    RETURN_IF_ERROR(FromGrpc(tasks->Exec(ctx.get(), req, &empty)));
  }
  auto remove = [&] {
    auto ctx = NewContext(g);
    tkv1::DeleteProcessRequest req;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    tkv1::DeleteResponse resp;
    (void)tasks->DeleteProcess(ctx.get(), req, &resp);
  };
  ProbeResult r;
  {
    IoCopier io(*fifos, false, nullptr, out_fd.get(), out_fd.get());
    if (Status s = StartProcess(g, id, exec_id); !s.ok()) {
      io.Drain();
      remove();
      r.output = std::string(s.message());
      return r;  // a probe that cannot start is a failed probe
    }
    auto exit = WaitProcess(g, id, exec_id, h.timeout_ns / 1'000'000);
    if (!exit.ok() && absl::IsDeadlineExceeded(exit.status())) {
      auto ctx = NewContext(g);
      tkv1::KillRequest kill;
      kill.set_container_id(id);
      kill.set_exec_id(exec_id);
      kill.set_signal(SIGKILL);
      google::protobuf::Empty empty;
      (void)tasks->Kill(ctx.get(), kill, &empty);
      (void)WaitProcess(g, id, exec_id, 10'000);
      r.output = StrCat("health check exceeded its timeout of ", h.timeout_ns / 1'000'000, " ms");
    } else if (exit.ok()) {
      r.exit_code = static_cast<int>(exit->exit_status());
    }
    io.Drain();
  }
  remove();
  if (r.output.empty()) {
    char buf[4096];
    ssize_t n = ::pread(out_fd.get(), buf, sizeof buf, 0);
    if (n > 0) r.output.assign(buf, static_cast<size_t>(n));
  }
  return r;
}

namespace {

Status SetHealth(const Globals& g, const std::string& id, const std::string& status, int streak) {
  return UpdateLabels(g, id, {{kLabelHealthStatus, status}, {kLabelHealthStreak, std::to_string(streak)}});
}

}  // namespace

int RunHealthMonitor(const Globals& g, const std::string& id) {
  using namespace std::chrono;
  auto c = FindContainer(g, id);
  if (!c.ok()) return 0;
  auto it = c->labels().find(kLabelHealthConfig);
  if (it == c->labels().end()) return 0;
  auto h = HealthConfig::FromJson(it->second);
  if (!h.ok() || h->test.empty() || h->test[0] == "NONE") return 0;
  // One monitor per container: a later start (or a restart of the container) finds this one.
  if (!MkdirAll(g.fifo_dir, 0700).ok()) return 1;
  const std::string lock_path = JoinPath(g.fifo_dir, "health-" + c->id() + ".lock");
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock.get() < 0 || ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) return 0;
  auto started = steady_clock::now();
  std::string status = "starting";
  int streak = 0;
  (void)SetHealth(g, id, status, streak);
  while (true) {
    std::this_thread::sleep_for(nanoseconds(h->interval_ns));
    auto cur = FindContainer(g, id);
    if (!cur.ok()) {
      if (absl::IsNotFound(cur.status())) {  // deleted: the monitor's work is done
        ::unlink(lock_path.c_str());
        return 0;
      }
      continue;
    }
    auto task = GetTask(g, id);
    if (!task.ok() || !*task || (*task)->status() != containerd::v1::types::RUNNING) {
      // Stopped (perhaps to be restarted): a new start begins again from "starting".
      if (status != "starting" || streak != 0) {
        status = "starting";
        streak = 0;
        started = steady_clock::now();
        (void)SetHealth(g, id, status, streak);
      }
      continue;
    }
    auto r = Probe(g, id, *h);
    bool ok = r.ok() && r->exit_code == 0;
    bool in_start_period = steady_clock::now() - started < nanoseconds(h->start_period_ns);
    std::string next = status;
    if (ok) {
      streak = 0;
      next = "healthy";
    } else if (!in_start_period) {
      streak++;
      if (streak >= h->retries) next = "unhealthy";
    }
    (void)SetHealth(g, id, next, streak);
    status = next;
  }
}

Status SpawnHealthMonitor(const Globals& g, const std::string& id) {
  std::vector<std::string> args = {"/proc/self/exe", "-a", g.address, "-n", g.ns, "--fifo-dir", g.fifo_dir,
                                    "internal", "health-monitor", id};
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus(errno, "fork health monitor");
  if (pid == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);  // the grandchild is adopted by init (or a subreaper)
    sigset_t none;  // the caller may hold signals blocked (SignalProxy); the monitor must not
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    for (int fd = 3; fd < 1024; fd++) ::close(fd);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  return Status();
}

std::string HealthSuffix(const google::protobuf::Map<std::string, std::string>& labels) {
  if (!labels.count(kLabelHealthConfig)) return "";
  auto it = labels.find(kLabelHealthStatus);
  std::string s = it == labels.end() ? "starting" : it->second;
  if (s == "starting") return "(health: starting)";
  return "(" + s + ")";
}

void SetupInternal(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("internal", "");  // no description: hidden from help
  c->group("");
  c->require_subcommand(1);
  auto* hm = c->add_subcommand("health-monitor", "run a container's health checks until it is deleted");
  auto id = std::make_shared<std::string>();
  hm->add_option("container", *id, "container id")->required();
  hm->callback([&g, id] { g.exit_code = RunHealthMonitor(g, *id); });
  AddOciHookCommand(c, g);
}

}  // namespace berth::cli
