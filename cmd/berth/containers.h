// What the container subcommands of the berth CLI share (run, exec, ps, stop, kill, rm, logs):
// image resolution to a process config and chain ID, container lookup by id or unique prefix,
// the task status as docker shows it, the FIFO set a task's stdio goes through and the copier that
// moves bytes between those FIFOs and the terminal.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cmd/berth/commands.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "images/manifest.h"

namespace berth::cli {

namespace cov1 = containerd::services::containers::v1;
namespace tkv1 = containerd::services::tasks::v1;

// Container labels the CLI sets.
inline constexpr char kLabelLogPath[] = "berth/log-path";    // file the shim appends -d output to
inline constexpr char kLabelExitCode[] = "berth/exit-code";  // kept when the task is deleted
inline constexpr char kLabelExitedAt[] = "berth/exited-at";  // unix seconds
inline constexpr char kLabelStartedAt[] = "berth/started-at";  // unix seconds, set when berth starts it
inline constexpr char kLabelOomKilled[] = "berth/oom-killed";  // "true": kept when the task is deleted
inline constexpr char kLabelAutoRemove[] = "berth/auto-remove";  // "true": berthd removes it at exit

inline constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
inline constexpr char kProcessTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Process";

// grpc::Status <-> absl::Status, keeping the code.
Status FromGrpc(const grpc::Status& s);
grpc::Status ToGrpc(const Status& s);

// An image as a container needs it (looked up by `name` as given, then normalised as docker does:
// "busybox" -> "docker.io/library/busybox:latest"): its stored name, the config's process fields and the chain ID of
// its layers for the default platform (the snapshot the image was unpacked into).
// With `platform` ("linux/arm64"; "" = this host's), that platform's manifest is used.
struct ResolvedImage {
  std::string name;
  images::ImageConfig config;
  std::string config_json;  // the whole config blob (StopSignal, ExposedPorts, Labels...)
  std::string chain_id;
};
StatusOr<ResolvedImage> ResolveImage(const Globals& g, const std::string& name, const std::string& platform = "");

// The bytes of a blob from berthd's content store (at most 8 MiB: manifests and configs).
StatusOr<std::string> ReadBlob(const Globals& g, const std::string& digest);

// The manifest of an image (target digest and media type) for the default platform.
StatusOr<images::Manifest> PlatformManifest(const Globals& g, std::string digest, std::string media_type,
                                            const std::string& platform = "");

// The container whose id is `arg` or, failing that, the only one whose id starts with it.
StatusOr<cov1::Container> FindContainer(const Globals& g, const std::string& arg);

// A generated (64 hex digit) id shortened to 12 as docker shows it; names stay whole.
std::string ShortId(const std::string& id, bool no_trunc = false);

// Whether a task is up: running, paused or pausing (not created, not stopped).
bool IsLive(const std::optional<containerd::v1::types::Process>& t);

// Tasks.Get of a container's init process; nullopt when it has no task.
StatusOr<std::optional<containerd::v1::types::Process>> GetTask(const Globals& g, const std::string& id);

// docker-like state of a container from its task (or the exit labels when the task is gone):
// state is created/running/paused/exited; text is "Up 3 minutes", "Exited (3) 2 seconds ago".
struct ContainerStatus {
  std::string state;
  std::string text;
  int exit_code = -1;
  uint32_t pid = 0;
};
ContainerStatus StatusOf(const cov1::Container& c, const containerd::v1::types::Process* task);

// A random 64-hex-digit container id, as docker makes them.
std::string NewContainerId();
// A signal by name ("TERM", "SIGTERM") or number; InvalidArgument otherwise.
StatusOr<int> ParseSignal(const std::string& s);

// The FIFOs of one process: <fifo-dir>/<random>/<id>-{stdin,stdout,stderr}, created 0600 in a
// 0700 directory and removed (with the directory) on destruction. Our read ends of stdout and
// stderr are opened non-blocking at once, so the shim's opens for writing never block; the stdin
// end is opened O_RDWR so it never blocks either and the shim sees EOF when we close it.
class FifoSet {
 public:
  static StatusOr<std::unique_ptr<FifoSet>> Create(const std::string& fifo_dir, const std::string& id, bool with_stdin,
                                                   bool with_stderr);
  ~FifoSet();
  const std::string& stdin_path() const { return stdin_path_; }
  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }
  UniqueFd& stdin_fd() { return in_; }
  UniqueFd& stdout_fd() { return out_; }
  UniqueFd& stderr_fd() { return err_; }

 private:
  std::string dir_, stdin_path_, stdout_path_, stderr_path_;
  UniqueFd in_, out_, err_;
};

// Copies a process's stdout/stderr FIFOs to out_fd and err_fd (1 and 2) on one thread (poll), and
// optionally fd 0 into the stdin FIFO on another, calling on_stdin_eof once our stdin ends. Drain() reads
// what the FIFOs still hold and stops: call it once the exit is known (the shim has flushed the
// process's output into the FIFOs by then).
class IoCopier {
 public:
  IoCopier(FifoSet& fifos, bool copy_stdin, std::function<void()> on_stdin_eof, int out_fd = 1, int err_fd = 2);
  ~IoCopier();
  void Drain();

 private:
  void OutputLoop();
  FifoSet& fifos_;
  int out_fd_, err_fd_;
  UniqueFd wake_read_, wake_write_;
  std::thread output_;
  std::thread input_;  // detached: a read of our stdin cannot be interrupted
};

// Puts the terminal on fd 0 into raw mode for its lifetime (nothing when fd 0 is not a tty).
class RawTerminal {
 public:
  RawTerminal();
  ~RawTerminal();

 private:
  bool active_ = false;
  struct Saved;
  std::unique_ptr<Saved> saved_;
};

// Resizes the pty of (id, exec_id) to our terminal's size, when fd 1 or 0 is a terminal.
void ResizeToTerminal(const Globals& g, const std::string& id, const std::string& exec_id);

// Owns SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGWINCH from construction to destruction: construct it
// before the first gRPC call, so every thread inherits the blocked mask. Until Target() names a
// started process (see Hold), a terminating signal ends berth at once (exit 128+signal); then it is
// forwarded to that process with Tasks.Kill, and SIGWINCH becomes ResizePty when tty.
class SignalProxy {
 public:
  SignalProxy(const Globals& g, bool tty);
  ~SignalProxy();
  // From Hold() until Target(), signals are kept and delivered by Target(): call it just before
  // starting the process, so a signal that races the start is not lost.
  void Hold();
  void Target(const std::string& id, const std::string& exec_id);

 private:
  void Forward(int sig, const std::string& id, const std::string& exec_id);
  const Globals& g_;
  bool tty_;
  std::mutex mu_;
  std::string id_, exec_id_;  // guarded by mu_
  bool held_ = false;          // guarded by mu_
  std::vector<int> pending_;   // guarded by mu_
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// After a process has exited and its exit is known: deletes the task and keeps the exit code and
// time as container labels, so `ps -a` shows "Exited (N)" without a shim left running.
Status DeleteTaskKeepExit(const Globals& g, const std::string& id, const tkv1::WaitResponse& exit);

// docker's exit codes for a process that could not be started: 127 when the command was not
// found, 126 when it could not be executed, 125 otherwise.
int StartFailureExitCode(const Status& s);

// "berth: <message>" on stderr; returns `code` (docker's 125 for failures of berth itself).
int Fail(const Status& s, int code = 125);

// Tasks.Start and Tasks.CloseIO(stdin) of (id, exec_id).
Status StartProcess(const Globals& g, const std::string& id, const std::string& exec_id);
void CloseStdin(const Globals& g, const std::string& id, const std::string& exec_id);

// Waits for (id, exec_id) to exit; with timeout_ms >= 0, DeadlineExceeded after that long.
StatusOr<tkv1::WaitResponse> WaitProcess(const Globals& g, const std::string& id, const std::string& exec_id,
                                         int64_t timeout_ms = -1);

// Deletes a container as `rm` does: its task (killed first when force, the restart monitor told
// to leave it down), its record, its snapshot, its log file and its directory of /etc files;
// with `volumes`, the anonymous volumes made for it too. FailedPrecondition when it is running
// and !force.
Status RemoveContainer(const Globals& g, const cov1::Container& c, bool force, bool volumes = false);

}  // namespace berth::cli
