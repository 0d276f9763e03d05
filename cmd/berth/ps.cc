// berth ps [-a] [-q] [--no-trunc] [--format json|TEMPLATE]: the namespace's containers with their
// state. --format json is berth's array (id, image, command, state, status, pid, exit_code,
// labels); any other format is a Go template (format.h) over docker's row fields: ID, Image,
// Command, CreatedAt, RunningFor, Status, State, Names, Labels ("k=v,..."), Mounts, Ports,
// Networks, Runtime.
// Without -a only containers whose task is up (running or paused) are listed; that selection is
// made by berthd (Tasks.List with a filter).
#include <iostream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>

#include "cmd/berth/containers.h"
#include "cmd/berth/format.h"

namespace berth::cli {
namespace {

std::string RuntimeShort(const std::string& r) {
  return r.rfind("io.containerd.", 0) == 0 ? r.substr(strlen("io.containerd.")) : r;
}

std::vector<std::string> SpecArgs(const cov1::Container& c) {
  try {
    auto args = nlohmann::json::parse(c.spec().value()).at("process").at("args");
    return args.get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception&) {
    return {};
  }
}

}  // namespace

void SetupPs(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("ps", "list containers");
  static bool all = false, quiet = false, no_trunc = false;
  static std::string format;
  c->add_flag("-a,--all", all, "also containers that are not running");
  c->add_flag("-q,--quiet", quiet, "print only ids");
  c->add_flag("--no-trunc", no_trunc, "do not shorten ids and commands");
  c->add_option("--format", format, "table (default), json, or a Go template ({{.ID}} {{.Names}}, table ..., {{json .}})");
  c->callback([&g] {
    std::optional<Template> tmpl;
    if (!format.empty() && format != "table" && format != "json") {
      auto t = Template::Parse(format, {{"ID", "CONTAINER ID"}, {"RunningFor", "CREATED"}, {"CreatedAt", "CREATED AT"}});
      if (!t.ok()) return void(g.exit_code = Fail(t.status(), 1));
      tmpl = *t;
    }
    std::vector<nlohmann::json> docker_rows;
    auto containers = cov1::Containers::NewStub(Connect(g));
    auto tasks = tkv1::Tasks::NewStub(Connect(g));
    cov1::ListContainersResponse cl;
    tkv1::ListTasksResponse tl;
    {
      auto ctx = NewContext(g);
      grpc::Status s = containers->List(ctx.get(), cov1::ListContainersRequest(), &cl);
      if (!s.ok()) return PrintError(s), void(g.exit_code = 1);
    }
    {
      auto ctx = NewContext(g);
      tkv1::ListTasksRequest req;
      if (!all) req.set_filter("status!=stopped,status!=created");
      grpc::Status s = tasks->List(ctx.get(), req, &tl);
      if (!s.ok()) return PrintError(s), void(g.exit_code = 1);
    }
    std::map<std::string, const containerd::v1::types::Process*> by_id;
    for (const auto& t : tl.tasks()) by_id[t.id()] = &t;  // containerd leaves container_id empty here

    nlohmann::json arr = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& ct : cl.containers()) {
      auto t = by_id.find(ct.id());
      if (!all && t == by_id.end()) continue;
      ContainerStatus st = StatusOf(ct, t == by_id.end() ? nullptr : t->second);
      std::vector<std::string> args = SpecArgs(ct);
      if (quiet) {
        std::cout << ShortId(ct.id(), no_trunc) << "\n";
        continue;
      }
      if (format == "json") {
        nlohmann::json j = {{"id", ct.id()},
                            {"image", ct.image()},
                            {"command", args},
                            {"created", ct.created_at().seconds()},
                            {"state", st.state},
                            {"status", st.text},
                            {"pid", st.pid},
                            {"runtime", ct.runtime().name()},
                            {"labels", std::map<std::string, std::string>(ct.labels().begin(), ct.labels().end())}};
        if (st.exit_code >= 0) j["exit_code"] = st.exit_code;
        arr.push_back(std::move(j));
        continue;
      }
      std::string cmd;
      for (const auto& a : args) cmd += (cmd.empty() ? "" : " ") + a;
      if (tmpl) {
        std::string labels;
        for (const auto& [k, v] : std::map<std::string, std::string>(ct.labels().begin(), ct.labels().end())) {
          labels += (labels.empty() ? "" : ",") + k + "=" + v;
        }
        docker_rows.push_back({{"ID", ShortId(ct.id(), no_trunc)},
                               {"Image", ct.image()},
                               {"Command", "\"" + cmd + "\""},
                               {"CreatedAt", ct.created_at().seconds()},
                               {"RunningFor", HumanAge(ct.created_at().seconds())},
                               {"Status", st.text},
                               {"State", st.state},
                               {"Names", ct.id()},
                               {"Labels", labels},
                               {"Mounts", ""},
                               {"Ports", ""},
                               {"Networks", ""},
                               {"Runtime", ct.runtime().name()}});
        continue;
      }
      if (!no_trunc && cmd.size() > 20) cmd = cmd.substr(0, 19) + "…";
      rows.push_back({ShortId(ct.id(), no_trunc), ct.image(), "\"" + cmd + "\"", HumanAge(ct.created_at().seconds()),
                      st.text, RuntimeShort(ct.runtime().name())});
    }
    if (quiet) return;
    if (tmpl) {
      if (Status s = PrintFormatted(*tmpl, docker_rows); !s.ok()) g.exit_code = Fail(s, 1);
      return;
    }
    if (format == "json") {
      std::cout << arr.dump(2) << "\n";
      return;
    }
    PrintTable({"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "RUNTIME"}, rows);
  });
}

}  // namespace berth::cli
