// berth exec [-t] [-i] [-e K=V]... [-w DIR] [-u USER[:GROUP]] CONTAINER COMMAND [ARG...]: runs another process in a running
// container, with the container's process spec (user, cwd, capabilities, env) and our stdio, and
// exits with its status.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"

#include "cmd/berth/containers.h"

namespace berth::cli {
namespace {

struct ExecFlags {
  bool tty = false, interactive = false;
  std::vector<std::string> env;
  std::string workdir, user;
  std::string container;
};

// The uid or gid of `name` in a colon-separated database (/etc/passwd, /etc/group) of the
// running container (read through /proc/PID/root); a number stands for itself.
StatusOr<uint32_t> LookupId(uint32_t pid, const std::string& db, const std::string& name, std::string* passwd_gid) {
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) return static_cast<uint32_t>(std::stoul(name));
  std::ifstream in(StrCat("/proc/", pid, "/root", db));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f = absl::StrSplit(line, ':');
    if (f.size() < 3 || f[0] != name) continue;
    if (passwd_gid && f.size() > 3) *passwd_gid = f[3];
    return static_cast<uint32_t>(std::stoul(f[2]));
  }
  return absl::NotFoundError(StrCat("unable to find user ", name, ": no matching entries in ", db, " of the container"));
}

int Exec(const Globals& g, const ExecFlags& f, std::vector<std::string> args) {
  if (!args.empty() && args[0] == "--") args.erase(args.begin());
  if (args.empty()) return Fail(absl::InvalidArgumentError("exec needs a command"));
  SignalProxy signals(g, f.tty);

  auto c = FindContainer(g, f.container);
  if (!c.ok()) return Fail(c.status());
  const std::string id = c->id();
  auto task = GetTask(g, id);
  if (!task.ok()) return Fail(task.status());
  if (!*task || (*task)->status() != containerd::v1::types::RUNNING) {
    return Fail(absl::FailedPreconditionError(StrCat("container ", id, " is not running")));
  }

  nlohmann::json process;
  try {
    process = nlohmann::json::parse(c->spec().value()).at("process");
  } catch (const nlohmann::json::exception& e) {
    return Fail(absl::InvalidArgumentError(StrCat("container ", id, ": unreadable spec: ", e.what())));
  }
  process["args"] = args;
  process["terminal"] = f.tty;
  if (!f.workdir.empty()) process["cwd"] = f.workdir;
  if (!f.user.empty()) {
    // -u USER[:GROUP], names looked up in the container's own files, as docker exec does.
    size_t colon = f.user.find(':');
    std::string group_of_user;
    auto uid = LookupId((*task)->pid(), "/etc/passwd", f.user.substr(0, colon), &group_of_user);
    if (!uid.ok()) return Fail(uid.status());
    StatusOr<uint32_t> gid = colon != std::string::npos
                                 ? LookupId((*task)->pid(), "/etc/group", f.user.substr(colon + 1), nullptr)
                                 : group_of_user.empty() ? StatusOr<uint32_t>(0u)
                                                         : StatusOr<uint32_t>(static_cast<uint32_t>(std::stoul(group_of_user)));
    if (!gid.ok()) return Fail(gid.status());
    process["user"] = {{"uid", *uid}, {"gid", *gid}};
  }
  // -e KEY=VALUE replaces the container's KEY (getenv finds the first of duplicates).
  for (const auto& e : f.env) {
    size_t eq = e.find('=');
    if (eq == std::string::npos) continue;
    auto& env = process["env"];
    if (!env.is_array()) env = nlohmann::json::array();
    bool replaced = false;
    for (auto& cur : env) {
      if (cur.is_string() && cur.get<std::string>().compare(0, eq + 1, e, 0, eq + 1) == 0) {
        cur = e;
        replaced = true;
      }
    }
    if (!replaced) env.push_back(e);
  }

  std::string exec_id = "exec-" + NewContainerId().substr(0, 12);
  auto fifos = FifoSet::Create(g.fifo_dir, exec_id, f.interactive, !f.tty);
  if (!fifos.ok()) return Fail(fifos.status());

  auto tasks = tkv1::Tasks::NewStub(Connect(g));
  {
    auto ctx = NewContext(g);
    tkv1::ExecProcessRequest req;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    req.set_stdin((*fifos)->stdin_path());
    req.set_stdout((*fifos)->stdout_path());
    req.set_stderr((*fifos)->stderr_path());
    req.set_terminal(f.tty);
    req.mutable_spec()->set_type_url(kProcessTypeUrl);
    req.mutable_spec()->set_value(process.dump());
    google::protobuf::Empty empty;
    grpc::Status s = tasks->Exec(ctx.get(), req, &empty);
    if (!s.ok()) return Fail(FromGrpc(s), StartFailureExitCode(FromGrpc(s)));
  }
  auto delete_process = [&] {
    auto ctx = NewContext(g);
    tkv1::DeleteProcessRequest req;
    req.set_container_id(id);
    req.set_exec_id(exec_id);
    tkv1::DeleteResponse resp;
    (void)tasks->DeleteProcess(ctx.get(), req, &resp);
  };

  IoCopier io(**fifos, f.interactive, [&g, id, exec_id] { CloseStdin(g, id, exec_id); });
  std::unique_ptr<RawTerminal> raw;
  if (f.tty) raw = std::make_unique<RawTerminal>();
  signals.Hold();
  if (Status s = StartProcess(g, id, exec_id); !s.ok()) {
    raw.reset();
    io.Drain();
    delete_process();
    return Fail(s, StartFailureExitCode(s));
  }
  signals.Target(id, exec_id);
  if (f.tty) ResizeToTerminal(g, id, exec_id);
  auto exit = WaitProcess(g, id, exec_id);
  io.Drain();
  raw.reset();
  delete_process();
  if (!exit.ok()) return Fail(exit.status());
  return static_cast<int>(exit->exit_status());
}

}  // namespace

void SetupExec(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("exec", "run a command in a running container");
  static ExecFlags f;
  c->add_flag("-t,--tty", f.tty, "allocate a terminal");
  c->add_flag("-i,--interactive", f.interactive, "keep stdin open and copy ours to it");
  c->add_option("-e,--env", f.env, "set an environment variable (KEY=VALUE)")->allow_extra_args(false);
  c->add_option("-w,--workdir", f.workdir, "working directory inside the container");
  c->add_option("-u,--user", f.user, "user[:group] (names or numbers) to run as");
  c->add_option("container", f.container, "container id or unique prefix")->required();
  c->prefix_command();
  c->callback([&g, c] { g.exit_code = Exec(g, f, c->remaining()); });
}

}  // namespace berth::cli
