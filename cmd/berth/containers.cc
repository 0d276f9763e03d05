#include "cmd/berth/containers.h"

#include "cmd/berth/networks.h"

#include "cmd/berth/health.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include "absl/strings/str_split.h"
#include "cmd/berth/create.h"
#include "cmd/berth/inspect.h"
#include "cmd/berth/mounts.h"
#include "cmd/berth/paths.h"
#include "cmd/berth/volumes.h"
#include "containerd/services/content/v1/content.grpc.pb.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "images/chain_id.h"
#include "images/platform.h"
#include "remotes/reference.h"

namespace berth::cli {

namespace ctv1 = containerd::services::content::v1;
namespace imv1 = containerd::services::images::v1;
namespace snv1 = containerd::services::snapshots::v1;
using containerd::v1::types::Process;

Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return Status();
  return Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

grpc::Status ToGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

StatusOr<std::string> ReadBlob(const Globals& g, const std::string& digest) {
  auto stub = ctv1::Content::NewStub(Connect(g));
  auto ctx = NewContext(g);
  ctv1::ReadContentRequest req;
  req.set_digest(digest);
  auto reader = stub->Read(ctx.get(), req);
  ctv1::ReadContentResponse resp;
  std::string out;
  while (reader->Read(&resp)) {
    out += resp.data();
    if (out.size() > (8u << 20)) {
      ctx->TryCancel();
      reader->Finish();
      return absl::InvalidArgumentError(StrCat("blob ", digest, " is larger than 8 MiB"));
    }
  }
  RETURN_IF_ERROR(FromGrpc(reader->Finish()));
  return out;
}

StatusOr<images::Manifest> PlatformManifest(const Globals& g, std::string digest, std::string media_type,
                                            const std::string& platform) {
  images::Platform want = images::DefaultPlatform();
  if (!platform.empty()) {
    ASSIGN_OR_RETURN(want, images::ParsePlatform(platform));
  }
  for (int depth = 0; depth < 4; ++depth) {
    ASSIGN_OR_RETURN(std::string body, ReadBlob(g, digest));
    if (media_type.empty()) {
      ASSIGN_OR_RETURN(media_type, images::DetectMediaType(body));
    }
    if (!images::IsIndexType(media_type)) return images::ParseManifest(body);
    ASSIGN_OR_RETURN(images::Index ix, images::ParseIndex(body));
    images::PlatformMatcher m(want);
    const images::Descriptor* best = nullptr;
    for (const auto& d : ix.manifests) {
      if (d.platform && m.Match(*d.platform)) {
        best = &d;
        break;
      }
    }
    if (best == nullptr) {
      return absl::NotFoundError(StrCat("no manifest for ", images::FormatPlatform(want), " in the image index"));
    }
    digest = best->digest;
    media_type = best->media_type;
  }
  return absl::InvalidArgumentError("image indexes nested too deeply");
}

StatusOr<ResolvedImage> ResolveImage(const Globals& g, const std::string& name, const std::string& platform) {
  auto stub = imv1::Images::NewStub(Connect(g));
  imv1::GetImageResponse resp;
  auto get = [&](const std::string& n) {
    auto ctx = NewContext(g);
    imv1::GetImageRequest req;
    req.set_name(n);
    return FromGrpc(stub->Get(ctx.get(), req, &resp));
  };
  Status s = get(name);
  if (absl::IsNotFound(s)) {
    // "busybox" is stored as "docker.io/library/busybox:latest" by every containerd client.
    auto ref = remotes::ParseReference(name);
    if (ref.ok() && ref->String() != name) {
      Status normalised = get(ref->String());
      if (!absl::IsNotFound(normalised)) s = normalised;
    }
  }
  RETURN_IF_ERROR(s);
  ASSIGN_OR_RETURN(images::Manifest man,
                   PlatformManifest(g, resp.image().target().digest(), resp.image().target().media_type(), platform));
  ASSIGN_OR_RETURN(std::string config_json, ReadBlob(g, man.config.digest));
  ResolvedImage out;
  out.config_json = config_json;
  out.name = resp.image().name();
  ASSIGN_OR_RETURN(out.config, images::ParseConfig(config_json));
  if (out.config.diff_ids.empty()) return absl::FailedPreconditionError(StrCat("image ", name, " has no layers"));
  ASSIGN_OR_RETURN(auto chain, images::ChainIds(out.config.diff_ids));
  out.chain_id = chain.back();
  return out;
}

StatusOr<cov1::Container> FindContainer(const Globals& g, const std::string& arg) {
  if (arg.empty()) return absl::InvalidArgumentError("empty container id");
  auto stub = cov1::Containers::NewStub(Connect(g));
  {
    auto ctx = NewContext(g);
    cov1::GetContainerRequest req;
    req.set_id(arg);
    cov1::GetContainerResponse resp;
    grpc::Status s = stub->Get(ctx.get(), req, &resp);
    if (s.ok()) return resp.container();
    if (s.error_code() != grpc::StatusCode::NOT_FOUND && s.error_code() != grpc::StatusCode::INVALID_ARGUMENT) {
      return FromGrpc(s);
    }
  }
  auto ctx = NewContext(g);
  cov1::ListContainersRequest req;
  cov1::ListContainersResponse resp;
  RETURN_IF_ERROR(FromGrpc(stub->List(ctx.get(), req, &resp)));
  const cov1::Container* found = nullptr;
  for (const auto& c : resp.containers()) {
    if (c.id().rfind(arg, 0) != 0) continue;
    if (found != nullptr) return absl::InvalidArgumentError(StrCat("container id prefix \"", arg, "\" is ambiguous"));
    found = &c;
  }
  if (found == nullptr) return absl::NotFoundError(StrCat("no such container: ", arg));
  return *found;
}

StatusOr<std::optional<Process>> GetTask(const Globals& g, const std::string& id) {
  auto stub = tkv1::Tasks::NewStub(Connect(g));
  auto ctx = NewContext(g);
  tkv1::GetRequest req;
  req.set_container_id(id);
  tkv1::GetResponse resp;
  grpc::Status s = stub->Get(ctx.get(), req, &resp);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return std::optional<Process>();
  RETURN_IF_ERROR(FromGrpc(s));
  return std::optional<Process>(resp.process());
}

std::string ShortId(const std::string& id, bool no_trunc) {
  bool hex = id.size() == 64 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
  return hex && !no_trunc ? id.substr(0, 12) : id;
}

bool IsLive(const std::optional<Process>& t) {
  if (!t) return false;
  auto s = t->status();
  return s == containerd::v1::types::RUNNING || s == containerd::v1::types::PAUSED ||
         s == containerd::v1::types::PAUSING;
}

namespace {

std::string Since(int64_t seconds) {
  int64_t d = std::max<int64_t>(0, static_cast<int64_t>(time(nullptr)) - seconds);
  auto n = [](int64_t v, const char* unit) { return StrCat(v, " ", unit, v == 1 ? "" : "s"); };
  if (d < 1) return "Less than a second";
  if (d < 60) return n(d, "second");
  if (d < 3600) return d < 120 ? "About a minute" : n(d / 60, "minute");
  if (d < 86400) return d < 7200 ? "About an hour" : n(d / 3600, "hour");
  return n(d / 86400, "day");
}

}  // namespace

ContainerStatus StatusOf(const cov1::Container& c, const Process* task) {
  ContainerStatus st;
  auto exited = [&](int code, int64_t at) {
    st.state = "exited";
    st.exit_code = code;
    st.text = StrCat("Exited (", code, ") ", Since(at), " ago");
  };
  if (task == nullptr) {
    auto code = c.labels().find(kLabelExitCode);
    if (code != c.labels().end()) {
      auto at = c.labels().find(kLabelExitedAt);
      exited(atoi(code->second.c_str()), at == c.labels().end() ? 0 : atoll(at->second.c_str()));
    } else {
      st.state = "created";
      st.text = "Created";
    }
    return st;
  }
  st.pid = task->pid();
  switch (task->status()) {
    case containerd::v1::types::RUNNING:
      st.state = "running";
      st.text = StrCat("Up ", Since(c.created_at().seconds()));
      if (std::string h = HealthSuffix(c.labels()); !h.empty()) st.text += " " + h;
      break;
    case containerd::v1::types::PAUSED:
    case containerd::v1::types::PAUSING:
      st.state = "paused";
      st.text = StrCat("Up ", Since(c.created_at().seconds()), " (Paused)");
      break;
    case containerd::v1::types::STOPPED:
      exited(static_cast<int>(task->exit_status()), task->exited_at().seconds());
      break;
    default:
      st.state = "created";
      st.text = "Created";
  }
  return st;
}

std::string NewContainerId() {
  std::random_device rd;
  std::string out;
  static const char kHex[] = "0123456789abcdef";
  while (out.size() < 64) {
    uint32_t v = rd();
    for (int i = 0; i < 8 && out.size() < 64; ++i, v >>= 4) out.push_back(kHex[v & 0xf]);
  }
  return out;
}

StatusOr<int> ParseSignal(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
    int n = atoi(s.c_str());
    if (n >= 1 && n <= SIGRTMAX) return n;
    return absl::InvalidArgumentError(StrCat("invalid signal number ", s));
  }
  std::string name = s;
  for (auto& ch : name) ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (int i = 1; i < NSIG; ++i) {
    const char* abbrev = sigabbrev_np(i);
    if (abbrev != nullptr && name == abbrev) return i;
  }
  return absl::InvalidArgumentError(StrCat("unknown signal \"", s, "\""));
}

// --- FifoSet ---

StatusOr<std::unique_ptr<FifoSet>> FifoSet::Create(const std::string& fifo_dir, const std::string& id,
                                                   bool with_stdin, bool with_stderr) {
  std::error_code ec;
  std::filesystem::create_directories(fifo_dir, ec);
  if (ec) return absl::InternalError(StrCat("create ", fifo_dir, ": ", ec.message()));
  ::chmod(fifo_dir.c_str(), 0700);
  std::string tmpl = fifo_dir + "/XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return absl::InternalError(StrCat("mkdtemp in ", fifo_dir, ": ", strerror(errno)));
  auto f = std::unique_ptr<FifoSet>(new FifoSet());
  f->dir_ = tmpl;
  auto make = [&](const char* stream, std::string* path) -> Status {
    *path = StrCat(f->dir_, "/", id, "-", stream);
    if (::mkfifo(path->c_str(), 0600) != 0) return absl::InternalError(StrCat("mkfifo ", *path, ": ", strerror(errno)));
    return Status();
  };
  RETURN_IF_ERROR(make("stdout", &f->stdout_path_));
  f->out_.Reset(::open(f->stdout_path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!f->out_) return absl::InternalError(StrCat("open ", f->stdout_path_, ": ", strerror(errno)));
  if (with_stderr) {
    RETURN_IF_ERROR(make("stderr", &f->stderr_path_));
    f->err_.Reset(::open(f->stderr_path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!f->err_) return absl::InternalError(StrCat("open ", f->stderr_path_, ": ", strerror(errno)));
  }
  if (with_stdin) {
    RETURN_IF_ERROR(make("stdin", &f->stdin_path_));
    f->in_.Reset(::open(f->stdin_path_.c_str(), O_RDWR | O_CLOEXEC));
    if (!f->in_) return absl::InternalError(StrCat("open ", f->stdin_path_, ": ", strerror(errno)));
  }
  return f;
}

FifoSet::~FifoSet() {
  in_.Reset();
  out_.Reset();
  err_.Reset();
  for (const auto* p : {&stdin_path_, &stdout_path_, &stderr_path_}) {
    if (!p->empty()) ::unlink(p->c_str());
  }
  if (!dir_.empty()) ::rmdir(dir_.c_str());
}

// --- IoCopier ---

namespace {

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

IoCopier::IoCopier(FifoSet& fifos, bool copy_stdin, std::function<void()> on_stdin_eof, int out_fd, int err_fd)
    : fifos_(fifos), out_fd_(out_fd), err_fd_(err_fd) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
    wake_read_.Reset(p[0]);
    wake_write_.Reset(p[1]);
  }
  output_ = std::thread([this] { OutputLoop(); });
  if (copy_stdin && fifos.stdin_fd()) {
    // The thread owns the only writer of the stdin FIFO from here on: when it closes it at our
    // EOF, the process reads EOF.
    int fd = fifos.stdin_fd().Release();
    input_ = std::thread([fd, cb = std::move(on_stdin_eof)] {
      char buf[32 * 1024];
      for (;;) {
        ssize_t n = ::read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || !WriteAll(fd, buf, static_cast<size_t>(n))) break;
      }
      ::close(fd);
      if (cb) cb();
    });
    input_.detach();
  }
}

IoCopier::~IoCopier() { Drain(); }

void IoCopier::Drain() {
  if (!output_.joinable()) return;
  char c = 1;
  if (wake_write_) (void)!::write(wake_write_.get(), &c, 1);
  output_.join();
}

void IoCopier::OutputLoop() {
  struct Stream {
    int from;
    int to;
  };
  std::vector<Stream> streams;
  if (fifos_.stdout_fd()) streams.push_back({fifos_.stdout_fd().get(), out_fd_});
  if (fifos_.stderr_fd()) streams.push_back({fifos_.stderr_fd().get(), err_fd_});
  char buf[64 * 1024];
  // Reads what `s` holds now; false once it has nothing more to give (EOF or error).
  auto pump = [&](Stream& s) {
    for (;;) {
      ssize_t n = ::read(s.from, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return true;
      if (n <= 0) return false;
      if (!WriteAll(s.to, buf, static_cast<size_t>(n))) return false;
    }
  };
  bool draining = false;
  while (!streams.empty()) {
    std::vector<pollfd> pfds;
    for (const auto& s : streams) pfds.push_back({s.from, POLLIN, 0});
    pfds.push_back({wake_read_.get(), POLLIN, 0});
    int r = ::poll(pfds.data(), pfds.size(), draining ? 0 : -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    if (pfds.back().revents != 0) draining = true;
    std::vector<Stream> keep;
    for (size_t i = 0; i < streams.size(); ++i) {
      bool open = true;
      if (pfds[i].revents & POLLIN) open = pump(streams[i]);
      // POLLHUP on a FIFO means a writer came and went; nothing without POLLIN is left.
      if (open && (pfds[i].revents & (POLLHUP | POLLERR)) && !(pfds[i].revents & POLLIN)) open = false;
      if (open && draining) {
        pump(streams[i]);
        open = false;
      }
      if (open) keep.push_back(streams[i]);
    }
    streams.swap(keep);
  }
}

// --- terminal ---

struct RawTerminal::Saved {
  termios tio;
};

RawTerminal::RawTerminal() {
  if (!isatty(0)) return;
  saved_ = std::make_unique<Saved>();
  if (tcgetattr(0, &saved_->tio) != 0) return;
  termios raw = saved_->tio;
  cfmakeraw(&raw);
  if (tcsetattr(0, TCSANOW, &raw) == 0) active_ = true;
}

RawTerminal::~RawTerminal() {
  if (active_) tcsetattr(0, TCSANOW, &saved_->tio);
}

void ResizeToTerminal(const Globals& g, const std::string& id, const std::string& exec_id) {
  winsize ws{};
  if (ioctl(1, TIOCGWINSZ, &ws) != 0 && ioctl(0, TIOCGWINSZ, &ws) != 0) return;
  if (ws.ws_col == 0 || ws.ws_row == 0) return;
  auto stub = tkv1::Tasks::NewStub(Connect(g));
  auto ctx = NewContext(g);
  tkv1::ResizePtyRequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  req.set_width(ws.ws_col);
  req.set_height(ws.ws_row);
  google::protobuf::Empty resp;
  (void)stub->ResizePty(ctx.get(), req, &resp);
}

// --- signals ---

SignalProxy::SignalProxy(const Globals& g, bool tty) : g_(g), tty_(tty) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this, set] {
    while (!stop_) {
      timespec ts{0, 200 * 1000 * 1000};
      int sig = sigtimedwait(&set, nullptr, &ts);
      if (sig < 0 || stop_) continue;
      std::string id, exec_id;
      {
        std::lock_guard<std::mutex> lock(mu_);
        id = id_, exec_id = exec_id_;
        if (id.empty() && held_ && sig != SIGWINCH) {
          pending_.push_back(sig);
          continue;
        }
      }
      if (sig == SIGWINCH) {
        if (tty_ && !id.empty()) ResizeToTerminal(g_, id, exec_id);
        continue;
      }
      if (id.empty()) _exit(128 + sig);
      Forward(sig, id, exec_id);
    }
  });
}

void SignalProxy::Forward(int sig, const std::string& id, const std::string& exec_id) {
  auto stub = tkv1::Tasks::NewStub(Connect(g_));
  auto ctx = NewContext(g_);
  tkv1::KillRequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  req.set_signal(static_cast<uint32_t>(sig));
  google::protobuf::Empty resp;
  (void)stub->Kill(ctx.get(), req, &resp);
}

void SignalProxy::Hold() {
  std::lock_guard<std::mutex> lock(mu_);
  held_ = true;
}

SignalProxy::~SignalProxy() {
  stop_ = true;
  pthread_kill(thread_.native_handle(), SIGWINCH);  // ends its wait now, not at the next timeout
  thread_.join();
}

void SignalProxy::Target(const std::string& id, const std::string& exec_id) {
  std::vector<int> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id_ = id, exec_id_ = exec_id;
    pending.swap(pending_);
  }
  for (int sig : pending) Forward(sig, id, exec_id);
}

Status DeleteTaskKeepExit(const Globals& g, const std::string& id, const tkv1::WaitResponse& exit) {
  // Whether the OOM killer ended it is in the cgroup, which goes with the task: read it first.
  bool oom = false;
  if (auto c = FindContainer(g, id); c.ok()) oom = IsOomKilled(g, *c);
  {
    auto tasks = tkv1::Tasks::NewStub(Connect(g));
    auto ctx = NewContext(g);
    tkv1::DeleteTaskRequest req;
    req.set_container_id(id);
    tkv1::DeleteResponse resp;
    grpc::Status s = tasks->Delete(ctx.get(), req, &resp);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) return FromGrpc(s);
  }
  auto containers = cov1::Containers::NewStub(Connect(g));
  auto ctx = NewContext(g);
  cov1::UpdateContainerRequest req;
  req.mutable_container()->set_id(id);
  auto& labels = *req.mutable_container()->mutable_labels();
  labels[kLabelExitCode] = std::to_string(exit.exit_status());
  labels[kLabelExitedAt] = std::to_string(exit.exited_at().seconds() > 0 ? exit.exited_at().seconds() : time(nullptr));
  req.mutable_update_mask()->add_paths(StrCat("labels.", kLabelExitCode));
  req.mutable_update_mask()->add_paths(StrCat("labels.", kLabelExitedAt));
  labels[kLabelOomKilled] = oom ? "true" : "";
  req.mutable_update_mask()->add_paths(StrCat("labels.", kLabelOomKilled));
  cov1::UpdateContainerResponse resp;
  return FromGrpc(containers->Update(ctx.get(), req, &resp));
}

int StartFailureExitCode(const Status& s) {
  std::string m(s.message());
  if (m.find("executable file not found") != std::string::npos || m.find("no such file or directory") != std::string::npos) {
    return 127;
  }
  if (m.find("permission denied") != std::string::npos) return 126;
  return 125;
}

int Fail(const Status& s, int code) {
  std::cerr << "berth: " << s.message() << "\n";
  return code;
}

Status StartProcess(const Globals& g, const std::string& id, const std::string& exec_id) {
  auto stub = tkv1::Tasks::NewStub(Connect(g));
  auto ctx = NewContext(g);
  tkv1::StartRequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  tkv1::StartResponse resp;
  return FromGrpc(stub->Start(ctx.get(), req, &resp));
}

void CloseStdin(const Globals& g, const std::string& id, const std::string& exec_id) {
  auto stub = tkv1::Tasks::NewStub(Connect(g));
  auto ctx = NewContext(g);
  tkv1::CloseIORequest req;
  req.set_container_id(id);
  req.set_exec_id(exec_id);
  req.set_stdin(true);
  google::protobuf::Empty empty;
  (void)stub->CloseIO(ctx.get(), req, &empty);
}

StatusOr<tkv1::WaitResponse> WaitProcess(const Globals& g, const std::string& id, const std::string& exec_id,
                                         int64_t timeout_ms) {
  using Clock = std::chrono::system_clock;
  auto stub = tkv1::Tasks::NewStub(Connect(g));
  const auto deadline = timeout_ms >= 0 ? Clock::now() + std::chrono::milliseconds(timeout_ms) : Clock::time_point::max();
  // berthd may restart under a long wait (the process lives on in its shim): wait again once it
  // is back, for up to a minute of it being away.
  constexpr auto kAway = std::chrono::seconds(60);
  auto away_since = Clock::time_point::max();
  for (;;) {
    auto ctx = NewContext(g);
    if (timeout_ms >= 0) ctx->set_deadline(deadline);
    tkv1::WaitRequest req;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    tkv1::WaitResponse resp;
    grpc::Status s = stub->Wait(ctx.get(), req, &resp);
    if (s.ok()) return resp;
    const auto now = Clock::now();
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE || now >= deadline) return FromGrpc(s);
    if (away_since == Clock::time_point::max()) away_since = now;
    if (now - away_since > kAway) return FromGrpc(s);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Status RemoveContainer(const Globals& g, const cov1::Container& c, bool force, bool volumes) {
  auto tasks = tkv1::Tasks::NewStub(Connect(g));
  ASSIGN_OR_RETURN(auto task, GetTask(g, c.id()));
  if (task) {
    auto status = task->status();
    bool live = IsLive(task);
    if (live && !force) {
      return absl::FailedPreconditionError(
          StrCat("container ", c.id(), " is running: stop it first or use rm -f"));
    }
    RETURN_IF_ERROR(DisarmRestart(g, c));
    if (live) {
      auto ctx = NewContext(g);
      tkv1::KillRequest kill;
      kill.set_container_id(c.id());
      kill.set_signal(SIGKILL);
      google::protobuf::Empty empty;
      RETURN_IF_ERROR(FromGrpc(tasks->Kill(ctx.get(), kill, &empty)));
      if (status != containerd::v1::types::RUNNING) {
        auto rctx = NewContext(g);
        tkv1::ResumeTaskRequest resume;
        resume.set_container_id(c.id());
        (void)tasks->Resume(rctx.get(), resume, &empty);
      }
      RETURN_IF_ERROR(WaitProcess(g, c.id(), "", 30000).status());
    }
    auto ctx = NewContext(g);
    tkv1::DeleteTaskRequest del;
    del.set_container_id(c.id());
    tkv1::DeleteResponse resp;
    grpc::Status s = tasks->Delete(ctx.get(), del, &resp);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) return FromGrpc(s);
  }
  if (!task) RETURN_IF_ERROR(DisarmRestart(g, c));
  if (c.labels().contains(kLabelNetworks)) {
    // The task's poststop hook did this already, unless its shim died first; DEL is idempotent.
    if (Status s = TeardownContainerNetwork(g, c.id()); !s.ok()) {
      std::cerr << "berth: network teardown of " << c.id() << ": " << s.message() << "\n";
    }
  }
  if (!c.snapshot_key().empty()) {
    auto snaps = snv1::Snapshots::NewStub(Connect(g));
    auto ctx = NewContext(g);
    snv1::RemoveSnapshotRequest req;
    req.set_snapshotter(c.snapshotter().empty() ? "overlayfs" : c.snapshotter());
    req.set_key(c.snapshot_key());
    google::protobuf::Empty empty;
    grpc::Status s = snaps->Remove(ctx.get(), req, &empty);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) return FromGrpc(s);
  }
  {
    auto containers = cov1::Containers::NewStub(Connect(g));
    auto ctx = NewContext(g);
    cov1::DeleteContainerRequest req;
    req.set_id(c.id());
    google::protobuf::Empty empty;
    grpc::Status s = containers->Delete(ctx.get(), req, &empty);
    if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) return FromGrpc(s);
  }
  auto log = c.labels().find(kLabelLogPath);
  if (log != c.labels().end()) ::unlink(log->second.c_str());
  std::error_code ec;
  std::filesystem::remove_all(ContainerDir(g, c.id()), ec);
  auto anon = c.labels().find(kLabelAnonymousVolumes);
  if (volumes && anon != c.labels().end()) {
    for (const auto& v : absl::StrSplit(anon->second, ',', absl::SkipEmpty())) {
      Status s = RemoveVolume(g, std::string(v));
      if (!s.ok() && !absl::IsNotFound(s)) return s;
    }
  }
  return Status();
}

}  // namespace berth::cli
