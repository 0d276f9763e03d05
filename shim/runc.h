// Driver for an OCI runtime's command line (runc, or crun and others given as BinaryName), the
// way containerd-shim-runc-v2 calls it:
//   <binary> --root <root> --log <bundle>/log.json --log-format json [--systemd-cgroup] <cmd> ...
// Every command completes through a callback with a Status whose message is the runtime's last
// error from log.json (or its exit code when the log says nothing); codes: NotFound when the
// runtime says the container does not exist, Internal otherwise. How a command is waited for
// is the Runner's business (asynchronously on the shim's loop, or synchronously in one-shot
// modes); the callback may run before the call returns. Single-threaded use.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "shim/spawn.h"

namespace berth::shim {

struct RuncStdio {
  int in = -1, out = -1, err = -1;  // child-side fds passed as runc's 0/1/2 (-1 = /dev/null)
};

// Runs argv with opts and reports the result once (see SpawnAsync / RunAndWait).
using Runner = std::function<void(const std::vector<std::string>& argv, const SpawnOptions& opts,
                                  SpawnDone done)>;
// A Runner that waits synchronously (RunAndWait).
Runner SyncRunner();

struct RuncGlobal {
  std::string binary = "runc";  // Options.binary_name
  std::string root;             // --root (runc state dir)
  std::string log_json;         // <bundle>/log.json
  bool systemd_cgroup = false;
};

struct CreateOpts {
  std::string bundle, pid_file, console_socket;
  bool no_pivot = false, no_new_keyring = false;
  RuncStdio stdio;
};

class Runc {
 public:
  using Done = std::function<void(Status)>;

  Runc(RuncGlobal g, Runner runner) : g_(std::move(g)), runner_(std::move(runner)) {}

  void Create(const std::string& id, const CreateOpts& o, Done done);
  void Start(const std::string& id, Done done);
  // <binary> exec --detach --process <spec> --pid-file <pid_file> [--console-socket s] <id>
  void Exec(const std::string& id, const std::string& process_json, const std::string& pid_file,
            const std::string& console_socket, const RuncStdio& stdio, Done done);
  void Kill(const std::string& id, int signal, bool all, Done done);
  void Delete(const std::string& id, bool force, Done done);
  void Pause(const std::string& id, Done done);
  void Resume(const std::string& id, Done done);
  // Pids of every process in the container (ps --format json).
  void Ps(const std::string& id, std::function<void(StatusOr<std::vector<int>>)> done);
  // update --resources <json file>
  void Update(const std::string& id, const std::string& resources_json, Done done);

  const RuncGlobal& global() const { return g_; }

 private:
  std::vector<std::string> Base() const;
  void Run(std::vector<std::string> args, const RuncStdio& stdio, bool capture,
           std::function<void(Status, std::string out)> done);

  RuncGlobal g_;
  Runner runner_;
};

// Parses "[1,2,3]" (runc ps --format json; "null" for none). InvalidArgument otherwise.
StatusOr<std::vector<int>> ParsePidList(const std::string& json);
// The last error message in a runc log.json text (one JSON object per line).
std::string LastRuncError(const std::string& log_text);
// The status a failed kill maps to, as containerd's shim does: NotFound "process already
// finished" when the process is gone, NotFound "no such container" when the runtime has no
// state for it, `st` otherwise.
Status KillError(const Status& st);

}  // namespace berth::shim
