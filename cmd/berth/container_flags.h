// The flags `berth run` and `berth create` share, with docker's names and meanings, and the
// container labels through which some of them outlive the create call (stop signal and
// timeout, restart policy, the log file). AddContainerFlags registers them on a subcommand
// (taking -h for --hostname as docker does, so help is --help there).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace berth::cli {

// containerd's label for the image's StopSignal (containerd.StopSignalLabel), which `stop` honours.
inline constexpr char kLabelStopSignal[] = "io.containerd.image.config.stop-signal";
inline constexpr char kLabelStopTimeout[] = "berth/stop-timeout";  // seconds, from --stop-timeout
inline constexpr char kLabelRestartPolicy[] = "berth/restart";     // --restart as given (for inspect)
// containerd's restart-monitor labels (berthd's daemon/restart_monitor.h acts on them).
inline constexpr char kRestartStatusLabel[] = "containerd.io/restart.status";
inline constexpr char kRestartPolicyLabel[] = "containerd.io/restart.policy";
inline constexpr char kRestartLogUriLabel[] = "containerd.io/restart.loguri";
inline constexpr char kRestartCountLabel[] = "containerd.io/restart.count";
inline constexpr char kRestartExplicitlyStoppedLabel[] = "containerd.io/restart.explicitly-stopped";

// A published port: -p [ip:]hostport:containerport[/proto], or -P for the image's EXPOSE.
struct PortPublish {
  std::string host_ip;  // empty: every address
  uint16_t host_port = 0;  // 0: a free port, chosen when the container is made
  uint16_t container_port = 0;
  std::string protocol = "tcp";  // tcp | udp | sctp
  bool operator==(const PortPublish&) const = default;
};

// One network a container joins: bridge, host, none or a user network, with its aliases there.
struct NetworkAttachment {
  std::string network;
  std::vector<std::string> aliases;
  bool operator==(const NetworkAttachment&) const = default;
};

struct ContainerFlags {
  // Process.
  bool detach = false, rm = false, tty = false, interactive = false;
  std::vector<std::string> env, env_files, labels, label_files;
  std::string name, workdir, user;
  bool entrypoint_set = false;
  std::string entrypoint;
  bool init = false;
  // Resources and security.
  std::string memory, memory_swap, memory_reservation, cpus, shm_size, cpuset_cpus;
  int64_t cpu_shares = 0, pids_limit = 0;
  std::vector<std::string> cap_add, cap_drop, security_opt, ulimits, devices, sysctls;
  bool privileged = false, read_only = false;
  std::string stop_signal;
  int stop_timeout = -1;
  // Health check (docker's --health-*; default: the image's HEALTHCHECK).
  std::string health_cmd, health_interval, health_timeout, health_start_period;
  std::vector<std::string> health_test;  // for code (compose): the whole test, ["CMD", ...] or ["CMD-SHELL", cmd]
  int health_retries = 0;
  bool no_healthcheck = false;
  // Names and files in /etc.
  std::string hostname, cidfile;
  std::vector<std::string> add_hosts, dns, dns_search, dns_options;
  // Networking (networks.h). From argv: --network (repeatable; default bridge), --network-alias,
  // -p, -P. For code (compose): network_attachments is used when `networks` is empty, and
  // `ports` is published beside the -p values.
  std::vector<std::string> networks, network_aliases, publish;
  bool publish_all = false;
  std::vector<NetworkAttachment> network_attachments;
  std::vector<PortPublish> ports;
  // Image.
  std::string pull = "missing", platform;
  bool plain_http = false;
  // Lifecycle.
  std::string restart = "no";
  // Storage.
  std::vector<std::string> volumes, mounts, tmpfs;
  // Plumbing.
  std::string runtime = "io.containerd.berth.v2";
  std::string snapshotter = "overlayfs";
  std::string image;
};

// Registers the flags above and the `image` positional on `c`; with_run adds -d, --rm, -i and -t
// (create has -i and -t too, for a later start; -d and --rm make sense only for run).
void AddContainerFlags(CLI::App* c, ContainerFlags& f, bool with_run);

}  // namespace berth::cli
