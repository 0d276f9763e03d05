// The berth CLI: one file per subcommand, all listed in kCommands (commands.cc).
//
// Adding a subcommand (e.g. `run`): write cmd/berth/run.cc with
//   void SetupRun(CLI::App& app, Globals& g) { auto* c = app.add_subcommand("run", "...");
//     ... c->callback([&g, ...] { g.exit_code = ...; }); }
// declare it below, add one row {"run", SetupRun} to kCommands in commands.cc and the file to
// cmd/CMakeLists.txt. Use Connect(g) for a channel and NewContext(g) for a ClientContext carrying
// the namespace header; print errors with PrintError and set g.exit_code.
#pragma once

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

namespace berth::cli {

struct Globals {
  std::string address = "/run/berth/berthd.sock";
  std::string ns = "default";
  // Where run/exec make their stdio FIFOs, and where -d containers' output is logged.
  std::string fifo_dir = "/run/berth/fifo";
  std::string log_dir = "/var/log/berth";
  // berthd's root (--root, env BERTH_ROOT); empty: asked of berthd (see DataRoot in paths.h).
  mutable std::string root;
  // CNI (networks.h): where networks' conflists live (--cni-netconfpath, env BERTH_CNI_NETCONFPATH),
  // the plugin directories (--cni-path, env BERTH_CNI_PATH, ':'-separated), the result cache
  // (--cni-cache-dir, env BERTH_CNI_CACHE_DIR; empty: <root>/cni/cache) and host-local's dataDir
  // for new networks (--cni-ipam-dir, env BERTH_CNI_IPAM_DIR; empty: <root>/cni/ipam).
  std::string cni_conf_dir = "/etc/berth/cni/net.d";
  std::string cni_path = "/usr/lib/cni:/opt/cni/bin";
  std::string cni_cache_dir, cni_ipam_dir;
  int exit_code = 0;
  mutable std::shared_ptr<grpc::Channel> channel;  // made by the first Connect()
};

struct Command {
  const char* name;
  void (*setup)(CLI::App& app, Globals& g);
};

void SetupPull(CLI::App& app, Globals& g);
void SetupImages(CLI::App& app, Globals& g);
void SetupRmi(CLI::App& app, Globals& g);
void SetupRun(CLI::App& app, Globals& g);
void SetupExec(CLI::App& app, Globals& g);
void SetupPs(CLI::App& app, Globals& g);
void SetupStop(CLI::App& app, Globals& g);
void SetupKill(CLI::App& app, Globals& g);
void SetupRm(CLI::App& app, Globals& g);
void SetupLogs(CLI::App& app, Globals& g);
void SetupPause(CLI::App& app, Globals& g);
void SetupUnpause(CLI::App& app, Globals& g);
void SetupStats(CLI::App& app, Globals& g);
void SetupCreate(CLI::App& app, Globals& g);
void SetupStart(CLI::App& app, Globals& g);
void SetupRestart(CLI::App& app, Globals& g);
void SetupVolume(CLI::App& app, Globals& g);
void SetupInspect(CLI::App& app, Globals& g);
void SetupWait(CLI::App& app, Globals& g);
void SetupTag(CLI::App& app, Globals& g);
void SetupVersion(CLI::App& app, Globals& g);
void SetupContainerPrune(CLI::App& app, Globals& g);
void SetupImagePrune(CLI::App& app, Globals& g);
void SetupCompose(CLI::App& app, Globals& g);
void SetupLogin(CLI::App& app, Globals& g);
void SetupLogout(CLI::App& app, Globals& g);
void SetupPush(CLI::App& app, Globals& g);
void SetupSave(CLI::App& app, Globals& g);
void SetupLoad(CLI::App& app, Globals& g);
void SetupEvents(CLI::App& app, Globals& g);
void SetupTop(CLI::App& app, Globals& g);
void SetupCp(CLI::App& app, Globals& g);
void SetupRename(CLI::App& app, Globals& g);
void SetupSystem(CLI::App& app, Globals& g);
void SetupCompletion(CLI::App& app, Globals& g);

// What berth pull asks berthd for; run uses it too when an image is missing.
struct PullOptions {
  std::string ref, platform, snapshotter;
  bool plain_http = false;
  bool unpack = true;
  std::vector<std::string> insecure_hosts;
  std::string tlscacert;  // CA file for the registry's TLS (else certs.d; cmd/berth/registry_auth.h)
};
// Pulls with progress written to `out` (redrawn bars when tty, one line per change otherwise);
// the name the image was stored under goes to *image_name when given.
grpc::Status PullImage(const Globals& g, const PullOptions& o, std::ostream& out, bool tty,
                       std::string* image_name = nullptr);

extern const Command kCommands[];
extern const size_t kNumCommands;

// The channel to berthd (unix socket, 16 MiB messages), made once per process.
std::shared_ptr<grpc::Channel> Connect(const Globals& g);
// A context with the containerd-namespace header.
std::unique_ptr<grpc::ClientContext> NewContext(const Globals& g);
// "berth: <message>" on stderr.
void PrintError(const grpc::Status& s);

// A docker-style table on stdout: columns as wide as their widest cell (UTF-8 aware), three
// spaces apart, no trailing blanks.
void PrintTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// "12.3 MiB" style sizes, "3 minutes ago" style ages.
std::string HumanSize(int64_t bytes);
std::string HumanAge(int64_t unix_seconds);

}  // namespace berth::cli
