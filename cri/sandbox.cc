#include "cri/sandbox.h"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/unique.h"
#include "common/log.h"
#include "cri/runtime_status.h"
#include "runtime/oom_score.h"
#include "runtime/spec.h"

namespace berth::cri {
namespace {

using json = nlohmann::json;

constexpr char kSpecType[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
constexpr char kMetadataType[] = "github.com/containerd/containerd/pkg/cri/store/sandbox/Metadata";
// containerd's sandbox oom_score_adj (kubelet's for the pod infra container).
constexpr int kSandboxOomScoreAdj = -998;

int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::trunc);
  f << content;
  f.close();
  if (!f) return absl::InternalError("cannot write " + path);
  return Status();
}

StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream f(path);
  if (!f) return absl::NotFoundError("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

json ConfigToJson(const SandboxConfig& c) {
  json pm = json::array();
  for (const auto& p : c.port_mappings) {
    pm.push_back({{"protocol", p.protocol}, {"container_port", p.container_port}, {"host_port", p.host_port},
                  {"host_ip", p.host_ip}});
  }
  return {{"name", c.name},
          {"uid", c.uid},
          {"namespace", c.pod_namespace},
          {"attempt", c.attempt},
          {"hostname", c.hostname},
          {"log_directory", c.log_directory},
          {"has_dns", c.has_dns},
          {"dns_servers", c.dns_servers},
          {"dns_searches", c.dns_searches},
          {"dns_options", c.dns_options},
          {"port_mappings", pm},
          {"labels", c.labels},
          {"annotations", c.annotations},
          {"cgroup_parent", c.cgroup_parent},
          {"network", static_cast<int>(c.network)},
          {"pid", static_cast<int>(c.pid)},
          {"ipc", static_cast<int>(c.ipc)},
          {"sysctls", c.sysctls},
          {"runtime_handler", c.runtime_handler}};
}

SandboxConfig ConfigFromJson(const json& j) {
  SandboxConfig c;
  c.name = j.value("name", "");
  c.uid = j.value("uid", "");
  c.pod_namespace = j.value("namespace", "");
  c.attempt = j.value("attempt", 0u);
  c.hostname = j.value("hostname", "");
  c.log_directory = j.value("log_directory", "");
  c.has_dns = j.value("has_dns", false);
  c.dns_servers = j.value("dns_servers", std::vector<std::string>{});
  c.dns_searches = j.value("dns_searches", std::vector<std::string>{});
  c.dns_options = j.value("dns_options", std::vector<std::string>{});
  for (const auto& p : j.value("port_mappings", json::array())) {
    c.port_mappings.push_back({p.value("protocol", 0), p.value("container_port", 0), p.value("host_port", 0),
                               p.value("host_ip", "")});
  }
  c.labels = j.value("labels", std::map<std::string, std::string>{});
  c.annotations = j.value("annotations", std::map<std::string, std::string>{});
  c.cgroup_parent = j.value("cgroup_parent", "");
  c.network = static_cast<NamespaceMode>(j.value("network", 0));
  c.pid = static_cast<NamespaceMode>(j.value("pid", 0));
  c.ipc = static_cast<NamespaceMode>(j.value("ipc", 0));
  c.sysctls = j.value("sysctls", std::map<std::string, std::string>{});
  c.runtime_handler = j.value("runtime_handler", "");
  return c;
}

void RemoveNamespace(json& spec, const std::string& type) {
  auto& ns = spec["linux"]["namespaces"];
  for (auto it = ns.begin(); it != ns.end();) {
    if ((*it).value("type", "") == type) {
      it = ns.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace

bool MatchLabels(const std::map<std::string, std::string>& labels,
                 const std::map<std::string, std::string>& selector) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

bool MatchSandbox(const Sandbox& s, const SandboxFilter& f) {
  if (!f.id.empty() && s.id.rfind(f.id, 0) != 0) return false;
  if (f.state && s.state != *f.state) return false;
  return MatchLabels(s.config.labels, f.label_selector);
}

std::string ResolvConf(const SandboxConfig& c) {
  std::string out;
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
    return s;
  };
  if (!c.dns_searches.empty()) out += "search " + join(c.dns_searches) + "\n";
  for (const auto& s : c.dns_servers) out += "nameserver " + s + "\n";
  if (!c.dns_options.empty()) out += "options " + join(c.dns_options) + "\n";
  return out;
}

std::string EncodeSandbox(const Sandbox& s) {
  json j = {{"version", "berth.cri.sandbox/v1"},
            {"id", s.id},
            {"config", ConfigToJson(s.config)},
            {"created_at", s.created_at},
            {"ip", s.ip},
            {"additional_ips", s.additional_ips},
            {"netns", s.netns},
            {"image", s.image}};
  return j.dump();
}

StatusOr<Sandbox> DecodeSandbox(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("sandbox metadata is not JSON");
  Sandbox s;
  s.id = j.value("id", "");
  s.config = ConfigFromJson(j.value("config", json::object()));
  s.created_at = j.value("created_at", int64_t{0});
  s.ip = j.value("ip", "");
  s.additional_ips = j.value("additional_ips", std::vector<std::string>{});
  s.netns = j.value("netns", "");
  s.image = j.value("image", "");
  return s;
}

StatusOr<std::vector<metadata::Container>> SandboxManager::Records() {
  ASSIGN_OR_RETURN(Filter f, Filter::Parse(StrCat("labels.\"", kKindLabel, "\"==sandbox")));
  return d_.containers->List(kNamespace, f);
}

std::string SandboxManager::Dir(const std::string& id) const { return JoinPath(d_.root_dir, "sandboxes/" + id); }

StatusOr<std::string> SandboxManager::EnsureImage() {
  auto im = d_.images->Find(d_.sandbox_image);
  if (im.ok()) return im->id;
  if (!absl::IsNotFound(im.status())) return im.status();
  auto pulled = d_.images->Pull(d_.sandbox_image, {});
  if (pulled.ok()) return pulled;
  BLOG(Info) << "cri: sandbox image " << d_.sandbox_image << " cannot be pulled (" << pulled.status()
             << "); importing the built-in pause";
  if (!d_.import_pause) return pulled.status();
  return d_.import_pause(d_.sandbox_image);
}

StatusOr<std::string> SandboxManager::SandboxSpec(const std::string& id, const SandboxConfig& cfg,
                                                  const Image& image, const std::string& netns) {
  runtime::SpecOptions o;
  o.ns = kNamespace;
  o.id = id;
  o.image.env = image.env;
  o.image.entrypoint = image.entrypoint;
  o.image.cmd = image.cmd;
  o.image.working_dir = image.working_dir;
  o.image.user = image.user;
  o.hostname = cfg.hostname;
  ASSIGN_OR_RETURN(std::string text, runtime::GenerateSpec(o));
  json spec = json::parse(text);
  if (cfg.network == NamespaceMode::kNode) {
    RemoveNamespace(spec, "network");
    RemoveNamespace(spec, "uts");
    spec.erase("hostname");
  }
  if (!netns.empty()) {
    for (auto& n : spec["linux"]["namespaces"]) {
      if (n.value("type", "") == "network") n["path"] = netns;
    }
  }
  if (cfg.pid == NamespaceMode::kNode) RemoveNamespace(spec, "pid");
  if (cfg.ipc == NamespaceMode::kNode) RemoveNamespace(spec, "ipc");
  if (!cfg.cgroup_parent.empty()) {
    std::string parent = cfg.cgroup_parent;
    while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
    spec["linux"]["cgroupsPath"] = parent + "/" + id;
  }
  if (!cfg.sysctls.empty()) spec["linux"]["sysctl"] = cfg.sysctls;
  spec["root"]["readonly"] = true;
  int oom = kSandboxOomScoreAdj;
  if (d_.restrict_oom_score_adj) {
    ASSIGN_OR_RETURN(int own, runtime::ReadOomScoreAdj(0));
    oom = std::max(oom, own);
  }
  spec["process"]["oomScoreAdj"] = oom;
  json ann = cfg.annotations;
  ann["io.kubernetes.cri.container-type"] = "sandbox";
  ann["io.kubernetes.cri.sandbox-id"] = id;
  ann["io.kubernetes.cri.sandbox-name"] = cfg.name;
  ann["io.kubernetes.cri.sandbox-namespace"] = cfg.pod_namespace;
  ann["io.kubernetes.cri.sandbox-uid"] = cfg.uid;
  ann["io.kubernetes.cri.sandbox-log-directory"] = cfg.log_directory;
  spec["annotations"] = ann;
  return spec.dump();
}

StatusOr<std::string> SandboxManager::Run(const SandboxConfig& cfg) {
  if (cfg.name.empty()) return absl::InvalidArgumentError("sandbox config must include metadata.name");
  if (cfg.network != NamespaceMode::kNode) {
    // A pod network is attached by CNI; without a config there is none to attach (containerd
    // answers the same).
    auto nets = network::LoadConfigDir(d_.cni_conf_dir);
    if (!nets.ok() || nets->empty() || d_.cni == nullptr) {
      return absl::FailedPreconditionError("failed to setup network for sandbox: cni plugin not initialized");
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  // containerd refuses a second sandbox with the same name (metadata name_uid_namespace_attempt).
  ASSIGN_OR_RETURN(auto existing, Records());
  for (const auto& c : existing) {
    auto s = FromRecord(c);
    if (s.ok() && s->config.name == cfg.name && s->config.uid == cfg.uid &&
        s->config.pod_namespace == cfg.pod_namespace && s->config.attempt == cfg.attempt) {
      return absl::AlreadyExistsError(StrCat("sandbox name \"", cfg.name, "_", cfg.pod_namespace, "_", cfg.uid, "_",
                                             cfg.attempt, "\" is reserved for \"", c.id, "\""));
    }
  }
  ASSIGN_OR_RETURN(std::string image_id, EnsureImage());
  ASSIGN_OR_RETURN(Image image, d_.images->Find(image_id));
  std::string id = RandomHex(64);

  Sandbox sb;
  sb.id = id;
  sb.config = cfg;
  sb.created_at = NowNs();
  sb.image = image.id;

  // Files the pod's containers mount.
  std::string dir = Dir(id);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(StrCat("create ", dir, ": ", ec.message()));
  bool ok = false;
  struct Undo {
    std::function<void()> fn;
    bool* ok;
    ~Undo() {
      if (!*ok) fn();
    }
  };
  Undo undo_dir{[dir] {
                  std::error_code e;
                  std::filesystem::remove_all(dir, e);
                },
                &ok};
  if (cfg.has_dns) {
    RETURN_IF_ERROR(WriteFile(dir + "/resolv.conf", ResolvConf(cfg)));
  } else {
    auto host = ReadText("/etc/resolv.conf");
    RETURN_IF_ERROR(WriteFile(dir + "/resolv.conf", host.ok() ? *host : ""));
  }
  std::string hostname = cfg.hostname;
  if (hostname.empty()) {
    char buf[256] = {};
    gethostname(buf, sizeof buf - 1);
    hostname = buf;
  }
  RETURN_IF_ERROR(WriteFile(dir + "/hostname", hostname + "\n"));
  auto hosts = ReadText("/etc/hosts");
  RETURN_IF_ERROR(WriteFile(dir + "/hosts", hosts.ok() ? *hosts : "127.0.0.1 localhost\n"));

  if (cfg.network != NamespaceMode::kNode) {
    std::string nsid = RandomHex(64);
    ASSIGN_OR_RETURN(sb.netns, network::CreateNetns(d_.netns_dir, "cni-" + nsid.substr(0, 32)));
  }
  Undo undo_net{[this, &sb] { (void)TeardownNetwork(sb.id, sb.netns); }, &ok};
  if (!sb.netns.empty()) RETURN_IF_ERROR(Annotate(SetupNetwork(sb), "failed to setup network for sandbox " + id));
  ASSIGN_OR_RETURN(std::string spec, SandboxSpec(id, cfg, image, sb.netns));
  ASSIGN_OR_RETURN(auto mounts, d_.snapshots.prepare(id, image.chain_id));
  Undo undo_snap{[this, id] { (void)d_.snapshots.remove(id); }, &ok};

  metadata::Container c;
  c.id = id;
  c.labels = cfg.labels;
  c.labels[kKindLabel] = "sandbox";
  c.image = d_.sandbox_image;
  c.runtime_name = d_.runtime_type;
  c.spec = metadata::AnyValue{kSpecType, spec};
  c.snapshotter = d_.snapshotter;
  c.snapshot_key = id;
  c.extensions[kSandboxMetadataExtension] = metadata::AnyValue{kMetadataType, EncodeSandbox(sb)};
  ASSIGN_OR_RETURN(c, d_.containers->Create(kNamespace, c));
  Undo undo_rec{[this, id] { (void)d_.containers->Delete(kNamespace, id); }, &ok};

  auto pid = d_.tasks.start(c, mounts, "", "");
  if (!pid.ok()) {
    (void)d_.tasks.remove(id);
    return Annotate(pid.status(), "start sandbox container");
  }
  ok = true;
  return id;
}

StatusOr<Sandbox> SandboxManager::FromRecord(const metadata::Container& c) {
  auto it = c.extensions.find(kSandboxMetadataExtension);
  if (it == c.extensions.end()) return absl::NotFoundError(StrCat("container ", c.id, " is not a sandbox"));
  ASSIGN_OR_RETURN(Sandbox s, DecodeSandbox(it->second.value));
  s.id = c.id;
  auto st = d_.tasks.state(c.id);
  if (st.ok() && st->running) {
    s.state = SandboxState::kReady;
    s.pid = st->pid;
  }
  // A closed (removed) netns has no IP, as containerd answers.
  std::error_code ec;
  if (s.netns.empty() || !std::filesystem::exists(s.netns, ec)) {
    s.ip.clear();
    s.additional_ips.clear();
  }
  return s;
}

StatusOr<std::string> SandboxManager::Resolve(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("sandbox id is empty");
  ASSIGN_OR_RETURN(auto all, Records());
  std::string found;
  for (const auto& c : all) {
    if (c.id == id) return id;
    if (c.id.rfind(id, 0) == 0) {
      if (!found.empty()) return absl::NotFoundError(StrCat("sandbox id \"", id, "\" is ambiguous"));
      found = c.id;
    }
  }
  if (found.empty()) return absl::NotFoundError(StrCat("an error occurred when try to find sandbox \"", id, "\": not found"));
  return found;
}

StatusOr<Sandbox> SandboxManager::Get(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(std::string id, Resolve(id_or_prefix));
  ASSIGN_OR_RETURN(metadata::Container c, d_.containers->Get(kNamespace, id));
  return FromRecord(c);
}

StatusOr<std::vector<Sandbox>> SandboxManager::List(const SandboxFilter& f) {
  SandboxFilter filter = f;
  if (!filter.id.empty()) {
    auto full = Resolve(filter.id);
    if (!full.ok()) return std::vector<Sandbox>{};
    filter.id = *full;
  }
  ASSIGN_OR_RETURN(auto all, Records());
  std::vector<Sandbox> out;
  for (const auto& c : all) {
    auto s = FromRecord(c);
    if (!s.ok()) continue;
    if (MatchSandbox(*s, filter)) out.push_back(std::move(*s));
  }
  return out;
}

Status SandboxManager::Stop(const std::string& id_or_prefix) {
  ASSIGN_OR_RETURN(std::string id, Resolve(id_or_prefix));
  // The pod's containers first, as containerd stops them.
  if (d_.stop_containers) RETURN_IF_ERROR(d_.stop_containers(id));
  std::lock_guard<std::mutex> l(mu_);
  auto st = d_.tasks.state(id);
  if (!absl::IsNotFound(st.status())) {
    RETURN_IF_ERROR(st.status());
    if (st->running) {
      Status k = d_.tasks.kill(id, SIGKILL, true);
      if (!k.ok() && !absl::IsNotFound(k)) return k;
      RETURN_IF_ERROR(d_.tasks.wait(id, 30000));
    }
  }
  ASSIGN_OR_RETURN(metadata::Container rec, d_.containers->Get(kNamespace, id));
  auto it = rec.extensions.find(kSandboxMetadataExtension);
  if (it == rec.extensions.end()) return Status();
  ASSIGN_OR_RETURN(Sandbox sb, DecodeSandbox(it->second.value));
  return TeardownNetwork(id, sb.netns);
}

Status SandboxManager::SetupNetwork(Sandbox& sb) {
  ASSIGN_OR_RETURN(auto nets, network::LoadConfigDir(d_.cni_conf_dir));
  const auto& c = sb.config;
  network::Attachment a;
  a.container_id = sb.id;
  a.netns_path = sb.netns;
  a.args = {{"IgnoreUnknown", "1"},
            {"K8S_POD_NAMESPACE", c.pod_namespace},
            {"K8S_POD_NAME", c.name},
            {"K8S_POD_INFRA_CONTAINER_ID", sb.id},
            {"K8S_POD_UID", c.uid}};
  static const char* kProto[] = {"tcp", "udp", "sctp"};
  for (const auto& p : c.port_mappings) {
    if (p.host_port <= 0) continue;
    network::PortMapping m;
    m.host_port = static_cast<uint16_t>(p.host_port);
    m.container_port = static_cast<uint16_t>(p.container_port);
    m.protocol = p.protocol >= 0 && p.protocol <= 2 ? kProto[p.protocol] : "tcp";
    m.host_ip = p.host_ip;
    a.port_mappings.push_back(m);
  }
  if (c.has_dns) {
    a.capability_args["dns"] = {{"servers", c.dns_servers}, {"searches", c.dns_searches}, {"options", c.dns_options}};
  }
  a.capability_args["io.kubernetes.cri.pod-annotations"] = c.annotations;
  // The loopback interface first, as containerd's go-cni attaches "cni-loopback" to every pod.
  {
    ASSIGN_OR_RETURN(auto lo, network::ParseConfigList(
                                  R"({"cniVersion":"0.3.1","name":"cni-loopback","plugins":[{"type":"loopback"}]})"));
    network::Attachment la = a;
    la.ifname = "lo";
    la.port_mappings.clear();
    la.capability_args.clear();
    RETURN_IF_ERROR(d_.cni->Add(lo, la).status());
  }
  int n = 0;
  for (const auto& net : nets) {
    if (n >= std::max(1, d_.max_conf_num)) break;
    a.ifname = StrCat("eth", n++);
    ASSIGN_OR_RETURN(network::Result r, d_.cni->Add(net, a));
    if (a.ifname != "eth0") continue;
    // eth0's addresses inside the pod: the first IPv4 one is the pod IP (containerd's
    // selectPodIPs), the others additional IPs.
    std::vector<std::string> v4, other;
    for (const auto& ip : r.ips) {
      if (ip.interface && (*ip.interface < 0 || *ip.interface >= static_cast<int>(r.interfaces.size()) ||
                           r.interfaces[*ip.interface].name != "eth0")) {
        continue;
      }
      std::string addr = ip.address.substr(0, ip.address.find('/'));
      (addr.find(':') == std::string::npos ? v4 : other).push_back(addr);
    }
    v4.insert(v4.end(), other.begin(), other.end());
    if (!v4.empty()) {
      sb.ip = v4[0];
      sb.additional_ips.assign(v4.begin() + 1, v4.end());
    }
  }
  return Status();
}

Status SandboxManager::TeardownNetwork(const std::string& id, const std::string& netns) {
  Status first;
  if (d_.cni != nullptr) {
    auto cached = d_.cni->ListCached();
    if (!cached.ok()) {
      first = cached.status();
    } else {
      for (auto& e : *cached) {
        if (e.container_id != id) continue;
        network::Attachment a = e.attachment;
        if (!netns.empty()) a.netns_path = netns;
        Status s = d_.cni->Del(e.config, a);
        if (!s.ok()) {
          BLOG(Warn) << "cri: CNI DEL of " << e.network << " for sandbox " << id << ": " << s;
          if (first.ok()) first = s;
        }
      }
    }
  }
  if (!first.ok()) return Annotate(first, "failed to destroy network for sandbox " + id);
  if (!netns.empty()) RETURN_IF_ERROR(network::RemoveNetns(netns));
  return Status();
}

Status SandboxManager::Recover() {
  ASSIGN_OR_RETURN(auto all, Records());
  std::map<std::string, std::string> owned;  // sandbox id -> netns
  std::set<std::string> netns_owned;
  for (const auto& c : all) {
    auto it = c.extensions.find(kSandboxMetadataExtension);
    if (it == c.extensions.end()) continue;
    auto s = DecodeSandbox(it->second.value);
    owned[c.id] = s.ok() ? s->netns : "";
    if (s.ok() && !s->netns.empty()) netns_owned.insert(s->netns);
  }
  if (d_.cni != nullptr) {
    auto cached = d_.cni->ListCached();
    if (cached.ok()) {
      for (const auto& e : *cached) {
        if (owned.count(e.container_id)) continue;
        BLOG(Info) << "cri: tearing down network " << e.network << " of sandbox " << e.container_id
                   << " (no sandbox record)";
        Status s = TeardownNetwork(e.container_id, e.netns_path);
        if (!s.ok()) {
          BLOG(Warn) << "cri: " << s;
        }
      }
    }
  }
  // A shared directory (/var/run/netns) holds other runtimes' namespaces: only berthd's own is swept.
  if (!d_.netns_dir_private) return Status();
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(d_.netns_dir, ec)) {
    std::string p = e.path().string();
    if (e.path().filename().string().rfind("cni-", 0) != 0 || netns_owned.count(p)) continue;
    BLOG(Info) << "cri: removing network namespace " << p << " (no sandbox record)";
    Status s = network::RemoveNetns(p);
    if (!s.ok()) {
      BLOG(Warn) << "cri: " << s;
    }
  }
  return Status();
}

Status SandboxManager::Remove(const std::string& id_or_prefix) {
  auto resolved = Resolve(id_or_prefix);
  if (absl::IsNotFound(resolved.status())) return Status();
  RETURN_IF_ERROR(resolved.status());
  const std::string& id = *resolved;
  RETURN_IF_ERROR(Stop(id));
  std::lock_guard<std::mutex> l(mu_);
  if (d_.remove_containers) RETURN_IF_ERROR(d_.remove_containers(id));
  RETURN_IF_ERROR(d_.tasks.remove(id));
  RETURN_IF_ERROR(d_.snapshots.remove(id));
  Status s = d_.containers->Delete(kNamespace, id);
  if (!s.ok() && !absl::IsNotFound(s)) return s;
  std::error_code ec;
  std::filesystem::remove_all(Dir(id), ec);
  return Status();
}

}  // namespace berth::cri
