// berth inspect [--type container|image|volume] [-f FORMAT] NAME...: docker's JSON array, one
// object per name, looked up as a container, then an image, then a volume (docker's order).
// Containers carry docker's main fields (Id, Created, Path, Args, State, Image, Name,
// RestartCount, HostConfig, Mounts, Config, NetworkSettings), read back from the container record,
// its spec, its labels and its task; images Id, RepoTags, RepoDigests, Created, Architecture, Os,
// Size, Config, RootFS.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cmd/berth/container_flags.h"
#include "cmd/berth/containers.h"
#include "cmd/berth/format.h"
#include "cmd/berth/inspect.h"
#include "cmd/berth/paths.h"
#include "cmd/berth/units.h"
#include "cmd/berth/volumes.h"
#include "cmd/berth/networks.h"
#include "containerd/services/images/v1/images.grpc.pb.h"

namespace berth::cli {
namespace {

using nlohmann::json;
namespace imv1 = containerd::services::images::v1;

std::string Rfc3339(int64_t seconds, int32_t nanos = 0) {
  if (seconds <= 0) return "0001-01-01T00:00:00Z";
  time_t t = static_cast<time_t>(seconds);
  tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  snprintf(frac, sizeof frac, ".%09dZ", nanos);
  return std::string(buf) + frac;
}

std::string Label(const cov1::Container& c, const std::string& key, const std::string& def = "") {
  auto it = c.labels().find(key);
  return it == c.labels().end() ? def : it->second;
}

// The mounts a user asked for (not the spec's defaults, /etc files or berth-init), docker's way.
json UserMounts(const Globals& g, const json& spec) {
  static const std::set<std::string> kDefaults = {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys",
                                                  "/run", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname",
                                                  "/sbin/berth-init"};
  const std::string vols = VolumesDir(g) + "/";
  json out = json::array();
  for (const auto& m : spec.value("mounts", json::array())) {
    std::string dest = m.value("destination", ""), src = m.value("source", ""), type = m.value("type", "");
    std::vector<std::string> opts = m.value("options", std::vector<std::string>{});
    bool ro = std::find(opts.begin(), opts.end(), "ro") != opts.end();
    if (kDefaults.count(dest) && !(type == "bind" && src.rfind(vols, 0) == 0)) {
      // A default destination is reported only when a flag replaced it (a tmpfs we did not add
      // looks the same as ours, so only binds and volumes count).
      if (type != "bind" || dest == "/etc/hosts" || dest == "/etc/resolv.conf" || dest == "/etc/hostname" ||
          dest == "/sbin/berth-init") {
        continue;
      }
    }
    json j = {{"Destination", dest}, {"Mode", ro ? "ro" : ""}, {"RW", !ro}};
    if (type == "tmpfs") {
      j["Type"] = "tmpfs";
      j["Source"] = "";
    } else if (src.rfind(vols, 0) == 0) {
      std::string rest = src.substr(vols.size());
      j["Type"] = "volume";
      j["Name"] = rest.substr(0, rest.find('/'));
      j["Source"] = src;
      j["Driver"] = "local";
    } else {
      j["Type"] = "bind";
      j["Source"] = src;
      std::string prop = "rprivate";
      for (const auto& o : opts) {
        if (o.find("shared") != std::string::npos || o.find("slave") != std::string::npos ||
            o.find("private") != std::string::npos) {
          prop = o;
        }
      }
      j["Propagation"] = prop;
    }
    out.push_back(j);
  }
  return out;
}

json ContainerJson(const Globals& g, const cov1::Container& c) {
  json spec = json::object();
  try {
    spec = json::parse(c.spec().value());
  } catch (const json::exception&) {
  }
  auto task = GetTask(g, c.id());
  const containerd::v1::types::Process* t = task.ok() && *task ? &**task : nullptr;
  ContainerStatus st = StatusOf(c, t);
  json proc = spec.value("process", json::object());
  std::vector<std::string> args = proc.value("args", std::vector<std::string>{});
  json res = spec.value("linux", json::object()).value("resources", json::object());
  int64_t quota = res.value("cpu", json::object()).value("quota", int64_t{0});
  int64_t period = res.value("cpu", json::object()).value("period", int64_t{0});
  auto policy = ParseRestartPolicy(Label(c, kLabelRestartPolicy, "no"));
  int64_t finished = t && st.state == "exited" ? t->exited_at().seconds() : atoll(Label(c, kLabelExitedAt, "0").c_str());
  std::map<std::string, std::string> labels(c.labels().begin(), c.labels().end());

  json state = {{"Status", st.state},
                {"Running", st.state == "running" || st.state == "paused"},
                {"Paused", st.state == "paused"},
                {"Restarting", false},
                {"OOMKilled", Label(c, kLabelOomKilled) == "true" || (t && IsOomKilled(g, c))},
                {"Dead", false},
                {"Pid", st.pid},
                {"ExitCode", std::max(st.exit_code, 0)},
                {"Error", ""},
                {"StartedAt", Rfc3339(atoll(Label(c, kLabelStartedAt, "0").c_str()))},
                {"FinishedAt", Rfc3339(finished)}};
  json host = {{"Memory", res.value("memory", json::object()).value("limit", int64_t{0})},
               {"MemorySwap", res.value("memory", json::object()).value("swap", int64_t{0})},
               {"NanoCpus", period > 0 ? quota * 1000000000 / period : 0},
               {"PidsLimit", res.value("pids", json::object()).value("limit", int64_t{0})},
               {"ReadonlyRootfs", spec.value("root", json::object()).value("readonly", false)},
               {"RestartPolicy",
                {{"Name", policy.ok() ? policy->name : "no"}, {"MaximumRetryCount", policy.ok() ? policy->max_retries : 0}}},
               {"AutoRemove", Label(c, kLabelAutoRemove) == "true"},
               {"Runtime", c.runtime().name()},
               {"CapAdd", nullptr},
               {"CapDrop", nullptr},
               {"NetworkMode", "none"}};
  ContainerNetworkJson net = ContainerNetworkInspect(g, c.id(), Label(c, kLabelNetworks), Label(c, kLabelPorts));
  host["NetworkMode"] = net.network_mode;
  host["PortBindings"] = net.port_bindings;
  json config = {{"Hostname", spec.value("hostname", "")},
                 {"User", StrCat(proc.value("user", json::object()).value("uid", 0), ":",
                                 proc.value("user", json::object()).value("gid", 0))},
                 {"Tty", proc.value("terminal", false)},
                 {"Env", proc.value("env", std::vector<std::string>{})},
                 {"Cmd", args},
                 {"Image", c.image()},
                 {"WorkingDir", proc.value("cwd", "/")},
                 {"Entrypoint", nullptr},
                 {"Labels", labels},
                 {"StopSignal", Label(c, kLabelStopSignal, "SIGTERM")}};
  if (labels.contains(kLabelStopTimeout)) config["StopTimeout"] = atoi(labels[kLabelStopTimeout].c_str());
  return {{"Id", c.id()},
          {"Created", Rfc3339(c.created_at().seconds(), c.created_at().nanos())},
          {"Path", args.empty() ? "" : args[0]},
          {"Args", args.empty() ? std::vector<std::string>{} : std::vector<std::string>(args.begin() + 1, args.end())},
          {"State", state},
          {"Image", c.image()},
          {"ResolvConfPath", ContainerDir(g, c.id()) + "/resolv.conf"},
          {"HostnamePath", ContainerDir(g, c.id()) + "/hostname"},
          {"HostsPath", ContainerDir(g, c.id()) + "/hosts"},
          {"LogPath", Label(c, kLabelLogPath)},
          {"Name", "/" + c.id()},
          {"RestartCount", atoi(Label(c, kRestartCountLabel, "0").c_str())},
          {"Driver", c.snapshotter()},
          {"Platform", "linux"},
          {"HostConfig", host},
          {"Mounts", UserMounts(g, spec)},
          {"Config", config},
          {"NetworkSettings", net.settings}};
}

StatusOr<json> ImageJson(const Globals& g, const std::string& name) {
  ASSIGN_OR_RETURN(ResolvedImage img, ResolveImage(g, name));
  auto stub = imv1::Images::NewStub(Connect(g));
  auto ctx = NewContext(g);
  imv1::GetImageRequest req;
  req.set_name(img.name);
  imv1::GetImageResponse resp;
  RETURN_IF_ERROR(FromGrpc(stub->Get(ctx.get(), req, &resp)));
  ASSIGN_OR_RETURN(images::Manifest man, PlatformManifest(g, resp.image().target().digest(),
                                                          resp.image().target().media_type()));
  json cfg = json::object();
  try {
    cfg = json::parse(img.config_json);
  } catch (const json::exception&) {
  }
  int64_t size = 0;
  for (const auto& l : man.layers) size += l.size;
  std::string repo = img.name.substr(0, img.name.rfind(':') == std::string::npos || img.name.rfind(':') < img.name.rfind('/')
                                             ? img.name.size()
                                             : img.name.rfind(':'));
  return json{{"Id", man.config.digest},
              {"RepoTags", {img.name}},
              {"RepoDigests", {repo + "@" + resp.image().target().digest()}},
              {"Created", cfg.value("created", "")},
              {"Architecture", cfg.value("architecture", "")},
              {"Os", cfg.value("os", "")},
              {"Size", size},
              {"Config", cfg.value("config", json::object())},
              {"RootFS", {{"Type", "layers"}, {"Layers", img.config.diff_ids}}}};
}

}  // namespace

bool IsOomKilled(const Globals& g, const cov1::Container& c) {
  std::string path;
  try {
    path = json::parse(c.spec().value()).at("linux").value("cgroupsPath", "");
  } catch (const json::exception&) {
    return false;
  }
  if (path.empty() || path.find(':') != std::string::npos) return false;  // systemd cgroups: not read here
  for (const std::string& file : {"/sys/fs/cgroup" + path + "/memory.events",
                                 "/sys/fs/cgroup/memory" + path + "/memory.oom_control"}) {
    std::ifstream in(file);
    std::string key;
    int64_t n = 0;
    while (in >> key >> n) {
      if (key == "oom_kill") return n > 0;
    }
  }
  return false;
}

void SetupInspect(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("inspect", "print containers, images, volumes or networks as JSON");
  static std::vector<std::string> names;
  static std::string type, format;
  c->add_option("--type", type, "only look for this kind of object")->check(CLI::IsMember({"container", "image", "volume", "network"}));
  c->add_option("-f,--format", format, "Go template applied to each object ({{.State.Status}}, {{json .Config}})");
  c->add_option("name", names, "container, image, volume or network names")->required();
  c->callback([&g] {
    json arr = json::array();
    for (const auto& n : names) {
      if (type.empty() || type == "container") {
        auto ct = FindContainer(g, n);
        if (ct.ok()) {
          arr.push_back(ContainerJson(g, *ct));
          continue;
        }
      }
      if (type.empty() || type == "image") {
        auto im = ImageJson(g, n);
        if (im.ok()) {
          arr.push_back(*im);
          continue;
        }
      }
      if (type.empty() || type == "volume") {
        auto v = GetVolume(g, n);
        if (v.ok()) {
          arr.push_back(VolumeInspectJson(*v));
          continue;
        }
      }
      if (type.empty() || type == "network") {
        auto nw = GetNetwork(g, n);
        if (nw.ok()) {
          arr.push_back(NetworkInspectJson(g, *nw));
          continue;
        }
      }
      std::cerr << "berth: no such object: " << n << "\n";
      g.exit_code = 1;
    }
    if (format.empty()) {
      std::cout << arr.dump(4) << "\n";
      return;
    }
    auto t = Template::Parse(format);
    if (!t.ok()) return void(g.exit_code = Fail(t.status(), 1));
    if (Status s = PrintFormatted(*t, {arr.begin(), arr.end()}); !s.ok()) g.exit_code = Fail(s, 1);
  });
}

}  // namespace berth::cli
