// berthd's configuration: defaults, overlaid by a TOML file in containerd's layout (version 2,
// or version 1 with short plugin ids), overlaid by command-line flags.
//
// `berthd config default` prints every key berthd honours with its default and a comment
// (DefaultConfigText); `berthd config dump` prints the effective configuration (RenderConfig).
// Keys of containerd's that berthd does not use are accepted and noted at debug level; keys that
// containerd does not know either are warned about with file and line, never refused (containerd
// ignores unknown keys). Malformed TOML, and keys berthd uses given with the wrong type or a bad
// value, are InvalidArgument naming the file and line.
//
// Runtimes. `[runtimes."<runtime name>"] shim = "<binary>"` maps a runtime name (as clients send
// it, e.g. io.containerd.runc.v2) to a shim v2 binary: a bare name looked up in PATH, or an
// absolute path. By default runc.v2, runc.v1 and the legacy io.containerd.runtime.v1.linux run
// containerd-shim-berth-v2. A runtime's `options` table (runc's Options in CRI's CamelCase keys:
// BinaryName, Root, SystemdCgroup, ...) are defaults for the options a client did not send.
// The CRI shape `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.<handler>]`
// (runtime_type, runtime_path, runtime_root, options, ...) is parsed into `cri` for the CRI
// server; its options are also defaults for tasks of its runtime_type.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::daemon {

inline constexpr char kBerthShim[] = "containerd-shim-berth-v2";
inline constexpr char kRuntimeRuncV2[] = "io.containerd.runc.v2";
inline constexpr char kRuntimeRuncV1[] = "io.containerd.runc.v1";
inline constexpr char kRuntimeLinuxV1[] = "io.containerd.runtime.v1.linux";

// containerd.runc.v1.Options, with the CamelCase keys CRI's `options` tables use.
struct RuncOptions {
  std::string binary_name;  // BinaryName
  std::string root;         // Root
  bool systemd_cgroup = false;  // SystemdCgroup
  bool no_pivot_root = false;   // NoPivotRoot
  bool no_new_keyring = false;  // NoNewKeyring
  std::string shim_cgroup;      // ShimCgroup
  uint32_t io_uid = 0;          // IoUid
  uint32_t io_gid = 0;          // IoGid
  std::string criu_path;        // CriuPath
  std::string criu_image_path;  // CriuImagePath
  std::string criu_work_path;   // CriuWorkPath

  bool IsDefault() const { return *this == RuncOptions{}; }
  bool operator==(const RuncOptions&) const = default;
};

// One row of [runtimes].
struct RuntimeConfig {
  std::string shim;                    // "" = derived from the runtime name
  std::optional<RuncOptions> options;  // defaults for what the client left unset
  bool operator==(const RuntimeConfig&) const = default;
};

// [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.<handler>]
struct CriRuntime {
  std::string runtime_type = kRuntimeRuncV2;
  std::string runtime_path;  // shim binary for this handler ("" = from runtime_type)
  std::string runtime_root;
  bool privileged_without_host_devices = false;
  std::vector<std::string> pod_annotations;
  std::vector<std::string> container_annotations;
  std::string base_runtime_spec;
  std::optional<RuncOptions> options;
};

// The parts of the CRI plugin's configuration berthd reads, by containerd's key names.
struct CriConfig {
  // The pause image of pod sandboxes. When it is neither present nor pullable, berthd imports its
  // built-in pause program (berth-pause) under this name.
  std::string sandbox_image = "registry.k8s.io/pause:3.6";
  // [cni] bin_dir (CNI_PATH; ':'-separated like containerd's), conf_dir.
  std::string cni_bin_dir = "/usr/lib/cni:/opt/cni/bin";
  std::string cni_conf_dir = "/etc/cni/net.d";
  int64_t cni_max_conf_num = 1;
  // Clamp containers' oom_score_adj to not go below berthd's own (root without CAP_SYS_RESOURCE).
  bool restrict_oom_score_adj = false;
  // Pod network namespaces under <state>/io.containerd.grpc.v1.cri/netns instead of /var/run/netns.
  bool netns_mounts_under_state_dir = false;
  // The snapshotter images are unpacked to and containers run from.
  std::string snapshotter = "overlayfs";
  // Lines longer than this are split into partial lines (CRI log format), in bytes.
  int64_t max_container_log_line_size = 16 * 1024;
  std::string default_runtime_name = "runc";
  // containerd's default: handler "runc" of type io.containerd.runc.v2 with empty options.
  std::map<std::string, CriRuntime> runtimes = {{"runc", CriRuntime{.options = RuncOptions{}}}};
};

// [plugins."io.containerd.runtime.v1.linux"]: the legacy runtime, run by a v2 shim. `runtime` and
// `runtime_root` become the containerd.linux.runc.RuncOptions passed when a client sends none;
// its `shim` key sets runtimes["io.containerd.runtime.v1.linux"].shim.
struct LinuxV1Config {
  std::string runtime = "runc";
  std::string runtime_root;
};

struct Config {
  std::string root = "/var/lib/berth";
  std::string state = "/run/berth";
  std::string grpc_address = "/run/berth/berthd.sock";
  std::string ttrpc_address;  // empty: grpc_address + ".ttrpc"
  int gid = 0;
  int max_recv_message_size = 16 << 20;
  int max_send_message_size = 16 << 20;
  // [grpc] max_concurrent_streams (berth's key): calls open at once on one client connection,
  // further ones wait in the client (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); 0 = gRPC's default
  // (unbounded). Idle Subscribe and Wait calls hold no thread either way.
  int max_concurrent_streams = 0;
  std::string log_level = "info";
  // [cgroup] path: the cgroup berthd moves itself into at start ("" = stay).
  std::string cgroup_path;
  // oom_score: berthd's own oom_score_adj, applied at start (0 = leave it).
  int oom_score = 0;
  // [plugins."io.containerd.internal.v1.restart"] interval (also accepted under
  // "io.containerd.monitor.v1.restart"): how often the restart monitor checks.
  int64_t restart_monitor_interval_ms = 10000;
  // [plugins."io.containerd.service.v1.diff-service"] (berth's keys; containerd has none): bounds
  // on every layer berthd unpacks (Diff.Apply, ctr/berth pull), each exceeded one failing the
  // unpack with ResourceExhausted. max_layer_size: uncompressed bytes; max_layer_entries: tar
  // entries; max_layer_ratio: uncompressed/compressed bytes of a compressed layer, checked once
  // more than max_layer_ratio_floor uncompressed bytes came out (0 = no ratio limit).
  int64_t max_layer_size = int64_t{64} << 30;
  int64_t max_layer_entries = 1'000'000;
  int64_t max_layer_ratio = 1000;
  int64_t max_layer_ratio_floor = int64_t{256} << 20;
  // Same section (berth's keys): layers applied at once daemon-wide (Diff.Apply and pulls' unpacks;
  // further ones wait), and pulls run at once by berthd itself (berth pull, CRI PullImage; further
  // ones queue). 0 = unbounded.
  int64_t max_concurrent_unpacks = 4;
  int64_t max_concurrent_pulls = 4;
  // [plugins."io.containerd.grpc.v1.cri"] max_concurrent_downloads (containerd's key and default):
  // layers one berthd pull downloads at once.
  int64_t max_concurrent_downloads = 3;
  // The runtime of a task whose container names none.
  std::string default_runtime = kRuntimeRuncV2;
  std::map<std::string, RuntimeConfig> runtimes = DefaultRuntimes();
  LinuxV1Config linux_v1;
  CriConfig cri;

  std::string TtrpcAddress() const { return ttrpc_address.empty() ? grpc_address + ".ttrpc" : ttrpc_address; }
  static std::map<std::string, RuntimeConfig> DefaultRuntimes();
  // runtime name -> shim binary (name or absolute path) for every row with a shim.
  std::map<std::string, std::string> RuntimeShims() const;
};

// Something the parser noticed that is not an error (an unknown key, an unused one).
struct ConfigNote {
  enum class Severity { kDebug, kInfo, kWarn };
  Severity severity;
  std::string message;  // "<file>:<line>: ..."
  int line = 0;
};

// Parses TOML text into `cfg` (keys absent from the text keep their values) and appends notes
// in line order.
// InvalidArgument, naming `source` and the line, for malformed TOML, a version other than 1 or 2,
// and wrongly typed or invalid values of keys berthd uses.
Status ParseConfig(std::string_view text, const std::string& source, Config* cfg,
                   std::vector<ConfigNote>* notes = nullptr);

// Loads the file at `path` into `cfg`. NotFound when it does not exist.
Status LoadConfigFile(const std::string& path, Config* cfg, std::vector<ConfigNote>* notes = nullptr);

// The effective configuration as a version 2 file. `comments` adds a comment to every key (the
// `config default` text). `resolve`, when given, annotates each runtime's shim with where it
// resolves to. The output parses back without notes.
using ShimResolver = std::function<std::string(const std::string& runtime, const std::string& shim)>;
std::string RenderConfig(const Config& cfg, bool comments, const ShimResolver& resolve = nullptr);
inline std::string DefaultConfigText() { return RenderConfig(Config{}, /*comments=*/true); }

// Formats milliseconds as a Go duration ("10s", "1m30s", "250ms"); parses one ("1h2m3.5s",
// "100ms", "0s"). InvalidArgument for a malformed duration.
std::string FormatDuration(int64_t ms);
StatusOr<int64_t> ParseDurationMs(std::string_view s);

// A google.protobuf.Any as type URL and encoded value.
struct RuntimeOptionsAny {
  std::string type_url;
  std::string value;
};

// The options a task of `runtime` is started with. `sent` is what the client gave (task options,
// else the container's runtime options). Without it: the configured defaults of the runtime
// ([runtimes] options, else a CRI handler's of that runtime_type, the default handler first), or
// for io.containerd.runtime.v1.linux a containerd.linux.runc.RuncOptions from [plugins.linux].
// With containerd.runc.v1.Options sent: fields the client left empty are filled from the
// configured defaults. Other option types pass unchanged. nullopt = no options at all.
std::optional<RuntimeOptionsAny> EffectiveRuntimeOptions(const Config& cfg, const std::string& runtime,
                                                         const std::optional<RuntimeOptionsAny>& sent);

}  // namespace berth::daemon
