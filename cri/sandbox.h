// CRI pod sandboxes: RunPodSandbox / StopPodSandbox / RemovePodSandbox / PodSandboxStatus /
// ListPodSandbox over berthd's container records, snapshots and tasks, in namespace k8s.io, laid
// out as containerd 1.6's CRI plugin lays them out:
//   - the sandbox ("pause") container's record has the sandbox id, the sandbox image, label
//     io.cri-containerd.kind=sandbox plus the pod's labels, snapshot key = id on the CRI
//     snapshotter, and extension io.cri-containerd.sandbox.metadata holding the sandbox's
//     metadata (berth's JSON: config, created_at, netns, ip) so pods come back after a restart;
//   - its task runs the sandbox image's entrypoint (berth-pause when imported) with no stdio;
//   - <root>/io.containerd.grpc.v1.cri/sandboxes/<id>/{resolv.conf,hostname,hosts} are written
//     for the pod's containers to mount.
// The sandbox is READY while its task runs, NOTREADY otherwise.
//
// Namespaces: IPC and UTS are the pod's own unless the security context says NODE; PID is the
// pause container's (pod-wide) unless NODE. Network: NODE shares the host's; a pod network needs
// CNI (network/) and is refused with FailedPrecondition "cni plugin not initialized" while no CNI
// config is loaded, as containerd refuses it.
//
// Thread-safety: calls on one sandbox are serialised by a per-manager mutex (sandbox calls are
// rare and short besides the task start).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "cri/images.h"
#include "metadata/containers.h"
#include "snapshotter/snapshotter.h"

namespace berth::cri {

inline constexpr char kKindLabel[] = "io.cri-containerd.kind";
inline constexpr char kSandboxMetadataExtension[] = "io.cri-containerd.sandbox.metadata";

enum class NamespaceMode { kPod = 0, kContainer = 1, kNode = 2, kTarget = 3 };

struct PortMappingConfig {
  int protocol = 0;  // CRI Protocol: TCP 0, UDP 1, SCTP 2
  int32_t container_port = 0;
  int32_t host_port = 0;
  std::string host_ip;
};

struct SandboxConfig {
  std::string name, uid, pod_namespace;
  uint32_t attempt = 0;
  std::string hostname;
  std::string log_directory;
  std::vector<std::string> dns_servers, dns_searches, dns_options;
  bool has_dns = false;
  std::vector<PortMappingConfig> port_mappings;
  std::map<std::string, std::string> labels, annotations;
  std::string cgroup_parent;
  NamespaceMode network = NamespaceMode::kPod, pid = NamespaceMode::kPod, ipc = NamespaceMode::kPod;
  std::map<std::string, std::string> sysctls;
  std::string runtime_handler;
};

enum class SandboxState { kReady = 0, kNotReady = 1 };

struct Sandbox {
  std::string id;
  SandboxConfig config;
  SandboxState state = SandboxState::kNotReady;
  int64_t created_at = 0;  // ns
  std::string ip;          // pod IP, "" for host network
  std::string netns;       // "" for host network
  std::string image;       // the sandbox image's id
  uint32_t pid = 0;        // the pause process while READY
};

struct SandboxFilter {
  std::string id;  // exact or unique prefix
  std::optional<SandboxState> state;
  std::map<std::string, std::string> label_selector;
};

// Whether `s` passes `f` (id prefix, state, every selector label equal).
bool MatchSandbox(const Sandbox& s, const SandboxFilter& f);
bool MatchLabels(const std::map<std::string, std::string>& labels,
                 const std::map<std::string, std::string>& selector);

// resolv.conf content of a DNSConfig, as containerd writes it.
std::string ResolvConf(const SandboxConfig& c);

// The task operations the sandbox manager needs (the daemon's task manager behind them).
struct TaskState {
  bool running = false;
  uint32_t pid = 0;
  uint32_t exit_status = 0;
  int64_t exited_at = 0;  // ns
};
struct TaskOps {
  // Creates and starts the task of container `c` on `rootfs`; stdio paths may be "" (none).
  std::function<StatusOr<uint32_t>(const metadata::Container& c, const std::vector<snapshotter::Mount>& rootfs,
                                   const std::string& stdout_path, const std::string& stderr_path)>
      start;
  // NotFound when there is no task.
  std::function<StatusOr<TaskState>(const std::string& id)> state;
  std::function<Status(const std::string& id, int signal, bool all)> kill;
  // Waits up to `timeout_ms` for the task to exit; DeadlineExceeded when it did not.
  std::function<Status(const std::string& id, int64_t timeout_ms)> wait;
  // Deletes the (stopped) task; OK when there is none.
  std::function<Status(const std::string& id)> remove;
};

struct SnapshotOps {
  std::function<StatusOr<std::vector<snapshotter::Mount>>(const std::string& key, const std::string& parent)> prepare;
  std::function<StatusOr<std::vector<snapshotter::Mount>>(const std::string& key)> mounts;
  std::function<Status(const std::string& key)> remove;  // OK when missing
};

struct SandboxDeps {
  metadata::ContainerStore* containers = nullptr;
  ImageManager* images = nullptr;
  TaskOps tasks;
  SnapshotOps snapshots;
  std::string snapshotter;
  std::string root_dir;  // <root>/io.containerd.grpc.v1.cri
  std::string sandbox_image;
  std::string runtime_type = "io.containerd.runc.v2";
  bool restrict_oom_score_adj = false;
  std::string cni_conf_dir;
  // Imports the built-in pause program as image `ref`; returns the image id.
  std::function<StatusOr<std::string>(const std::string& ref)> import_pause;
};

class SandboxManager {
 public:
  explicit SandboxManager(SandboxDeps deps) : d_(std::move(deps)) {}

  // Returns the new sandbox's id. FailedPrecondition for a pod network without CNI config.
  StatusOr<std::string> Run(const SandboxConfig& config);
  // Stops the pause task (SIGKILL). NotFound for an unknown sandbox.
  Status Stop(const std::string& id);
  // Stops, then removes task, snapshot, record and files. OK for an unknown sandbox.
  Status Remove(const std::string& id);
  StatusOr<Sandbox> Get(const std::string& id);
  StatusOr<std::vector<Sandbox>> List(const SandboxFilter& filter);
  // The full id of `id_or_prefix`; NotFound when none or ambiguous.
  StatusOr<std::string> Resolve(const std::string& id_or_prefix);
  // The sandbox's directory (resolv.conf, hostname, hosts).
  std::string Dir(const std::string& id) const;

 private:
  StatusOr<std::vector<metadata::Container>> Records();
  StatusOr<Sandbox> FromRecord(const metadata::Container& c);
  StatusOr<std::string> EnsureImage();
  StatusOr<std::string> SandboxSpec(const std::string& id, const SandboxConfig& cfg, const Image& image);

  SandboxDeps d_;
  std::mutex mu_;
};

// The sandbox metadata extension: berth's JSON of the sandbox (without live state).
std::string EncodeSandbox(const Sandbox& s);
StatusOr<Sandbox> DecodeSandbox(const std::string& json);

}  // namespace berth::cri
