// berth stop / kill / rm / logs: the rest of a container's life.
//   stop [-t SECONDS] [-s SIGNAL] C...  signal (TERM), wait, SIGKILL after the grace period; the
//                                       task is then deleted and its exit kept (ps -a: Exited)
//   kill [-s SIGNAL] C...               send a signal (KILL) to the container's init process
//   rm [-f] C...                        delete task, container, snapshot and log (-f: kill first)
//   logs [-f] C                         what a -d container wrote (stdout and stderr, in order)
//   pause C... / unpause C...           freeze and thaw a container's processes (cgroup freezer)
// Each prints the id of every container it acted on, like docker, and exits 1 if any failed.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "cmd/berth/create.h"

namespace berth::cli {
namespace {

Status Signal(const Globals& g, const std::string& id, int sig) {
  auto stub = tkv1::Tasks::NewStub(Connect(g));
  auto ctx = NewContext(g);
  tkv1::KillRequest req;
  req.set_container_id(id);
  req.set_signal(static_cast<uint32_t>(sig));
  google::protobuf::Empty empty;
  return FromGrpc(stub->Kill(ctx.get(), req, &empty));
}

}  // namespace

Status StopContainer(const Globals& g, const std::string& arg, int sig, int grace_seconds, std::string* id_out) {
  ASSIGN_OR_RETURN(cov1::Container c, FindContainer(g, arg));
  *id_out = c.id();
  // Unless given, the signal and grace period the container was made with (--stop-signal, the
  // image's StopSignal, --stop-timeout), else TERM and 10 s.
  if (sig <= 0) {
    auto label = c.labels().find(kLabelStopSignal);
    sig = SIGTERM;
    if (label != c.labels().end()) {
      ASSIGN_OR_RETURN(sig, ParseSignal(label->second));
    }
  }
  if (grace_seconds < 0) {
    auto label = c.labels().find(kLabelStopTimeout);
    grace_seconds = label != c.labels().end() ? atoi(label->second.c_str()) : 10;
  }
  RETURN_IF_ERROR(DisarmRestart(g, c));
  ASSIGN_OR_RETURN(auto task, GetTask(g, c.id()));
  if (!task) return Status();  // never started, or already stopped and deleted
  if (IsLive(task)) {
    if (task->status() != containerd::v1::types::RUNNING) {
      // A frozen process cannot act on the signal: thaw it first, as docker does.
      auto stub = tkv1::Tasks::NewStub(Connect(g));
      auto ctx = NewContext(g);
      tkv1::ResumeTaskRequest req;
      req.set_container_id(c.id());
      google::protobuf::Empty empty;
      (void)stub->Resume(ctx.get(), req, &empty);
    }
    // NotFound: it exited (or its task went) between the listing and the signal; stopped it is.
    Status sent = Signal(g, c.id(), sig);
    if (!sent.ok() && !absl::IsNotFound(sent)) return sent;
    auto exit = WaitProcess(g, c.id(), "", int64_t{grace_seconds} * 1000);
    if (absl::IsDeadlineExceeded(exit.status())) {
      sent = Signal(g, c.id(), SIGKILL);
      if (!sent.ok() && !absl::IsNotFound(sent)) return sent;
      exit = WaitProcess(g, c.id(), "", 30000);
    }
    if (absl::IsNotFound(exit.status())) return Status();  // the task is gone already
    RETURN_IF_ERROR(exit.status());
    return DeleteTaskKeepExit(g, c.id(), *exit);
  }
  // Exited on its own: collect it the same way.
  tkv1::WaitResponse exit;
  exit.set_exit_status(task->exit_status());
  *exit.mutable_exited_at() = task->exited_at();
  return DeleteTaskKeepExit(g, c.id(), exit);
}

namespace {

// Runs `fn` on every argument, printing the id on success and the error otherwise.
void ForEach(Globals& g, const std::vector<std::string>& args,
             const std::function<Status(const std::string&, std::string*)>& fn) {
  for (const auto& a : args) {
    std::string id = a;
    Status s = fn(a, &id);
    if (s.ok()) {
      std::cout << a << "\n";
    } else {
      std::cerr << "berth: " << id << ": " << s.message() << "\n";
      g.exit_code = 1;
    }
  }
}

Status Logs(const Globals& g, const std::string& arg, bool follow) {
  ASSIGN_OR_RETURN(cov1::Container c, FindContainer(g, arg));
  auto label = c.labels().find(kLabelLogPath);
  if (label == c.labels().end()) {
    return absl::FailedPreconditionError(
        StrCat("container ", c.id(), " has no log: only containers run with -d have one"));
  }
  UniqueFd fd(::open(label->second.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd && errno != ENOENT) return absl::InternalError(StrCat("open ", label->second, ": ", strerror(errno)));
  char buf[64 * 1024];
  auto copy = [&]() -> Status {
    if (!fd) {
      fd.Reset(::open(label->second.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) return Status();
    }
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return absl::InternalError(StrCat("read ", label->second, ": ", strerror(errno)));
      if (n == 0) return Status();
      std::cout.write(buf, n);
    }
  };
  RETURN_IF_ERROR(copy());
  std::cout.flush();
  while (follow) {
    ASSIGN_OR_RETURN(auto task, GetTask(g, c.id()));
    bool live = IsLive(task);
    RETURN_IF_ERROR(copy());  // after the state check: nothing written before the exit is missed
    std::cout.flush();
    if (!live) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return Status();
}

}  // namespace

void SetupStop(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("stop", "stop containers: a signal, then SIGKILL after a grace period");
  static std::vector<std::string> ids;
  static int grace = -1;
  static std::string signal;
  c->add_option("-t,--time", grace, "seconds to wait before SIGKILL (default: --stop-timeout, or 10)");
  c->add_option("-s,--signal", signal, "signal to send first (default: --stop-signal, the image's, or TERM)");
  c->add_option("container", ids, "container ids or unique prefixes")->required();
  c->callback([&g] {
    int sig = 0;
    if (!signal.empty()) {
      auto parsed = ParseSignal(signal);
      if (!parsed.ok()) return void(g.exit_code = Fail(parsed.status(), 1));
      sig = *parsed;
    }
    ForEach(g, ids, [&](const std::string& a, std::string* id) { return StopContainer(g, a, sig, grace, id); });
  });
}

void SetupKill(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("kill", "send a signal to containers' init processes");
  static std::vector<std::string> ids;
  static std::string signal = "KILL";
  c->add_option("-s,--signal", signal, "signal name or number")->capture_default_str();
  c->add_option("container", ids, "container ids or unique prefixes")->required();
  c->callback([&g] {
    auto sig = ParseSignal(signal);
    if (!sig.ok()) return void(g.exit_code = Fail(sig.status(), 1));
    ForEach(g, ids, [&](const std::string& a, std::string* id) -> Status {
      ASSIGN_OR_RETURN(cov1::Container ct, FindContainer(g, a));
      *id = ct.id();
      ASSIGN_OR_RETURN(auto task, GetTask(g, ct.id()));
      if (!IsLive(task)) return absl::FailedPreconditionError(StrCat("container ", ct.id(), " is not running"));
      return Signal(g, ct.id(), *sig);
    });
  });
}

void SetupRm(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("rm", "remove containers");
  static std::vector<std::string> ids;
  static bool force = false, volumes = false;
  c->add_flag("-f,--force", force, "kill running containers first");
  c->add_flag("-v,--volumes", volumes, "remove the anonymous volumes made for the containers too");
  c->add_option("container", ids, "container ids or unique prefixes")->required();
  c->callback([&g] {
    ForEach(g, ids, [&](const std::string& a, std::string* id) -> Status {
      ASSIGN_OR_RETURN(cov1::Container ct, FindContainer(g, a));
      *id = ct.id();
      return RemoveContainer(g, ct, force, volumes);
    });
  });
}

// pause and unpause: one Tasks call each per container.
void SetupFreeze(CLI::App& app, Globals& g, const char* verb, const char* help, bool pause) {
  auto* c = app.add_subcommand(verb, help);
  auto ids = std::make_shared<std::vector<std::string>>();
  c->add_option("container", *ids, "container ids or unique prefixes")->required();
  c->callback([&g, ids, pause] {
    ForEach(g, *ids, [&](const std::string& a, std::string* id) -> Status {
      ASSIGN_OR_RETURN(cov1::Container ct, FindContainer(g, a));
      *id = ct.id();
      auto stub = tkv1::Tasks::NewStub(Connect(g));
      auto ctx = NewContext(g);
      google::protobuf::Empty empty;
      if (pause) {
        tkv1::PauseTaskRequest req;
        req.set_container_id(ct.id());
        return FromGrpc(stub->Pause(ctx.get(), req, &empty));
      }
      tkv1::ResumeTaskRequest req;
      req.set_container_id(ct.id());
      return FromGrpc(stub->Resume(ctx.get(), req, &empty));
    });
  });
}

void SetupPause(CLI::App& app, Globals& g) { SetupFreeze(app, g, "pause", "freeze containers' processes", true); }
void SetupUnpause(CLI::App& app, Globals& g) { SetupFreeze(app, g, "unpause", "thaw paused containers", false); }

void SetupLogs(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("logs", "print what a detached container wrote");
  static std::string id;
  static bool follow = false;
  c->add_flag("-f,--follow", follow, "keep printing until the container exits");
  c->add_option("container", id, "container id or unique prefix")->required();
  c->callback([&g] {
    Status s = Logs(g, id, follow);
    if (!s.ok()) g.exit_code = Fail(s, 1);
  });
}

}  // namespace berth::cli
