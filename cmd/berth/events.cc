// berth events [--filter K=V]... [--format TEMPLATE] [--since/--until not supported]: berthd's
// event stream (Events.Subscribe) shown as docker shows its own:
//   2026-01-02T03:04:05.123456789Z container start <id> (image=<image>, name=<id>)
// containerd topics map onto docker's (Type, Action): /tasks/start -> container start,
// /tasks/exit -> container die (exitCode), /tasks/oom -> container oom, /tasks/paused -> pause,
// /tasks/resumed -> unpause, /tasks/exec-added -> exec_create, /tasks/exec-started ->
// exec_start, /containers/create|update|delete -> container create|update|destroy,
// /images/create|update|delete -> image create|tag|delete, /snapshot and /content topics ->
// type snapshot / content with the topic's last word. Filters (several values of one key are
// OR'ed, different keys AND'ed, as docker's): type, event (action), container (id or prefix),
// image, namespace (events of every namespace are shown with --all-namespaces only).
// --format renders docker's event object (Type, Action, Actor.ID, Actor.Attributes, time,
// timeNano, status, id, from, scope); `{{json .}}` prints it whole.
#include <unistd.h>

#include <ctime>
#include <iostream>
#include <map>
#include <set>

#include "cmd/berth/containers.h"
#include "cmd/berth/format.h"
#include "containerd/events/container.pb.h"
#include "containerd/events/image.pb.h"
#include "containerd/services/images/v1/images.pb.h"
#include "containerd/events/task.pb.h"
#include "containerd/services/events/v1/events.grpc.pb.h"

namespace berth::cli {
namespace {

namespace evv1 = containerd::services::events::v1;
namespace cev = containerd::events;

struct DockerEvent {
  std::string type, action, id;
  std::map<std::string, std::string> attrs;
  int64_t time_nano = 0;
  std::string ns;
};

// containerd's type URLs are bare message names ("containerd.events.TaskStart"), which
// Any::UnpackTo does not accept: the topic already says the type, parse the bytes.
template <typename T>
bool Unpack(const google::protobuf::Any& any, T* out) {
  return out->ParseFromString(any.value());
}

DockerEvent Translate(const evv1::Envelope& env) {
  DockerEvent e;
  e.ns = env.namespace_();
  e.time_nano = env.timestamp().seconds() * 1000000000LL + env.timestamp().nanos();
  const std::string& t = env.topic();
  const auto& any = env.event();
  e.type = "container";
  if (t == "/tasks/start") {
    cev::TaskStart m;
    Unpack(any, &m);
    e.action = "start", e.id = m.container_id();
  } else if (t == "/tasks/exit") {
    cev::TaskExit m;
    Unpack(any, &m);
    if (!m.id().empty() && m.id() != m.container_id()) {
      e.action = "exec_die", e.id = m.container_id();
      e.attrs["execID"] = m.id();
    } else {
      e.action = "die", e.id = m.container_id();
    }
    e.attrs["exitCode"] = std::to_string(m.exit_status());
  } else if (t == "/tasks/oom") {
    cev::TaskOOM m;
    Unpack(any, &m);
    e.action = "oom", e.id = m.container_id();
  } else if (t == "/tasks/paused") {
    cev::TaskPaused m;
    Unpack(any, &m);
    e.action = "pause", e.id = m.container_id();
  } else if (t == "/tasks/resumed") {
    cev::TaskResumed m;
    Unpack(any, &m);
    e.action = "unpause", e.id = m.container_id();
  } else if (t == "/tasks/exec-added") {
    cev::TaskExecAdded m;
    Unpack(any, &m);
    e.action = "exec_create", e.id = m.container_id();
    e.attrs["execID"] = m.exec_id();
  } else if (t == "/tasks/exec-started") {
    cev::TaskExecStarted m;
    Unpack(any, &m);
    e.action = "exec_start", e.id = m.container_id();
    e.attrs["execID"] = m.exec_id();
  } else if (t == "/tasks/create") {
    cev::TaskCreate m;
    Unpack(any, &m);
    e.action = "task_create", e.id = m.container_id();
  } else if (t == "/tasks/delete") {
    cev::TaskDelete m;
    Unpack(any, &m);
    e.action = "task_delete", e.id = m.container_id();
  } else if (t == "/containers/create") {
    cev::ContainerCreate m;
    Unpack(any, &m);
    e.action = "create", e.id = m.id();
    if (!m.image().empty()) e.attrs["image"] = m.image();
  } else if (t == "/containers/update") {
    cev::ContainerUpdate m;
    Unpack(any, &m);
    e.action = "update", e.id = m.id();
    if (!m.image().empty()) e.attrs["image"] = m.image();
  } else if (t == "/containers/delete") {
    cev::ContainerDelete m;
    Unpack(any, &m);
    e.action = "destroy", e.id = m.id();
  } else if (t.rfind("/images/", 0) == 0) {
    e.type = "image";
    std::string name;
    if (t == "/images/create") {
      containerd::services::images::v1::ImageCreate m;
      Unpack(any, &m);
      e.action = "create", name = m.name();
    } else if (t == "/images/update") {
      containerd::services::images::v1::ImageUpdate m;
      Unpack(any, &m);
      e.action = "tag", name = m.name();
    } else {
      containerd::services::images::v1::ImageDelete m;
      Unpack(any, &m);
      e.action = "delete", name = m.name();
    }
    e.id = name;
    e.attrs["name"] = name;
  } else {
    auto a = t.find('/', 1);
    e.type = t.substr(1, a == std::string::npos ? std::string::npos : a - 1);
    e.action = a == std::string::npos ? "" : t.substr(a + 1);
  }
  if (e.type == "container") e.attrs["name"] = e.id;
  return e;
}

std::string Rfc3339Nano(int64_t ns) {
  std::time_t s = static_cast<std::time_t>(ns / 1000000000LL);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", std::gmtime(&s));
  char frac[16];
  snprintf(frac, sizeof frac, ".%09lldZ", static_cast<long long>(ns % 1000000000LL));
  return std::string(buf) + frac;
}

nlohmann::json EventJson(const DockerEvent& e) {
  nlohmann::json attrs = nlohmann::json::object();
  for (const auto& [k, v] : e.attrs) attrs[k] = v;
  nlohmann::json j = {{"Type", e.type},
                      {"Action", e.action},
                      {"Actor", {{"ID", e.id}, {"Attributes", attrs}}},
                      {"scope", "local"},
                      {"time", e.time_nano / 1000000000LL},
                      {"timeNano", e.time_nano}};
  if (e.type == "container") {
    j["status"] = e.action;
    j["id"] = e.id;
    if (e.attrs.count("image")) j["from"] = e.attrs.at("image");
  }
  if (!e.ns.empty()) j["namespace"] = e.ns;
  return j;
}

}  // namespace

void SetupEvents(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("events", "stream berthd's events as docker shows them (until interrupted)");
  static std::vector<std::string> filters;
  static std::string format;
  static bool all_ns = false;
  c->add_option("-f,--filter", filters, "type=, event=, container=, image=, namespace= (repeatable)");
  c->add_option("--format", format, "Go template over docker's event object, e.g. '{{json .}}'");
  c->add_flag("--all-namespaces", all_ns, "show the events of every namespace");
  c->callback([&g] {
    std::map<std::string, std::set<std::string>> want;
    for (const auto& f : filters) {
      auto eq = f.find('=');
      if (eq == std::string::npos) return void(g.exit_code = Fail(absl::InvalidArgumentError(StrCat("bad filter \"", f, "\": want key=value")), 1));
      std::string k = f.substr(0, eq);
      static const std::set<std::string> known = {"type", "event", "container", "image", "namespace"};
      if (!known.count(k)) return void(g.exit_code = Fail(absl::InvalidArgumentError(StrCat("invalid filter '", k, "'")), 1));
      want[k].insert(f.substr(eq + 1));
    }
    std::optional<Template> tpl;
    if (!format.empty()) {
      auto t = Template::Parse(format);
      if (!t.ok()) return void(g.exit_code = Fail(t.status(), 1));
      tpl = *t;
    }
    auto stub = evv1::Events::NewStub(Connect(g));
    grpc::ClientContext ctx;
    evv1::SubscribeRequest req;
    if (!all_ns && !want.count("namespace")) req.add_filters("namespace==" + g.ns);
    auto reader = stub->Subscribe(&ctx, req);
    std::map<std::string, std::string> image_of;  // container id -> image, looked up once
    evv1::Envelope env;
    while (reader->Read(&env)) {
      DockerEvent e = Translate(env);
      if (e.type == "container" && !e.id.empty() && !e.attrs.count("image")) {
        auto it = image_of.find(e.id);
        if (it == image_of.end()) {
          Globals gn = g;
          gn.ns = e.ns;
          auto ct = FindContainer(gn, e.id);
          it = image_of.emplace(e.id, ct.ok() ? ct->image() : "").first;
        }
        if (!it->second.empty()) e.attrs["image"] = it->second;
      }
      auto ok = [&](const std::string& key, const std::function<bool(const std::string&)>& match) {
        auto w = want.find(key);
        if (w == want.end()) return true;
        for (const auto& v : w->second) {
          if (match(v)) return true;
        }
        return false;
      };
      if (!ok("type", [&](const std::string& v) { return v == e.type; }) ||
          !ok("event", [&](const std::string& v) { return v == e.action; }) ||
          !ok("namespace", [&](const std::string& v) { return v == e.ns; }) ||
          !ok("container", [&](const std::string& v) { return e.type == "container" && e.id.rfind(v, 0) == 0; }) ||
          !ok("image", [&](const std::string& v) {
            auto it = e.attrs.find(e.type == "image" ? "name" : "image");
            return it != e.attrs.end() && (it->second == v || it->second.find("/" + v) != std::string::npos);
          })) {
        continue;
      }
      if (tpl) {
        auto line = tpl->Render(EventJson(e));
        if (!line.ok()) return void(g.exit_code = Fail(line.status(), 1));
        std::cout << *line << "\n" << std::flush;
        continue;
      }
      std::cout << Rfc3339Nano(e.time_nano) << " " << e.type << " " << e.action << " " << e.id;
      if (!e.attrs.empty()) {
        std::cout << " (";
        bool first = true;
        for (const auto& [k, v] : e.attrs) {
          std::cout << (first ? "" : ", ") << k << "=" << v;
          first = false;
        }
        std::cout << ")";
      }
      std::cout << "\n" << std::flush;
    }
    Status s = FromGrpc(reader->Finish());
    if (!s.ok()) g.exit_code = Fail(s, 1);
  });
}

}  // namespace berth::cli
