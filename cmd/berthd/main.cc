// berthd: the berth container runtime daemon. Serves containerd's v1 gRPC API on a unix socket.
#include <signal.h>
#include <systemd/sd-daemon.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "common/log.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/root_lock.h"
#include "daemon/server.h"
#include "runtime/shim_binary.h"

using namespace berth;

namespace {

void LogConfigNotes(const std::vector<daemon::ConfigNote>& notes) {
  for (const auto& n : notes) {
    switch (n.severity) {
      case daemon::ConfigNote::Severity::kWarn: BLOG(Warn) << "config: " << n.message; break;
      case daemon::ConfigNote::Severity::kInfo: BLOG(Info) << "config: " << n.message; break;
      case daemon::ConfigNote::Severity::kDebug: BLOG(Debug) << "config: " << n.message; break;
    }
  }
}

// `berthd config default|dump`: containerd's `containerd config default|dump`.
int ConfigCommand(bool dump, const daemon::Config& cfg) {
  if (!dump) {
    std::fputs(daemon::DefaultConfigText().c_str(), stdout);
    return 0;
  }
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  std::string exe = n > 0 ? std::string(self, static_cast<size_t>(n)) : "";
  auto shims = cfg.RuntimeShims();
  std::string text = daemon::RenderConfig(cfg, /*comments=*/false, [&](const std::string& runtime, const std::string&) {
    auto bin = runtime::ResolveShimBinary(runtime, shims, exe);
    return bin.ok() ? StrCat("-> ", *bin) : StrCat("-> not found: ", bin.status().message());
  });
  std::fputs(text.c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"berthd: a small, fast, containerd-compatible container runtime daemon"};
  std::string config_path = "/etc/berth/config.toml";
  std::string root, state, address, log_level;
  bool config_given = false;
  app.add_option("-c,--config", config_path, "path to the TOML configuration file")
      ->each([&](const std::string&) { config_given = true; });
  app.add_option("--root", root, "root directory for persistent data (default /var/lib/berth)");
  app.add_option("--state", state, "state directory for runtime data (default /run/berth)");
  app.add_option("-a,--address", address, "gRPC unix socket path (default /run/berth/berthd.sock)");
  app.add_option("-l,--log-level", log_level, "log level: trace, debug, info, warn, error");
  bool version = false;
  app.add_flag("-v,--version", version, "print the version and exit");
  CLI::App* config_cmd = app.add_subcommand("config", "information on berthd's configuration");
  config_cmd->require_subcommand(1);
  CLI::App* config_default = config_cmd->add_subcommand("default", "print a complete default configuration file");
  CLI::App* config_dump = config_cmd->add_subcommand("dump", "print the effective configuration (file and flags)");
  CLI11_PARSE(app, argc, argv);
  if (version) {
    std::printf("berthd %s\n", BERTH_VERSION);
    return 0;
  }

  log::SetTag("berthd");
  if (config_default->parsed()) return ConfigCommand(/*dump=*/false, daemon::Config{});
  daemon::Config cfg;
  std::vector<daemon::ConfigNote> notes;
  Status s = daemon::LoadConfigFile(config_path, &cfg, &notes);
  if (!s.ok() && !(absl::IsNotFound(s) && !config_given)) {
    BLOG(Fatal) << "load config: " << s.message();
    return 1;
  }
  if (!root.empty()) cfg.root = root;
  if (!state.empty()) cfg.state = state;
  if (!address.empty()) cfg.grpc_address = address;
  if (!log_level.empty()) cfg.log_level = log_level;
  log::Level level;
  if (!log::ParseLevel(cfg.log_level, &level)) {
    BLOG(Fatal) << "unknown log level \"" << cfg.log_level << "\"";
    return 1;
  }
  log::SetLevel(level);
  LogConfigNotes(notes);
  if (config_dump->parsed()) return ConfigCommand(/*dump=*/true, cfg);

  // Signals are handled by sigwait in this thread; every thread created later inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto lock = daemon::RootLock::Acquire(cfg.root);
  if (!lock.ok()) {
    BLOG(Fatal) << lock.status().message();
    return 1;
  }
  auto d = daemon::BuildDaemon(cfg);
  if (!d.ok()) {
    BLOG(Fatal) << "start: " << d.status().message();
    return 1;
  }
  daemon::Server server(**d);
  s = server.Start();
  if (!s.ok()) {
    BLOG(Fatal) << "start: " << s.message();
    return 1;
  }
  BLOG(Info) << "berthd " << BERTH_VERSION << " ready (root " << cfg.root << ", state " << cfg.state << ")";
  sd_notify(0, "READY=1");

  int sig = 0;
  sigwait(&sigs, &sig);
  BLOG(Info) << "received " << strsignal(sig) << ", shutting down";
  sd_notify(0, "STOPPING=1");
  // Calls get 1 s to finish, the whole stop 2.5 s (containerd stops its gRPC server at once).
  daemon::ArmStopDeadline(2500);
  server.Shutdown(1000);
  (*d)->pool->join();
  d->reset();  // closes shim connections; shims and containers keep running
  BLOG(Info) << "stopped";
  return 0;
}
