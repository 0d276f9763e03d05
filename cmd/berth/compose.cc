// berth compose: multi-container applications from compose files. The project model comes from
// compose/ (loader, interpolation, merge, profiles, normalisation); the engine that makes it real
// is compose_engine.h; this file is the command line, with docker compose's commands and flags:
//   config, up, down, ps, logs, exec, run, start, stop, restart, pull, top.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_join.h"
#include "cmd/berth/compose_engine.h"
#include "cmd/berth/create.h"
#include "cmd/berth/health.h"
#include "cmd/berth/networks.h"
#include "common/unique.h"
#include "compose/loader.h"
#include "compose/render.h"

namespace berth::cli {
namespace {

struct ComposeFlags {
  std::vector<std::string> files;
  std::string project_name;
  std::string project_directory;
  std::string env_file;
  std::vector<std::string> profiles;
};

StatusOr<compose::Project> LoadProject(const ComposeFlags& f) {
  compose::LoadOptions o;
  o.files = f.files;
  o.project_name = f.project_name;
  o.project_directory = f.project_directory;
  if (!f.project_directory.empty() && f.files.empty()) o.working_dir = f.project_directory;
  o.env_file = f.env_file;
  o.profiles = f.profiles;
  auto p = compose::Load(o);
  if (p.ok()) {
    for (const auto& w : p->warnings) std::cerr << "berth compose: warning: " << w << "\n";
  }
  return p;
}

int Report(const Status& s, int code = 1) {
  std::cerr << "berth compose: " << s.message() << "\n";
  return code;
}

// The project's containers of `services` (all when empty); InvalidArgument for an unknown one.
StatusOr<std::vector<cov1::Container>> Selected(const Globals& g, const compose::Project& p,
                                                const std::vector<std::string>& services, bool oneoff) {
  for (const auto& s : services) {
    if (!p.services.count(s)) return absl::InvalidArgumentError(StrCat("no such service: ", s));
  }
  ASSIGN_OR_RETURN(std::vector<cov1::Container> all, ProjectContainers(g, p.name, oneoff));
  if (services.empty()) return all;
  std::vector<cov1::Container> out;
  for (auto& c : all) {
    if (std::find(services.begin(), services.end(), ServiceOf(c)) != services.end()) out.push_back(std::move(c));
  }
  return out;
}

// The container of replica `index` of `service` (compose exec/top --index).
StatusOr<cov1::Container> ServiceContainer(const Globals& g, const compose::Project& p, const std::string& service,
                                           int index) {
  ASSIGN_OR_RETURN(std::vector<cov1::Container> cs, Selected(g, p, {service}, false));
  for (auto& c : cs) {
    if (NumberOf(c) == index) return std::move(c);
  }
  return absl::NotFoundError(StrCat("service \"", service, "\" is not running container #", index));
}

std::string Label(const cov1::Container& c, const char* key) {
  auto it = c.labels().find(key);
  return it == c.labels().end() ? "" : it->second;
}

// The global flags as arguments, for the berth commands compose runs in its place (exec).
std::vector<std::string> GlobalArgs(const Globals& g) {
  std::vector<std::string> a = {"berth", "-a", g.address, "-n", g.ns, "--fifo-dir", g.fifo_dir, "--log-dir", g.log_dir,
                                "--cni-netconfpath", g.cni_conf_dir, "--cni-path", g.cni_path};
  if (!g.root.empty()) a.insert(a.end(), {"--root", g.root});
  if (!g.cni_cache_dir.empty()) a.insert(a.end(), {"--cni-cache-dir", g.cni_cache_dir});
  if (!g.cni_ipam_dir.empty()) a.insert(a.end(), {"--cni-ipam-dir", g.cni_ipam_dir});
  return a;
}

[[noreturn]] void ExecSelf(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv("/proc/self/exe", argv.data());
  std::perror("berth compose: exec");
  ::_exit(125);
}

std::string SpecCommand(const cov1::Container& c) {
  try {
    auto args = nlohmann::json::parse(c.spec().value()).at("process").at("args").get<std::vector<std::string>>();
    std::string cmd = absl::StrJoin(args, " ");
    if (cmd.size() > 30) cmd = cmd.substr(0, 29) + "…";
    return "\"" + cmd + "\"";
  } catch (const nlohmann::json::exception&) {
    return "\"\"";
  }
}

void SetupUp(CLI::App* c, Globals& g, std::shared_ptr<ComposeFlags> f) {
  auto* up = c->add_subcommand("up", "Create and start the project's containers (attached: follow their logs)");
  auto o = std::make_shared<UpOptions>();
  up->add_flag("-d,--detach", o->detach, "run in the background");
  up->add_flag("--force-recreate", o->force_recreate, "recreate containers even if their definition is unchanged");
  up->add_flag("--no-recreate", o->no_recreate, "leave existing containers as they are");
  up->add_flag("--no-deps", o->no_deps, "do not start the services the given ones depend on");
  up->add_flag("--remove-orphans", o->remove_orphans, "remove containers of services not in the compose file");
  up->add_flag("--no-start", o->no_start, "create the containers without starting them");
  up->add_option("-t,--timeout", o->timeout, "seconds to wait for a container to stop before SIGKILL");
  up->add_option("service", o->services, "services (default: all)");
  up->callback([&g, f, o] {
    auto p = LoadProject(*f);
    if (!p.ok()) return void(g.exit_code = Report(p.status()));
    g.exit_code = ComposeUp(g, *p, *o);
  });
}

void SetupDown(CLI::App* c, Globals& g, std::shared_ptr<ComposeFlags> f) {
  auto* down = c->add_subcommand("down", "Stop and remove the project's containers and networks");
  auto o = std::make_shared<DownOptions>();
  down->add_flag("-v,--volumes", o->volumes, "remove the named volumes of the file and anonymous volumes too");
  down->add_flag("--remove-orphans", o->remove_orphans, "remove containers of services not in the compose file");
  down->add_option("-t,--timeout", o->timeout, "seconds to wait for a container to stop before SIGKILL");
  down->callback([&g, f, o] {
    auto p = LoadProject(*f);
    if (!p.ok()) return void(g.exit_code = Report(p.status()));
    g.exit_code = ComposeDown(g, *p, *o);
  });
}

void SetupPs(CLI::App* c, Globals& g, std::shared_ptr<ComposeFlags> f) {
  auto* ps = c->add_subcommand("ps", "List the project's containers");
  auto all = std::make_shared<bool>(false), quiet = std::make_shared<bool>(false),
       services = std::make_shared<bool>(false);
  auto format = std::make_shared<std::string>("table");
  auto names = std::make_shared<std::vector<std::string>>();
  ps->add_flag("-a,--all", *all, "also stopped containers (and those of `run`)");
  ps->add_flag("-q,--quiet", *quiet, "print only ids");
  ps->add_flag("--services", *services, "print the services' names");
  ps->add_option("--format", *format, "table or json");
  ps->add_option("service", *names, "services (default: all)");
  ps->callback([&g, f, all, quiet, services, format, names] {
    auto p = LoadProject(*f);
    if (!p.ok()) return void(g.exit_code = Report(p.status()));
    auto cs = Selected(g, *p, *names, *all);
    if (!cs.ok()) return void(g.exit_code = Report(cs.status()));
    std::vector<std::vector<std::string>> rows;
    nlohmann::json arr = nlohmann::json::array();
    std::set<std::string> seen_services;
    for (const auto& ct : *cs) {
      auto task = GetTask(g, ct.id());
      if (!task.ok()) return void(g.exit_code = Report(task.status()));
      ContainerStatus st = StatusOf(ct, *task ? &**task : nullptr);
      if (!*all && st.state != "running" && st.state != "paused") continue;
      if (*quiet) {
        std::cout << ct.id() << "\n";
        continue;
      }
      if (*services) {
        if (seen_services.insert(ServiceOf(ct)).second) std::cout << ServiceOf(ct) << "\n";
        continue;
      }
      std::string status = st.text;
      std::string health = HealthSuffix(ct.labels());
      if (st.state == "running" && !health.empty()) status += " " + health;
      std::vector<std::string> ports;
      for (const auto& pp : PortsFromJson(Label(ct, kLabelPorts))) ports.push_back(PortLine(pp));
      if (*format == "json") {
        arr.push_back({{"ID", ct.id()},
                       {"Name", ct.id()},
                       {"Image", ct.image()},
                       {"Command", SpecCommand(ct)},
                       {"Project", p->name},
                       {"Service", ServiceOf(ct)},
                       {"State", st.state},
                       {"Status", status},
                       {"Health", health.empty() ? "" : Label(ct, kLabelHealthStatus)},
                       {"ExitCode", st.exit_code < 0 ? 0 : st.exit_code},
                       {"Publishers", ports}});
        continue;
      }
      rows.push_back({ct.id(), ct.image(), SpecCommand(ct), ServiceOf(ct), HumanAge(ct.created_at().seconds()), status,
                      absl::StrJoin(ports, ", ")});
    }
    if (*quiet || *services) return;
    if (*format == "json") {
      std::cout << arr.dump() << "\n";
      return;
    }
    PrintTable({"NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"}, rows);
  });
}

void SetupLogs(CLI::App* c, Globals& g, std::shared_ptr<ComposeFlags> f) {
  auto* logs = c->add_subcommand("logs", "Print the project's containers' output, each line prefixed with its container");
  auto follow = std::make_shared<bool>(false), no_color = std::make_shared<bool>(false),
       no_prefix = std::make_shared<bool>(false);
  auto tail = std::make_shared<std::string>("all");
  auto names = std::make_shared<std::vector<std::string>>();
  logs->add_flag("-f,--follow", *follow, "keep printing until the containers exit");
  logs->add_flag("--no-color", *no_color, "no colours in the prefixes");
  logs->add_flag("--no-log-prefix", *no_prefix, "no container name before each line");
  logs->add_option("-n,--tail", *tail, "lines from the end of each log to print (default: all)");
  logs->add_option("service", *names, "services (default: all)");
  logs->callback([&g, f, follow, no_color, no_prefix, tail, names] {
    auto p = LoadProject(*f);
    if (!p.ok()) return void(g.exit_code = Report(p.status()));
    int n = -1;
    if (*tail != "all") {
      if (tail->empty() || tail->find_first_not_of("0123456789") != std::string::npos) {
        return void(g.exit_code = Report(absl::InvalidArgumentError(StrCat("--tail: not a number of lines: ", *tail))));
      }
      n = std::stoi(*tail);
    }
    auto cs = Selected(g, *p, *names, false);
    if (!cs.ok()) return void(g.exit_code = Report(cs.status()));
    std::vector<LogSource> sources;
    for (const auto& ct : *cs) {
      std::string path = Label(ct, kLabelLogPath);
      if (!path.empty()) sources.push_back({ct.id(), ct.id(), path});
    }
    Status s = FollowLogs(g, sources, *follow, !*no_color && isatty(1), !*no_prefix, n);
    if (!s.ok()) g.exit_code = Report(s);
  });
}

void SetupExec(CLI::App* c, Globals& g, std::shared_ptr<ComposeFlags> f) {
  auto* ex = c->add_subcommand("exec", "Run a command in a running service container");
  struct Opts {
    bool no_tty = false, detach = false;
    std::vector<std::string> env;
    std::string workdir, user, service;
    int index = 1;
  };
  auto o = std::make_shared<Opts>();
  ex->add_flag("-T,--no-TTY", o->no_tty, "do not allocate a terminal (default: one when stdin is a terminal)");
  ex->add_option("-e,--env", o->env, "set an environment variable (KEY=VALUE)")->allow_extra_args(false);
  ex->add_option("-w,--workdir", o->workdir, "working directory inside the container");
  ex->add_option("-u,--user", o->user, "user[:group] to run as");
  ex->add_option("--index", o->index, "replica of the service (default: 1)");
  ex->add_option("service", o->service, "service")->required();
  ex->prefix_command();
  ex->callback([&g, f, o, ex] {
    auto p = LoadProject(*f);
    if (!p.ok()) return void(g.exit_code = Report(p.status()));
    auto ct = ServiceContainer(g, *p, o->service, o->index);
    if (!ct.ok()) return void(g.exit_code = Report(ct.status()));
    std::vector<std::string> cmd = ex->remaining();
    if (!cmd.empty() && cmd[0] == "--") cmd.erase(cmd.begin());
    if (cmd.empty()) return void(g.exit_code = Report(absl::InvalidArgumentError("exec needs a command")));
    std::vector<std::string> args = GlobalArgs(g);
    args.push_back("exec");
    args.push_back("-i");
    if (!o->no_tty && isatty(0)) args.push_back("-t");
    for (const auto& e : o->env) args.insert(args.end(), {"-e", e});
    if (!o->workdir.empty()) args.insert(args.end(), {"-w", o->workdir});
    if (!o->user.empty()) args.insert(args.end(), {"-u", o->user});
    args.push_back(ct->id());  // berth exec takes everything after the container as the command
    args.insert(args.end(), cmd.begin(), cmd.end());
    ExecSelf(std::move(args));
  });
}

void SetupRun(CLI::App* c, Globals& g, std::shared_ptr<ComposeFlags> f) {
  auto* run = c->add_subcommand("run", "Run a one-off command in a new container of a service");
  struct Opts {
    bool rm = false, detach = false, no_tty = false, no_deps = false, service_ports = false;
    bool entrypoint_set = false;
    std::vector<std::string> env, labels, volumes, publish;
    std::string name, entrypoint, workdir, user, service;
  };
  auto o = std::make_shared<Opts>();
  run->add_flag("--rm", o->rm, "remove the container when it exits");
  run->add_flag("-d,--detach", o->detach, "run in the background and print the container's id");
  run->add_flag("-T,--no-TTY", o->no_tty, "do not allocate a terminal (default: one when stdin is a terminal)");
  run->add_flag("--no-deps", o->no_deps, "do not start the services it depends on");
  run->add_flag("--service-ports", o->service_ports, "publish the service's ports too");
  run->add_option("-e,--env", o->env, "set an environment variable (KEY=VALUE)")->allow_extra_args(false);
  run->add_option("-l,--label", o->labels, "add a label (KEY=VALUE)")->allow_extra_args(false);
  run->add_option("-v,--volume", o->volumes, "bind mount a volume (as berth run -v)")->allow_extra_args(false);
  run->add_option("-p,--publish", o->publish, "publish a port (as berth run -p)")->allow_extra_args(false);
  run->add_option("--name", o->name, "container name (default: <project>-<service>-run-<id>)");
  run->add_option("--entrypoint", o->entrypoint, "override the entrypoint")->each([o](const std::string&) {
    o->entrypoint_set = true;
  });
  run->add_option("-w,--workdir", o->workdir, "working directory inside the container");
  run->add_option("-u,--user", o->user, "user[:group] to run as");
  run->add_option("service", o->service, "service")->required();
  run->prefix_command();
  run->callback([&g, f, o, run] {
    // The terminating signals are RunContainer's (and held from before any gRPC thread exists).
    sigset_t held;
    sigemptyset(&held);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH}) sigaddset(&held, s);
    pthread_sigmask(SIG_BLOCK, &held, nullptr);
    auto p = LoadProject(*f);
    if (!p.ok()) return void(g.exit_code = Report(p.status()));
    auto it = p->services.find(o->service);
    if (it == p->services.end()) return void(g.exit_code = Report(absl::InvalidArgumentError(StrCat("no such service: ", o->service))));
    const compose::Service& s = it->second;
    if (!o->no_deps && !s.depends_on.empty()) {
      auto order = ServiceOrder(*p, {o->service}, true);
      if (!order.ok()) return void(g.exit_code = Report(order.status()));
      order->pop_back();  // the service itself
      UpOptions up;
      up.detach = true;
      up.no_recreate = true;
      up.services = *order;
      if (!order->empty() && ComposeUp(g, *p, up) != 0) return void(g.exit_code = 1);
      if (Status w = WaitForDependencies(g, *p, s); !w.ok()) return void(g.exit_code = Report(w));
    }
    auto sr = ServiceToRun(*p, s, 1, true);
    if (!sr.ok()) return void(g.exit_code = Report(sr.status()));
    ContainerFlags& cf = sr->flags;
    cf.name = !o->name.empty() ? o->name : StrCat(p->name, "-", s.name, "-run-", RandomHex(12));
    cf.detach = o->detach;
    cf.rm = o->rm;
    cf.interactive = !o->detach;
    cf.tty = !o->detach && !o->no_tty && isatty(0);
    cf.restart = "no";
    for (const auto& e : o->env) cf.env.push_back(e);
    for (const auto& l : o->labels) cf.labels.push_back(l);
    for (const auto& v : o->volumes) cf.volumes.push_back(v);
    cf.publish = o->publish;
    if (o->service_ports) {
      ContainerFlags with_ports;
      compose::Service copy = s;
      if (Status st = AddServiceNetworking(*p, copy, false, with_ports); !st.ok()) return void(g.exit_code = Report(st));
      cf.ports = with_ports.ports;
    }
    if (o->entrypoint_set) {
      auto words = compose::SplitCommand(o->entrypoint);
      if (!words.ok()) return void(g.exit_code = Report(words.status()));
      cf.entrypoint_set = true;
      cf.entrypoint = words->empty() ? "" : (*words)[0];
      sr->args.assign(words->size() > 1 ? words->begin() + 1 : words->end(), words->end());
    }
    if (!o->workdir.empty()) cf.workdir = o->workdir;
    if (!o->user.empty()) cf.user = o->user;
    std::vector<std::string> cmd = run->remaining();
    if (!cmd.empty() && cmd[0] == "--") cmd.erase(cmd.begin());
    std::vector<std::string> args = sr->args;
    if (!cmd.empty()) {
      if (!o->entrypoint_set && s.entrypoint) {
        args.assign(s.entrypoint->size() > 1 ? s.entrypoint->begin() + 1 : s.entrypoint->end(), s.entrypoint->end());
      } else if (!o->entrypoint_set) {
        args.clear();
      }
      args.insert(args.end(), cmd.begin(), cmd.end());
    }
    g.exit_code = RunContainer(g, cf, args);
  });
}

// start / stop / restart of existing containers, dependencies first (stop: last).
void SetupLifecycle(CLI::App* c, Globals& g, std::shared_ptr<ComposeFlags> f, const char* verb, const char* help) {
  auto* sub = c->add_subcommand(verb, help);
  auto names = std::make_shared<std::vector<std::string>>();
  auto timeout = std::make_shared<int>(-1);
  if (std::string(verb) != "start") sub->add_option("-t,--timeout", *timeout, "seconds to wait before SIGKILL");
  sub->add_option("service", *names, "services (default: all)");
  std::string v = verb;
  sub->callback([&g, f, names, timeout, v] {
    auto p = LoadProject(*f);
    if (!p.ok()) return void(g.exit_code = Report(p.status()));
    auto order = ServiceOrder(*p, *names, false);
    if (!order.ok()) return void(g.exit_code = Report(order.status()));
    if (v == "stop") std::reverse(order->begin(), order->end());
    auto cs = ProjectContainers(g, p->name, false);
    if (!cs.ok()) return void(g.exit_code = Report(cs.status()));
    for (const auto& svc : *order) {
      if (v == "start") {
        if (Status w = WaitForDependencies(g, *p, p->services.at(svc)); !w.ok()) {
          g.exit_code = Report(w);
          continue;
        }
      }
      for (const auto& ct : *cs) {
        if (ServiceOf(ct) != svc) continue;
        Status s;
        std::string id;
        if (v != "start") s = StopContainer(g, ct.id(), 0, *timeout, &id);
        if (s.ok() && v != "stop") {
          auto fresh = FindContainer(g, ct.id());
          s = fresh.ok() ? StartDetached(g, *fresh) : fresh.status();
        }
        if (!s.ok()) {
          g.exit_code = Report(absl::Status(s.code(), StrCat(ct.id(), ": ", s.message())));
          continue;
        }
        std::cerr << " Container " << ct.id() << (v == "start" ? "  Started\n" : v == "stop" ? "  Stopped\n" : "  Restarted\n");
      }
    }
  });
}

void SetupPull(CLI::App* c, Globals& g, std::shared_ptr<ComposeFlags> f) {
  auto* pull = c->add_subcommand("pull", "Pull the services' images");
  auto names = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false), ignore = std::make_shared<bool>(false);
  pull->add_flag("-q,--quiet", *quiet, "no progress");
  pull->add_flag("--ignore-pull-failures", *ignore, "go on (and succeed) when an image cannot be pulled");
  pull->add_option("service", *names, "services (default: all)");
  pull->callback([&g, f, names, quiet, ignore] {
    auto p = LoadProject(*f);
    if (!p.ok()) return void(g.exit_code = Report(p.status()));
    auto order = ServiceOrder(*p, *names, false);
    if (!order.ok()) return void(g.exit_code = Report(order.status()));
    for (const auto& svc : *order) {
      const auto& s = p->services.at(svc);
      if (s.image.empty()) continue;
      std::cerr << " " << svc << " Pulling\n";
      PullOptions po;
      po.ref = s.image;
      std::ostringstream discard;
      grpc::Status st = PullImage(g, po, *quiet ? static_cast<std::ostream&>(discard) : std::cerr, !*quiet && isatty(2));
      if (!st.ok()) {
        std::cerr << "berth compose: " << svc << ": " << st.error_message() << "\n";
        if (!*ignore) g.exit_code = 1;
        continue;
      }
      std::cerr << " " << svc << " Pulled\n";
    }
  });
}

void SetupTop(CLI::App* c, Globals& g, std::shared_ptr<ComposeFlags> f) {
  auto* top = c->add_subcommand("top", "Show the processes of the project's running containers");
  auto names = std::make_shared<std::vector<std::string>>();
  top->add_option("service", *names, "services (default: all)");
  top->callback([&g, f, names] {
    auto p = LoadProject(*f);
    if (!p.ok()) return void(g.exit_code = Report(p.status()));
    auto cs = Selected(g, *p, *names, false);
    if (!cs.ok()) return void(g.exit_code = Report(cs.status()));
    auto tasks = tkv1::Tasks::NewStub(Connect(g));
    for (const auto& ct : *cs) {
      auto ctx = NewContext(g);
      tkv1::ListPidsRequest req;
      req.set_container_id(ct.id());
      tkv1::ListPidsResponse resp;
      if (!tasks->ListPids(ctx.get(), req, &resp).ok()) continue;  // not running
      std::vector<std::string> pids;
      for (const auto& pi : resp.processes()) pids.push_back(std::to_string(pi.pid()));
      if (pids.empty()) continue;
      std::cout << ct.id() << "\n";
      std::cout.flush();
      // The host's ps over the container's pids, as docker top does.
      std::string cmd = StrCat("ps -o uid,pid,ppid,c,stime,tty,time,cmd -p ", absl::StrJoin(pids, ","));
      if (std::FILE* out = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        for (size_t n; (n = std::fread(buf, 1, sizeof buf, out)) > 0;) std::cout.write(buf, static_cast<std::streamsize>(n));
        ::pclose(out);
      }
      std::cout << "\n";
    }
  });
}

void SetupConfig(CLI::App* c, Globals& g, std::shared_ptr<ComposeFlags> f) {
  auto* cfg = c->add_subcommand("config", "Validate the compose files and print the normalised model");
  auto services = std::make_shared<bool>(false), volumes = std::make_shared<bool>(false),
       networks = std::make_shared<bool>(false), quiet = std::make_shared<bool>(false);
  auto hash = std::make_shared<std::string>();
  cfg->add_flag("--services", *services, "print the service names, one per line");
  cfg->add_flag("--volumes", *volumes, "print the volume names, one per line");
  cfg->add_flag("--networks", *networks, "print the network names, one per line");
  cfg->add_option("--hash", *hash, "print \"SERVICE HASH\" for the given services (\"*\" for all)");
  cfg->add_flag("-q,--quiet", *quiet, "only validate");
  cfg->callback([&g, f, services, volumes, networks, quiet, hash] {
    auto p = LoadProject(*f);
    if (!p.ok()) return void(g.exit_code = Report(p.status()));
    if (*quiet) return;
    if (*services) {
      for (const auto& [name, _] : p->services) std::cout << name << "\n";
    } else if (*volumes) {
      for (const auto& [name, _] : p->volumes) std::cout << name << "\n";
    } else if (*networks) {
      for (const auto& [name, _] : p->networks) std::cout << name << "\n";
    } else if (!hash->empty()) {
      for (const auto& [name, s] : p->services) {
        if (*hash == "*" || *hash == name) std::cout << name << " " << compose::ConfigHash(s) << "\n";
      }
    } else {
      std::cout << compose::RenderYaml(*p);
    }
  });
}

}  // namespace

void SetupCompose(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("compose", "Define and run multi-container applications");
  c->require_subcommand(1);
  auto f = std::make_shared<ComposeFlags>();
  c->add_option("-f,--file", f->files, "compose file (repeatable; merged in order)");
  c->add_option("-p,--project-name", f->project_name, "project name (default: COMPOSE_PROJECT_NAME, name:, or the directory)");
  c->add_option("--project-directory", f->project_directory, "project directory (default: the first file's)");
  c->add_option("--env-file", f->env_file, "variables file (default: .env in the project directory)");
  c->add_option("--profile", f->profiles, "profile to enable (repeatable; default: COMPOSE_PROFILES)");
  SetupConfig(c, g, f);
  SetupUp(c, g, f);
  SetupDown(c, g, f);
  SetupPs(c, g, f);
  SetupLogs(c, g, f);
  SetupExec(c, g, f);
  SetupRun(c, g, f);
  SetupLifecycle(c, g, f, "start", "Start the project's existing containers");
  SetupLifecycle(c, g, f, "stop", "Stop the project's running containers");
  SetupLifecycle(c, g, f, "restart", "Restart the project's containers");
  SetupPull(c, g, f);
  SetupTop(c, g, f);
}

}  // namespace berth::cli
