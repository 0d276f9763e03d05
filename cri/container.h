// CRI containers in pod sandboxes: CreateContainer / StartContainer / StopContainer /
// RemoveContainer / ListContainers / ContainerStatus, laid out as containerd 1.6's CRI plugin
// lays them out in namespace k8s.io:
//   - the record has the container id, the image reference, label io.cri-containerd.kind=container
//     plus the container's labels, snapshot key = id (prepared on the image's top layer), the OCI
//     spec, and extension io.cri-containerd.container.metadata (berth's JSON of the config,
//     sandbox id, image id, log path, created/started times), so containers come back after a
//     restart;
//   - the spec joins the sandbox's namespaces: network (the pod netns path, or the host's for
//     NODE), IPC and UTS (/proc/<pause>/ns/*, or the host's), PID (the pause's for POD, its own
//     for CONTAINER, the host's for NODE); the sandbox's hosts, hostname and resolv.conf are
//     mounted; annotations io.kubernetes.cri.container-type=container, container-name,
//     sandbox-id, sandbox-name, sandbox-namespace, sandbox-uid, image-name;
//   - command: command+args when command is set, else the image entrypoint + args (or cmd);
//     env after the image's; working dir; mounts as rbind with ro and propagation
//     (PRIVATE rprivate, HOST_TO_CONTAINER rslave, BIDIRECTIONAL rshared);
//   - security context: privileged (every capability, no seccomp, no masked or read-only paths),
//     capabilities add/drop (ALL allowed), run_as_user / run_as_group / supplemental groups,
//     read-only rootfs, no_new_privs, seccomp runtime/default (berth's default profile),
//     unconfined or empty (none, as containerd 1.6 without unset_seccomp_profile),
//     localhost/<path> (the JSON file);
//   - resources: cpu shares/quota/period, cpuset, memory limit; oom_score_adj, raised to berthd's
//     own when restrict_oom_score_adj (root without CAP_SYS_RESOURCE cannot lower it);
//   - stdout and stderr go through FIFOs in <state-root>/containers/<id>/io to a reader in
//     berthd that writes the CRI log format (cri/log_writer.h) to log_directory/log_path; after a
//     berthd restart the readers reopen the FIFOs of running containers (the shim keeps them), so
//     nothing the container wrote is lost while berthd is down (the container blocks once the pipe
//     buffer is full).
// State: CREATED until started, RUNNING while the task runs, EXITED after (the stopped task and its
// shim stay until RemoveContainer, which keeps exit code and time across restarts).
//
// Status codes: NotFound for unknown containers, sandboxes or images; FailedPrecondition for a
// sandbox that is not ready or a start of a container that is not CREATED; AlreadyExists for a
// name already reserved in the pod (name_sandbox-name_namespace_uid_attempt); InvalidArgument for a
// config without metadata.name or an unknown capability.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "cri/images.h"
#include "cri/sandbox.h"

namespace berth::cri {

inline constexpr char kContainerMetadataExtension[] = "io.cri-containerd.container.metadata";

struct MountConfig {
  std::string container_path, host_path;
  bool readonly = false;
  int propagation = 0;  // CRI MountPropagation: PRIVATE 0, HOST_TO_CONTAINER 1, BIDIRECTIONAL 2
};

struct ContainerConfig {
  std::string name;
  uint32_t attempt = 0;
  std::string image;  // as the request names it
  std::vector<std::string> command, args;
  std::string working_dir;
  std::vector<std::pair<std::string, std::string>> envs;
  std::vector<MountConfig> mounts;
  std::map<std::string, std::string> labels, annotations;
  std::string log_path;  // relative to the sandbox's log_directory
  // Linux resources (0 = unset).
  int64_t cpu_period = 0, cpu_quota = 0, cpu_shares = 0, memory_limit = 0, oom_score_adj = 0;
  std::string cpuset_cpus, cpuset_mems;
  // Security context.
  bool privileged = false, readonly_rootfs = false, no_new_privs = false;
  std::vector<std::string> add_caps, drop_caps;
  std::optional<int64_t> run_as_user, run_as_group;
  std::vector<int64_t> supplemental_groups;
  int seccomp_type = 1;  // CRI SecurityProfile.ProfileType: RuntimeDefault 0, Unconfined 1, Localhost 2
  std::string seccomp_localhost;
  NamespaceMode pid = NamespaceMode::kPod;
};

enum class ContainerState { kCreated = 0, kRunning = 1, kExited = 2, kUnknown = 3 };

struct CriContainer {
  std::string id;
  std::string sandbox_id;
  ContainerConfig config;
  std::string image_id;   // sha256:...
  std::string image_ref;  // a repo digest or the id, as containerd's image_ref
  std::string log_path;   // full path, "" when none
  int64_t created_at = 0, started_at = 0, finished_at = 0;  // ns
  int32_t exit_code = 0;
  std::string reason;  // Completed | Error (once exited)
  ContainerState state = ContainerState::kCreated;
  uint32_t pid = 0;
};

struct ContainerFilter {
  std::string id;  // exact or unique prefix
  std::string sandbox_id;
  std::optional<ContainerState> state;
  std::map<std::string, std::string> label_selector;
};

struct ContainerDeps {
  metadata::ContainerStore* containers = nullptr;
  ImageManager* images = nullptr;
  SandboxManager* sandboxes = nullptr;
  TaskOps tasks;
  SnapshotOps snapshots;
  std::string snapshotter;
  std::string state_dir;  // <state>/io.containerd.grpc.v1.cri
  std::string runtime_type = "io.containerd.runc.v2";
  bool restrict_oom_score_adj = false;
  int64_t max_log_line = 16 * 1024;
  std::string snapshotter_root;  // the writable layers' mountpoint in ContainerStats
};

class LogPump;

class ContainerManager {
 public:
  explicit ContainerManager(ContainerDeps deps);
  ~ContainerManager();

  StatusOr<std::string> Create(const std::string& sandbox_id, const ContainerConfig& config);
  Status Start(const std::string& id);
  // SIGTERM, then SIGKILL after `timeout_s` (0: at once). OK for a container that is not running.
  Status Stop(const std::string& id, int64_t timeout_s);
  // Stops (KILL) and removes task, snapshot, record and FIFOs. OK for an unknown container.
  Status Remove(const std::string& id);
  StatusOr<CriContainer> Get(const std::string& id);
  StatusOr<std::vector<CriContainer>> List(const ContainerFilter& filter);
  // ExecSync: runs `cmd` in the running container (its process spec: env, cwd, user,
  // capabilities; no terminal, no stdin) and returns what it wrote and its exit code. With
  // `timeout_s` > 0 a process still running then is killed and the call fails with
  // DeadlineExceeded, as containerd's "timeout exceeded". Each stream keeps at most
  // kMaxExecOutput bytes (the rest is read and dropped, so the process never blocks on a full pipe).
  // FailedPrecondition when the container is not running; InvalidArgument for an empty cmd.
  struct ExecResult {
    std::string stdout_data, stderr_data;
    int32_t exit_code = 0;
  };
  static constexpr size_t kMaxExecOutput = 16 << 20;
  StatusOr<ExecResult> ExecSync(const std::string& id, const std::vector<std::string>& cmd, int64_t timeout_s);
  // UpdateContainerResources, as containerd's CRI: the set (non-zero) values replace the spec's
  // (cpu period, quota, shares, cpuset, memory limit, memory+swap limit, unified) and the
  // container record keeps them (a created container starts with them); a running task is
  // updated through runc update, and the spec is restored when that fails. A task that exited
  // meanwhile is not an error.
  struct ResourceUpdate {
    int64_t cpu_period = 0, cpu_quota = 0, cpu_shares = 0, memory_limit = 0, memory_swap_limit = 0;
    std::string cpuset_cpus, cpuset_mems;
    std::map<std::string, std::string> unified;
  };
  Status UpdateResources(const std::string& id, const ResourceUpdate& update);
  // ContainerStats / ListContainerStats: a cgroup sample of the container's task and the usage of
  // its writable layer. usage_nano_cores is the CPU rate since the previous sample of the same
  // container (0 at the first), as containerd computes it.
  struct StatsSample {
    CriContainer container;
    TaskMetrics metrics;
    uint64_t usage_nano_cores = 0;
    bool has_writable_layer = false;
    int64_t layer_timestamp = 0;
    uint64_t layer_bytes = 0, layer_inodes = 0;
    std::string layer_mountpoint;  // the snapshotter's root, as ImageFsInfo's
  };
  // NotFound for an unknown container; FailedPrecondition when it has no task to sample.
  StatusOr<StatsSample> Stats(const std::string& id);
  // Containers matching the filter (id, sandbox, labels) that have a task to sample.
  StatusOr<std::vector<StatsSample>> ListStats(const ContainerFilter& filter);
  // Reopens the log file (after kubelet rotated it). FailedPrecondition when not running.
  Status ReopenLog(const std::string& id);
  // Every container of a sandbox: stop (KILL) / remove.
  Status StopAll(const std::string& sandbox_id);
  Status RemoveAll(const std::string& sandbox_id);
  // At berthd start: reattaches log readers to the FIFOs of running containers.
  void Recover();

 private:
  StatusOr<std::vector<metadata::Container>> Records();
  StatusOr<CriContainer> FromRecord(const metadata::Container& c);
  StatusOr<std::string> Resolve(const std::string& id_or_prefix);
  StatusOr<StatsSample> Sample(const CriContainer& c);
  StatusOr<std::string> Spec(const std::string& id, const ContainerConfig& cfg, const Sandbox& sb,
                             const Image& image);
  std::string IoDir(const std::string& id) const;
  Status AttachLog(const CriContainer& c, bool create_fifos);

  ContainerDeps d_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<LogPump>> pumps_;
  std::mutex stats_mu_;
  std::map<std::string, std::pair<int64_t, uint64_t>> last_cpu_;  // id -> (timestamp, cpu ns)
};

std::string EncodeContainer(const CriContainer& c);
StatusOr<CriContainer> DecodeContainer(const std::string& json);
bool MatchContainer(const CriContainer& c, const ContainerFilter& f);

}  // namespace berth::cri
