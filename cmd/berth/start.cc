// berth create / start / restart.
//   create [FLAGS] IMAGE [COMMAND [ARG...]]  make a container as run does, without starting it;
//                                            prints its id
//   start C...                               start containers' tasks, output to their log file
//                                            (`berth logs`), as docker start without -a
//   restart [-t SECONDS] C...                stop (as `stop` does), then start
// Each prints the id (or the argument) of every container it acted on and exits 1 if any failed.
#include <iostream>

#include "cmd/berth/create.h"

namespace berth::cli {

void SetupCreate(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("create", "create a container from an image, without starting it");
  static ContainerFlags f;
  AddContainerFlags(c, f, false);
  c->callback([&g, c] {
    auto created = CreateFromFlags(g, f, c->remaining(), std::cerr);
    if (!created.ok()) return void(g.exit_code = Fail(created.status()));
    std::cout << created->container.id() << "\n";
  });
}

namespace {

void ForEachArg(Globals& g, const std::vector<std::string>& args, const std::function<Status(const std::string&)>& fn) {
  for (const auto& a : args) {
    Status s = fn(a);
    if (s.ok()) {
      std::cout << a << "\n";
    } else {
      std::cerr << "berth: " << a << ": " << s.message() << "\n";
      g.exit_code = 1;
    }
  }
}

}  // namespace

void SetupStart(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("start", "start created or stopped containers (output goes to berth logs)");
  static std::vector<std::string> ids;
  c->add_option("container", ids, "container ids or unique prefixes")->required();
  c->callback([&g] {
    ForEachArg(g, ids, [&](const std::string& a) -> Status {
      ASSIGN_OR_RETURN(cov1::Container ct, FindContainer(g, a));
      return StartDetached(g, ct);
    });
  });
}

void SetupRestart(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("restart", "stop, then start containers");
  static std::vector<std::string> ids;
  static int grace = -1;
  c->add_option("-t,--time", grace, "seconds to wait before SIGKILL (default: --stop-timeout, or 10)");
  c->add_option("container", ids, "container ids or unique prefixes")->required();
  c->callback([&g] {
    ForEachArg(g, ids, [&](const std::string& a) -> Status {
      std::string id;
      RETURN_IF_ERROR(StopContainer(g, a, 0, grace, &id));
      ASSIGN_OR_RETURN(cov1::Container ct, FindContainer(g, id));
      return StartDetached(g, ct);
    });
  });
}

}  // namespace berth::cli
