// The compose application model: what `berth compose` runs, after files are found, parsed,
// interpolated, merged, filtered by profile and normalised (compose/loader.h). Every field here
// is in its long (canonical) form: short port and volume syntax, list-form environment and
// labels, list-form depends_on and durations are converted by the loader. The Compose
// Specification (compose-spec/compose-spec) defines the semantics; the names here are its keys.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::compose {

struct PortConfig {
  std::string host_ip;    // empty: every address
  uint32_t target = 0;    // container port
  uint32_t published = 0; // host port; 0: ephemeral (an exposed port without a host port)
  std::string protocol = "tcp";
  bool operator==(const PortConfig&) const = default;
};

struct ServiceVolume {
  std::string type;    // bind | volume | tmpfs
  std::string source;  // absolute host path (bind), volume name (volume, empty: anonymous), empty (tmpfs)
  std::string target;
  bool read_only = false;
  bool create_host_path = true;  // bind: create a missing source directory, as compose does
  bool nocopy = false;           // volume
  uint64_t tmpfs_size = 0;       // tmpfs, bytes; 0: default
  bool operator==(const ServiceVolume&) const = default;
};

struct ServiceNetwork {
  std::vector<std::string> aliases;
  std::string ipv4_address;
  bool operator==(const ServiceNetwork&) const = default;
};

struct DependsOn {
  std::string condition = "service_started";  // service_started | service_healthy | service_completed_successfully
  bool restart = false;
  bool required = true;
  bool operator==(const DependsOn&) const = default;
};

struct Healthcheck {
  std::vector<std::string> test;  // ["CMD", ...] | ["CMD-SHELL", cmd] | ["NONE"]
  int64_t interval_ns = 30'000'000'000;
  int64_t timeout_ns = 30'000'000'000;
  int64_t start_period_ns = 0;
  int retries = 3;
  bool disable = false;
  bool operator==(const Healthcheck&) const = default;
};

struct Ulimit {
  int64_t soft = 0;
  int64_t hard = 0;
  bool operator==(const Ulimit&) const = default;
};

struct Service {
  std::string name;
  std::string image;
  std::string container_name;
  std::optional<std::vector<std::string>> command;     // unset: the image's
  std::optional<std::vector<std::string>> entrypoint;  // unset: the image's
  std::map<std::string, std::string> environment;      // env_file values, then environment's
  std::vector<std::string> env_file;                   // absolute paths, as read
  std::vector<PortConfig> ports;
  std::vector<std::string> expose;
  std::vector<ServiceVolume> volumes;
  std::map<std::string, ServiceNetwork> networks;  // by project-level network key
  std::string network_mode;                        // host | none | service:NAME, else empty
  std::map<std::string, DependsOn> depends_on;
  std::optional<Healthcheck> healthcheck;
  std::string restart;  // no | always | on-failure[:N] | unless-stopped; empty: no
  std::map<std::string, std::string> labels;
  std::string working_dir;
  std::string user;
  std::string hostname;
  std::string domainname;
  std::vector<std::string> tmpfs;
  std::optional<bool> init;
  std::string stop_signal;
  std::optional<int64_t> stop_grace_period_ns;
  int64_t mem_limit = 0;  // deploy.resources.limits.memory (or mem_limit), bytes; 0: none
  double cpus = 0;        // deploy.resources.limits.cpus (or cpus); 0: none
  int64_t pids_limit = 0;
  int replicas = 1;       // deploy.replicas (or scale)
  std::vector<std::string> extra_hosts;  // "host:ip"
  std::vector<std::string> dns;
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  bool privileged = false;
  bool read_only = false;
  bool tty = false;
  bool stdin_open = false;
  int64_t shm_size = 0;
  std::map<std::string, Ulimit> ulimits;
  std::vector<std::string> profiles;
  std::string pull_policy;  // always | missing | never | build; empty: missing
  std::vector<std::string> security_opt;
  std::map<std::string, std::string> sysctls;
  bool operator==(const Service&) const = default;
};

struct Network {
  std::string name;  // the engine-level name: `<project>_<key>` unless set or external
  std::string driver;
  bool external = false;
  bool internal = false;
  std::map<std::string, std::string> labels;
  std::vector<std::string> subnets;   // ipam.config[].subnet
  std::vector<std::string> gateways;  // ipam.config[].gateway, in the same order (may be empty)
  bool operator==(const Network&) const = default;
};

struct Volume {
  std::string name;  // `<project>_<key>` unless set or external
  std::string driver;
  bool external = false;
  std::map<std::string, std::string> labels;
  bool operator==(const Volume&) const = default;
};

struct Project {
  std::string name;
  std::string working_dir;                  // the project directory (first file's)
  std::vector<std::string> files;           // absolute, in merge order
  std::map<std::string, Service> services;  // by service name (sorted, as `config` prints them)
  std::map<std::string, Network> networks;  // by key; "default" added when a service uses it
  std::map<std::string, Volume> volumes;    // by key
  std::vector<std::string> disabled_services;  // left out by profiles
  std::vector<std::string> warnings;           // e.g. variables used while unset
};

}  // namespace berth::compose
