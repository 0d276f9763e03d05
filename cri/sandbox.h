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
// pause container's (pod-wide) unless NODE. Network: NODE shares the host's; a pod network is
// refused with FailedPrecondition "cni plugin not initialized" while network::LoadConfigDir finds
// no network in cni_conf_dir, as containerd refuses it. Otherwise, as containerd 1.6 does:
//   - a persistent netns `cni-<random>` is made in netns_dir (network::CreateNetns);
//   - CNI ADD of the first max_conf_num networks (file order) attaches it as eth0, eth1, ...,
//     CNI_ARGS IgnoreUnknown=1, K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_INFRA_CONTAINER_ID,
//     K8S_POD_UID; capability args portMappings (mappings with a host port > 0, protocol
//     lower-case), dns (when the pod has a DNSConfig) and io.kubernetes.cri.pod-annotations;
//   - the pod IP is eth0's first IPv4 address (else its first), additional_ips the rest of eth0's;
//     both are kept in the sandbox metadata, so they are the same after a berthd restart;
//   - the pause container joins the netns by path.
// Any failure after the netns was made runs CNI DEL and removes the netns before Run returns.
// Stop kills the pause task, then CNI DELs every attachment of the sandbox (from the CNI cache, so
// a changed conf dir does not matter) and removes the netns; Status then has no IP (as containerd:
// a closed netns has none). Recover() (at berthd start) tears down the attachments (and their
// netns) that no sandbox record owns, and, when netns_dir is berthd's own, every cni-* netns no
// record names: what a crash during Run or Remove left behind.
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
#include "network/cni.h"

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
  std::string ip;          // pod IP, "" for host network or once the netns is closed
  std::vector<std::string> additional_ips;
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
// One cgroup sample of a task in CRI's terms, converted from cgroups v1 or v2 metrics as
// containerd's CRI does: working set = usage - inactive file (0 when larger), available = limit -
// working set when a limit below 2^62 is set (else 0), rss = (total_)rss / anon.
struct TaskMetrics {
  int64_t timestamp = 0;  // ns since the epoch
  uint64_t cpu_usage_ns = 0;
  uint64_t memory_usage = 0, working_set = 0, available = 0, rss = 0, page_faults = 0, major_page_faults = 0;
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
  // Adds process `exec_id` (an OCI runtime-spec Process as JSON) to the running task `id`, with
  // stdout and stderr to the given FIFO paths (stdin none), and starts it.
  std::function<Status(const std::string& id, const std::string& exec_id, const std::string& process_json,
                       const std::string& stdout_path, const std::string& stderr_path)>
      exec;
  // Waits up to `timeout_ms` (< 0: no limit) for the exec to exit: its exit status;
  // DeadlineExceeded when it did not.
  std::function<StatusOr<uint32_t>(const std::string& id, const std::string& exec_id, int64_t timeout_ms)> exec_wait;
  // Signals the exec; NotFound once it exited.
  std::function<Status(const std::string& id, const std::string& exec_id, int signal)> exec_kill;
  // Deletes the exited exec; OK when there is none.
  std::function<Status(const std::string& id, const std::string& exec_id)> exec_delete;
  // Applies `resources_json` (an OCI LinuxResources) to the running task (runc update).
  std::function<Status(const std::string& id, const std::string& resources_json)> update;
  // A cgroup sample of the task; NotFound when there is no task, an error once its cgroup is gone.
  std::function<StatusOr<TaskMetrics>(const std::string& id)> metrics;
};

struct SnapshotOps {
  std::function<StatusOr<std::vector<snapshotter::Mount>>(const std::string& key, const std::string& parent)> prepare;
  std::function<StatusOr<std::vector<snapshotter::Mount>>(const std::string& key)> mounts;
  std::function<Status(const std::string& key)> remove;  // OK when missing
  // Bytes and inodes of the snapshot's own (writable) layer.
  std::function<StatusOr<snapshotter::Usage>(const std::string& key)> usage;
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
  int max_conf_num = 1;
  const network::Cni* cni = nullptr;  // required for pod networks
  std::string netns_dir;              // where pod netns files are bind-mounted
  bool netns_dir_private = false;     // netns_dir is berthd's own (Recover sweeps it)
  // Stops / removes every container of sandbox `id` (the container manager); optional.
  std::function<Status(const std::string& id)> stop_containers, remove_containers;
  // Imports the built-in pause program as image `ref`; returns the image id.
  std::function<StatusOr<std::string>(const std::string& ref)> import_pause;
};

class SandboxManager {
 public:
  explicit SandboxManager(SandboxDeps deps) : d_(std::move(deps)) {}

  // Returns the new sandbox's id. FailedPrecondition for a pod network without CNI config.
  StatusOr<std::string> Run(const SandboxConfig& config);
  // Stops the pod's containers and the pause task (SIGKILL), then tears the pod network down
  // (idempotent). NotFound for an unknown sandbox.
  Status Stop(const std::string& id);
  // Stops, then removes task, snapshot, record and files. OK for an unknown sandbox.
  Status Remove(const std::string& id);
  StatusOr<Sandbox> Get(const std::string& id);
  StatusOr<std::vector<Sandbox>> List(const SandboxFilter& filter);
  // The full id of `id_or_prefix`; NotFound when none or ambiguous.
  StatusOr<std::string> Resolve(const std::string& id_or_prefix);
  // Tears down what no sandbox record owns (CNI attachments in the cache, netns files); errors are
  // logged, not returned, except for an unreadable metadata store.
  Status Recover();
  // The sandbox's directory (resolv.conf, hostname, hosts).
  std::string Dir(const std::string& id) const;

 private:
  StatusOr<std::vector<metadata::Container>> Records();
  StatusOr<Sandbox> FromRecord(const metadata::Container& c);
  StatusOr<std::string> EnsureImage();
  StatusOr<std::string> SandboxSpec(const std::string& id, const SandboxConfig& cfg, const Image& image,
                                    const std::string& netns);
  // CNI ADD of the pod's networks into `s.netns`; sets s.ip and s.additional_ips. Undoes its own
  // attachments on failure.
  Status SetupNetwork(Sandbox& s);
  // CNI DEL of every cached attachment of sandbox `id`, then removes `netns` (may be "").
  Status TeardownNetwork(const std::string& id, const std::string& netns);

  SandboxDeps d_;
  std::mutex mu_;
};

// The sandbox metadata extension: berth's JSON of the sandbox (without live state).
std::string EncodeSandbox(const Sandbox& s);
StatusOr<Sandbox> DecodeSandbox(const std::string& json);

}  // namespace berth::cri
