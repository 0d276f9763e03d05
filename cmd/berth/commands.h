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

namespace berth::cli {

struct Globals {
  std::string address = "/run/berth/berthd.sock";
  std::string ns = "default";
  int exit_code = 0;
};

struct Command {
  const char* name;
  void (*setup)(CLI::App& app, Globals& g);
};

void SetupPull(CLI::App& app, Globals& g);
void SetupImages(CLI::App& app, Globals& g);
void SetupRmi(CLI::App& app, Globals& g);

extern const Command kCommands[];
extern const size_t kNumCommands;

// A channel to berthd (unix socket, 16 MiB messages).
std::shared_ptr<grpc::Channel> Connect(const Globals& g);
// A context with the containerd-namespace header.
std::unique_ptr<grpc::ClientContext> NewContext(const Globals& g);
// "berth: <message>" on stderr.
void PrintError(const grpc::Status& s);

// "12.3 MiB" style sizes, "3 minutes ago" style ages.
std::string HumanSize(int64_t bytes);
std::string HumanAge(int64_t unix_seconds);

}  // namespace berth::cli
