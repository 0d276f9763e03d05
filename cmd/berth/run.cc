// berth run [-d] [--rm] [-t] [-i] [-e K=V]... [--name N] IMAGE [COMMAND [ARG...]]
//
// What `docker run` does, against berthd: the image is pulled when missing; the OCI spec is made
// from the image config (runtime/spec.h); a snapshot is prepared on the image's chain ID under a
// short-lived lease, so GC cannot take it before the container record references it; the
// container and its task are created. Attached, stdio goes through FIFOs (terminal in raw mode
// with -t, our signals forwarded to the process) and berth exits with the process's status; the
// task is then deleted and the exit kept as labels (or everything removed with --rm). Detached
// (-d), the shim appends stdout and stderr to <log-dir>/<ns>/<id>.log and berth prints the id;
// with --rm too, berthd removes the container when its process exits (label berth/auto-remove).
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <set>

#include "cmd/berth/containers.h"
#include "common/identifiers.h"
#include "common/unique.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "runtime/spec.h"

namespace berth::cli {
namespace {

namespace lsv1 = containerd::services::leases::v1;
namespace snv1 = containerd::services::snapshots::v1;

struct RunFlags {
  bool detach = false, rm = false, tty = false, interactive = false, plain_http = false;
  std::vector<std::string> env;
  std::string name;
  std::string runtime = "io.containerd.berth.v2";
  std::string snapshotter = "overlayfs";
  std::string image;
};

// docker's -e KEY (no "="): the value comes from our environment, or the variable is left out.
std::vector<std::string> ExpandEnv(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& e : in) {
    if (e.find('=') != std::string::npos) {
      out.push_back(e);
    } else if (const char* v = std::getenv(e.c_str())) {
      out.push_back(e + "=" + v);
    }
  }
  return out;
}

// A lease that keeps what is made under it for an hour at most; deleted on destruction.
class TempLease {
 public:
  explicit TempLease(const Globals& g) : g_(g) {}
  Status Create() {
    auto stub = lsv1::Leases::NewStub(Connect(g_));
    auto ctx = NewContext(g_);
    lsv1::CreateRequest req;
    req.set_id(StrCat("berth-run-", UniquePart()));
    time_t expire = time(nullptr) + 3600;
    char buf[32];
    tm t{};
    gmtime_r(&expire, &t);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &t);
    (*req.mutable_labels())["containerd.io/gc.expire"] = buf;
    lsv1::CreateResponse resp;
    RETURN_IF_ERROR(FromGrpc(stub->Create(ctx.get(), req, &resp)));
    id_ = resp.lease().id();
    return Status();
  }
  const std::string& id() const { return id_; }
  ~TempLease() {
    if (id_.empty()) return;
    auto stub = lsv1::Leases::NewStub(Connect(g_));
    auto ctx = NewContext(g_);
    lsv1::DeleteRequest req;
    req.set_id(id_);
    google::protobuf::Empty resp;
    (void)stub->Delete(ctx.get(), req, &resp);
  }

 private:
  const Globals& g_;
  std::string id_;
};

// Logs of containers that are gone without `berth rm` (auto-removed by berthd, or removed by
// another client): deleted whenever a detached container starts.
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
}

int Run(const Globals& g, const RunFlags& f, std::vector<std::string> args) {
  if (!args.empty() && args[0] == "--") args.erase(args.begin());
  if (f.detach && f.interactive) return Fail(absl::InvalidArgumentError("-i and -d cannot be used together"));

  // Signals are ours from here on (before any gRPC thread exists).
  SignalProxy signals(g, f.tty);

  auto image = ResolveImage(g, f.image);
  if (absl::IsNotFound(image.status())) {
    std::cerr << "Unable to find image '" << f.image << "' locally\n";
    PullOptions po;
    po.ref = f.image;
    po.plain_http = f.plain_http;
    po.snapshotter = f.snapshotter;
    std::string pulled;
    grpc::Status ps = PullImage(g, po, std::cerr, isatty(2), &pulled);
    if (!ps.ok()) return Fail(FromGrpc(ps));
    image = ResolveImage(g, pulled.empty() ? f.image : pulled);
  }
  if (!image.ok()) return Fail(image.status());

  const std::string id = f.name.empty() ? NewContainerId() : f.name;
  if (Status s = ValidateIdentifier(id, "container name"); !s.ok()) return Fail(s);

  runtime::SpecOptions so;
  so.ns = g.ns;
  so.id = id;
  so.image = {image->config.env, image->config.entrypoint, image->config.cmd, image->config.working_dir,
              image->config.user};
  so.args = args;
  so.extra_env = ExpandEnv(f.env);
  so.terminal = f.tty;
  so.hostname = id.size() == 64 ? id.substr(0, 12) : id;
  auto spec = runtime::GenerateSpec(so);
  if (!spec.ok()) return Fail(spec.status());

  std::string log_path;
  if (f.detach) {
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::path(g.log_dir) / g.ns;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Fail(absl::InternalError(StrCat("create ", dir.string(), ": ", ec.message())));
    log_path = (dir / (id + ".log")).string();
  }

  // Snapshot and container record, under a lease until the record holds the snapshot.
  snv1::PrepareSnapshotResponse prepared;
  cov1::Container container;
  {
    TempLease lease(g);
    if (Status s = lease.Create(); !s.ok()) return Fail(s);
    auto snaps = snv1::Snapshots::NewStub(Connect(g));
    auto ctx = NewContext(g);
    ctx->AddMetadata("containerd-lease", lease.id());
    snv1::PrepareSnapshotRequest req;
    req.set_snapshotter(f.snapshotter);
    req.set_key(id);
    req.set_parent(image->chain_id);
    grpc::Status s = snaps->Prepare(ctx.get(), req, &prepared);
    if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      return Fail(absl::AlreadyExistsError(StrCat("the container name \"", id, "\" is already in use")));
    }
    if (!s.ok()) return Fail(FromGrpc(s));

    container.set_id(id);
    container.set_image(image->name);
    container.mutable_runtime()->set_name(f.runtime);
    container.mutable_spec()->set_type_url(kSpecTypeUrl);
    container.mutable_spec()->set_value(*spec);
    container.set_snapshotter(f.snapshotter);
    container.set_snapshot_key(id);
    if (!log_path.empty()) (*container.mutable_labels())[kLabelLogPath] = log_path;
    // Detached, nobody is left to remove it: berthd does when its process exits.
    if (f.detach && f.rm) (*container.mutable_labels())[kLabelAutoRemove] = "true";
    auto containers = cov1::Containers::NewStub(Connect(g));
    auto cctx = NewContext(g);
    cctx->AddMetadata("containerd-lease", lease.id());
    cov1::CreateContainerRequest creq;
    *creq.mutable_container() = container;
    cov1::CreateContainerResponse cresp;
    s = containers->Create(cctx.get(), creq, &cresp);
    if (!s.ok()) {
      auto rctx = NewContext(g);
      snv1::RemoveSnapshotRequest rreq;
      rreq.set_snapshotter(f.snapshotter);
      rreq.set_key(id);
      google::protobuf::Empty empty;
      (void)snaps->Remove(rctx.get(), rreq, &empty);
      if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
        return Fail(absl::AlreadyExistsError(StrCat("the container name \"", id, "\" is already in use")));
      }
      return Fail(FromGrpc(s));
    }
    container = cresp.container();
  }

  // On any failure from here, the container goes again (docker leaves it "Created"; a container
  // that never ran is of no use to anyone).
  auto abandon = [&](const Status& s, int code) {
    Status r = RemoveContainer(g, container, true);
    if (!r.ok()) std::cerr << "berth: removing " << id << ": " << r.message() << "\n";
    return Fail(s, code);
  };

  auto tasks = tkv1::Tasks::NewStub(Connect(g));
  tkv1::CreateTaskRequest treq;
  treq.set_container_id(id);
  *treq.mutable_rootfs() = prepared.mounts();
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
  Status done = f.rm ? RemoveContainer(g, container, true) : DeleteTaskKeepExit(g, id, *exit);
  if (!done.ok()) std::cerr << "berth: " << id << ": " << done.message() << "\n";
  return static_cast<int>(exit->exit_status());
}

}  // namespace

void SetupRun(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("run", "create and start a container from an image");
  static RunFlags f;
  c->add_flag("-d,--detach", f.detach, "run in the background and print the container id");
  c->add_flag("--rm", f.rm, "remove the container when it exits");
  c->add_flag("-t,--tty", f.tty, "allocate a terminal");
  c->add_flag("-i,--interactive", f.interactive, "keep stdin open and copy ours to it");
  c->add_option("-e,--env", f.env, "set an environment variable (KEY=VALUE, or KEY to copy ours)")
      ->allow_extra_args(false);
  c->add_option("--name", f.name, "container name (its id)");
  c->add_option("--runtime", f.runtime, "shim v2 runtime")->capture_default_str();
  c->add_option("--snapshotter", f.snapshotter, "snapshotter")->capture_default_str();
  c->add_flag("--plain-http", f.plain_http, "pull over HTTP when the image is missing");
  c->add_option("image", f.image, "image name")->required();
  c->prefix_command();
  c->callback([&g, c] { g.exit_code = Run(g, f, c->remaining()); });
}

}  // namespace berth::cli
