// berthd's configuration: defaults, overlaid by a TOML file in containerd's key layout, overlaid
// by command-line flags.
//
//   root = "/var/lib/berth"
//   state = "/run/berth"
//   [grpc]
//   address = "/run/berth/berthd.sock"
//   gid = 0                       # group owning the socket (mode 0660)
//   max_recv_message_size = 16777216
//   max_send_message_size = 16777216
//   [ttrpc]
//   address = ""                  # default: <grpc address>.ttrpc
//   [debug]
//   level = "info"
//   [plugins."io.containerd.monitor.v1.restart"]   # or containerd 1.6's "io.containerd.internal.v1.restart"
//   interval = "10s"              # the restart monitor's reconcile interval (Go duration)
//   oom_score = 0                 # berthd's own oom_score_adj (0 = leave it)
//   [cgroup]
//   path = ""                     # move berthd into this cgroup at start ("" = stay)
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"

namespace berth::daemon {

struct Config {
  std::string root = "/var/lib/berth";
  std::string state = "/run/berth";
  std::string grpc_address = "/run/berth/berthd.sock";
  std::string ttrpc_address;  // empty: grpc_address + ".ttrpc"
  int gid = 0;
  int max_recv_message_size = 16 << 20;
  int max_send_message_size = 16 << 20;
  std::string log_level = "info";
  std::chrono::nanoseconds restart_interval = std::chrono::seconds(10);
  int oom_score = 0;
  std::string cgroup_path;

  std::string TtrpcAddress() const { return ttrpc_address.empty() ? grpc_address + ".ttrpc" : ttrpc_address; }
};

// Parses TOML text into `cfg` (keys absent from the text keep their values). InvalidArgument,
// naming `source` and the line, for malformed TOML, unknown keys or wrongly typed values.
Status ParseConfig(std::string_view text, const std::string& source, Config* cfg);

// Loads the file at `path` into `cfg`. NotFound when it does not exist.
Status LoadConfigFile(const std::string& path, Config* cfg);

}  // namespace berth::daemon
