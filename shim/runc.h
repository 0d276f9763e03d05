// Driver for the runc command line, the way containerd-shim-runc-v2 calls it:
//   runc --root <root> --log <bundle>/log.json --log-format json <command> ...
// Every failing command returns a Status whose message is runc's last error from log.json
// (or its exit code when the log says nothing); codes: NotFound when runc says the container
// does not exist, Internal otherwise. Synchronous (see spawn.h); single-threaded use.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace berth::shim {

struct RuncStdio {
  int in = -1, out = -1, err = -1;  // child-side fds passed as runc's 0/1/2 (-1 = /dev/null)
};

class Runc {
 public:
  // `root`: runc state dir (/run/containerd/runc/<ns> by default); `binary`: "runc" or
  // Options.binary_name; `log_json`: <bundle>/log.json.
  Runc(std::string binary, std::string root, std::string log_json, bool systemd_cgroup)
      : binary_(std::move(binary)),
        root_(std::move(root)),
        log_(std::move(log_json)),
        systemd_cgroup_(systemd_cgroup) {}

  Status Create(const std::string& id, const std::string& bundle, const std::string& pid_file,
                const std::string& console_socket, bool no_pivot, bool no_new_keyring,
                const RuncStdio& stdio);
  Status Start(const std::string& id);
  // runc exec --detach --process <spec> --pid-file <pid_file> [--console-socket s] <id>
  Status Exec(const std::string& id, const std::string& process_json,
              const std::string& pid_file, const std::string& console_socket,
              const RuncStdio& stdio);
  Status Kill(const std::string& id, int signal, bool all);
  Status Delete(const std::string& id, bool force);
  Status Pause(const std::string& id);
  Status Resume(const std::string& id);
  // Pids of every process in the container (runc ps --format json).
  StatusOr<std::vector<int>> Ps(const std::string& id);
  // runc update --resources <json file>
  Status Update(const std::string& id, const std::string& resources_json);

  // The "msg" of the last error-level line of log.json, "" when none.
  std::string LastError() const;

 private:
  std::vector<std::string> Base() const;
  Status Run(std::vector<std::string> args, const RuncStdio& stdio, std::string* out = nullptr);

  std::string binary_, root_, log_;
  bool systemd_cgroup_;
};

// Parses "[1,2,3]" (runc ps --format json; "null" for none). InvalidArgument otherwise.
StatusOr<std::vector<int>> ParsePidList(const std::string& json);
// The last error message in a runc log.json text (one JSON object per line).
std::string LastRuncError(const std::string& log_text);

}  // namespace berth::shim
