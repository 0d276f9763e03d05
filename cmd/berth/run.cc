// berth run [FLAGS] IMAGE [COMMAND [ARG...]]   (FLAGS: container_flags.h)
//
// What `docker run` does, against berthd: the container is made as `create` makes it
// (create.h), then its task is created and started. Attached, stdio goes through FIFOs (terminal in raw mode
// with -t, our signals forwarded to the process) and berth exits with the process's status; the
// task is then deleted and the exit kept as labels (or everything removed with --rm). Detached
// (-d), the shim appends stdout and stderr to <log-dir>/<ns>/<id>.log and berth prints the id;
// with --rm too, berthd removes the container when its process exits (label berth/auto-remove).
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <set>

#include "cmd/berth/create.h"
#include "cmd/berth/health.h"
#include "cmd/berth/paths.h"

namespace berth::cli {
namespace {

// Logs and /etc files of containers that are gone without `berth rm` (auto-removed by berthd,
// or removed by another client): deleted whenever a detached container starts.
void SweepOrphanLogs(const Globals& g) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(g.log_dir) / g.ns;
  auto containers = cov1::Containers::NewStub(Connect(g));
  auto ctx = NewContext(g);
  cov1::ListContainersResponse resp;
  if (!containers->List(ctx.get(), cov1::ListContainersRequest(), &resp).ok()) return;
  std::set<std::string> live;
  for (const auto& c : resp.containers()) live.insert(c.id());
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".log") continue;
    if (!live.count(e.path().stem().string())) std::filesystem::remove(e.path(), ec);
  }
  std::filesystem::path etc = std::filesystem::path(ContainerDir(g, "x")).parent_path();
  for (const auto& e : std::filesystem::directory_iterator(etc, ec)) {
    if (!live.count(e.path().filename().string())) std::filesystem::remove_all(e.path(), ec);
  }
}

int Run(const Globals& g, const ContainerFlags& f, std::vector<std::string> args) {
  if (f.detach && f.interactive) return Fail(absl::InvalidArgumentError("-i and -d cannot be used together"));

  // Signals are ours from here on (before any gRPC thread exists).
  SignalProxy signals(g, f.tty);

  auto created = CreateFromFlags(g, f, std::move(args), std::cerr);
  if (!created.ok()) return Fail(created.status());
  const cov1::Container& container = created->container;
  const std::string& id = container.id();
  const std::string& log_path = created->log_path;
  const bool restarts = container.labels().contains(kRestartPolicyLabel);

  // On any failure from here, the container goes again (docker leaves it "Created"; a container
  // that never ran is of no use to anyone).
  auto abandon = [&](const Status& s, int code) {
    Status r = RemoveContainer(g, container, true, true);
    if (!r.ok()) std::cerr << "berth: removing " << id << ": " << r.message() << "\n";
    return Fail(s, code);
  };

  auto tasks = tkv1::Tasks::NewStub(Connect(g));
  tkv1::CreateTaskRequest treq;
  treq.set_container_id(id);
  for (const auto& m : created->rootfs) *treq.add_rootfs() = m;
  treq.set_terminal(f.tty);
  std::unique_ptr<FifoSet> fifos;
  if (f.detach) {
    treq.set_stdout("file://" + log_path);
    treq.set_stderr("file://" + log_path);
  } else {
    auto made = FifoSet::Create(g.fifo_dir, id, f.interactive, !f.tty);
    if (!made.ok()) return abandon(made.status(), 125);
    fifos = std::move(*made);
    treq.set_stdin(fifos->stdin_path());
    treq.set_stdout(fifos->stdout_path());
    treq.set_stderr(fifos->stderr_path());
  }
  {
    auto ctx = NewContext(g);
    tkv1::CreateTaskResponse tresp;
    grpc::Status s = tasks->Create(ctx.get(), treq, &tresp);
    if (!s.ok()) return abandon(FromGrpc(s), StartFailureExitCode(FromGrpc(s)));
  }

  std::unique_ptr<IoCopier> io;
  if (fifos) {
    io = std::make_unique<IoCopier>(*fifos, f.interactive, [&g, id] { CloseStdin(g, id, ""); });
  }
  std::unique_ptr<RawTerminal> raw;
  if (f.tty && !f.detach) raw = std::make_unique<RawTerminal>();
  signals.Hold();
  if (Status s = StartProcess(g, id, ""); !s.ok()) {
    raw.reset();
    if (io) io->Drain();
    return abandon(s, StartFailureExitCode(s));
  }
  (void)UpdateLabels(g, id, {{kLabelStartedAt, std::to_string(time(nullptr))}});
  if (Status s = ArmRestart(g, container); !s.ok()) std::cerr << "berth: " << id << ": " << s.message() << "\n";
  if (container.labels().count(kLabelHealthConfig)) {
    if (Status s = SpawnHealthMonitor(g, id); !s.ok()) std::cerr << "berth: " << id << ": " << s.message() << "\n";
  }
  if (f.detach) {
    std::cout << id << "\n";
    SweepOrphanLogs(g);
    return 0;
  }
  signals.Target(id, "");
  if (f.tty) ResizeToTerminal(g, id, "");

  auto exit = WaitProcess(g, id, "");
  io->Drain();
  raw.reset();
  if (!exit.ok()) return Fail(exit.status());
  // With a restart policy the task is the restart monitor's from here on.
  Status done = f.rm ? RemoveContainer(g, container, true, true) : restarts ? Status() : DeleteTaskKeepExit(g, id, *exit);
  if (!done.ok()) std::cerr << "berth: " << id << ": " << done.message() << "\n";
  return static_cast<int>(exit->exit_status());
}

}  // namespace

int RunContainer(const Globals& g, const ContainerFlags& f, std::vector<std::string> args) {
  return Run(g, f, std::move(args));
}

void SetupRun(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("run", "create and start a container from an image");
  static ContainerFlags f;
  AddContainerFlags(c, f, true);
  c->callback([&g, c] { g.exit_code = Run(g, f, c->remaining()); });
}

}  // namespace berth::cli
