// berth top CONTAINER [ps OPTIONS]: the container's processes (Tasks.ListPids) as the host's
// ps shows them, as docker does: ps runs with OPTIONS (default -ef), its PID column is found
// in the header and only the container's rows are kept. FailedPrecondition when the container
// is not running; InvalidArgument when OPTIONS give ps output without a PID column.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <set>
#include <sstream>

#include "cmd/berth/containers.h"

extern char** environ;

namespace berth::cli {
namespace {

StatusOr<std::string> RunPs(const std::vector<std::string>& args) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  std::vector<char*> argv;
  std::string ps = "ps";
  argv.push_back(ps.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, "ps", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  if (rc != 0) {
    close(p[0]);
    return absl::FailedPreconditionError(StrCat("run ps: ", std::strerror(rc)));
  }
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return absl::InvalidArgumentError(StrCat("ps failed: ", out));
  return out;
}

std::vector<std::string> Fields(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> f;
  std::string w;
  while (in >> w) f.push_back(w);
  return f;
}

}  // namespace

void SetupTop(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("top", "show the processes of a running container (host ps)");
  static std::string id;
  static std::vector<std::string> ps_args;
  c->add_option("container", id, "container id, name or unique prefix")->required();
  // Everything after the container goes to ps as it is ("-o pid,comm", "aux").
  c->allow_extras(true);
  c->footer("  [ps OPTIONS...]   passed to the host's ps (default -ef)");
  c->callback([&g, c] {
    ps_args = c->remaining();
    auto ct = FindContainer(g, id);
    if (!ct.ok()) return void(g.exit_code = Fail(ct.status(), 1));
    auto task = GetTask(g, ct->id());
    if (!task.ok()) return void(g.exit_code = Fail(task.status(), 1));
    if (!IsLive(*task)) {
      return void(g.exit_code = Fail(absl::FailedPreconditionError(StrCat("container ", ct->id(), " is not running")), 1));
    }
    auto stub = tkv1::Tasks::NewStub(Connect(g));
    auto ctx = NewContext(g);
    tkv1::ListPidsRequest req;
    req.set_container_id(ct->id());
    tkv1::ListPidsResponse resp;
    Status s = FromGrpc(stub->ListPids(ctx.get(), req, &resp));
    if (!s.ok()) return void(g.exit_code = Fail(s, 1));
    std::set<std::string> pids;
    for (const auto& p : resp.processes()) pids.insert(std::to_string(p.pid()));
    auto out = RunPs(ps_args.empty() ? std::vector<std::string>{"-ef"} : ps_args);
    if (!out.ok()) return void(g.exit_code = Fail(out.status(), 1));
    std::istringstream lines(*out);
    std::string header;
    std::getline(lines, header);
    auto cols = Fields(header);
    int pid_col = -1;
    for (size_t i = 0; i < cols.size(); ++i) {
      if (cols[i] == "PID") pid_col = static_cast<int>(i);
    }
    if (pid_col < 0) {
      return void(g.exit_code = Fail(absl::InvalidArgumentError("couldn't find PID field in ps output"), 1));
    }
    std::cout << header << "\n";
    std::string line;
    while (std::getline(lines, line)) {
      auto f = Fields(line);
      if (static_cast<int>(f.size()) > pid_col && pids.count(f[pid_col])) std::cout << line << "\n";
    }
  });
}

}  // namespace berth::cli
