// Containers on networks (see networks.h): the flags resolved into attachments and ports, the
// spec's hooks, the OCI hooks themselves (CNI ADD at createRuntime, DEL at poststop) and the
// per-network /etc/hosts of every container.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <iterator>
#include <set>

#include "cmd/berth/net_internal.h"
#include "cmd/berth/paths.h"
#include "common/fs.h"
#include "common/unique_fd.h"

namespace berth::cli {

using nlohmann::json;

namespace {

bool IsSpecial(const std::string& n) { return n == "host" || n == "none"; }

std::string Abs(const std::string& p) {
  std::error_code ec;
  auto a = std::filesystem::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

std::string RecordPath(const Globals& g, const std::string& id) { return ContainerDir(g, id) + "/network.json"; }

// An exclusive lock over the namespace's hosts records, held for the object's lifetime.
class RecordLock {
 public:
  explicit RecordLock(const Globals& g) {
    std::string dir = DataRoot(g) + "/containers/" + g.ns;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    fd_ = UniqueFd(::open((dir + "/.network.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (fd_.valid()) (void)::flock(fd_.get(), LOCK_EX);
  }

 private:
  UniqueFd fd_;
};

struct Record {
  std::string id, hostname;
  std::vector<std::string> extra;
  std::vector<NetworkAttachment> nets;
  std::map<std::string, std::string> ips;  // network -> address (while attached)
};

std::optional<Record> ReadRecord(const std::string& path) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return std::nullopt;
  try {
    json j = json::parse(*bytes);
    Record r;
    r.id = j.value("id", "");
    r.hostname = j.value("hostname", "");
    if (j.contains("extra")) r.extra = j["extra"].get<std::vector<std::string>>();
    if (j.contains("networks")) r.nets = AttachmentsFromLabel(j["networks"].dump());
    if (j.contains("ips")) r.ips = j["ips"].get<std::map<std::string, std::string>>();
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

Status WriteRecord(const Globals& g, const Record& r) {
  json j = {{"id", r.id}, {"hostname", r.hostname}, {"extra", r.extra},
            {"networks", AttachmentsToJson(r.nets)}, {"ips", r.ips}};
  return WriteFileAtomic(RecordPath(g, r.id), j.dump() + "\n", 0644);
}

std::vector<std::string> NamesOn(const Record& r, const std::string& net) {
  std::vector<std::string> names;
  if (!r.hostname.empty()) names.push_back(r.hostname);
  names.push_back(r.id);
  for (const auto& a : r.nets) {
    if (a.network == net) names.insert(names.end(), a.aliases.begin(), a.aliases.end());
  }
  return names;
}

// Rewrites, in place (it is bind-mounted), the hosts file of every container in the namespace
// that shares a network with `changed` (and of `changed` itself). Call under RecordLock.
void RefreshHosts(const Globals& g, const Record& changed) {
  std::vector<Record> all;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(DataRoot(g) + "/containers/" + g.ns, ec)) {
    if (!e.is_directory(ec)) continue;
    auto r = ReadRecord(e.path().string() + "/network.json");
    if (r && !r->id.empty()) all.push_back(*r);
  }
  std::set<std::string> changed_nets;
  for (const auto& a : changed.nets) changed_nets.insert(a.network);
  for (const auto& x : all) {
    bool shares = x.id == changed.id;
    for (const auto& a : x.nets) shares = shares || changed_nets.count(a.network);
    if (!shares) continue;
    std::vector<HostsEntry> self, peers;
    for (const auto& [net, ip] : x.ips) self.push_back({ip, NamesOn(x, net)});
    for (const auto& y : all) {
      if (y.id == x.id) continue;
      for (const auto& [net, ip] : y.ips) {
        if (x.ips.count(net) || std::any_of(x.nets.begin(), x.nets.end(),
                                            [&](const NetworkAttachment& a) { return a.network == net; })) {
          peers.push_back({ip, NamesOn(y, net)});
        }
      }
    }
    std::string path = ContainerDir(g, x.id) + "/hosts";
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd.valid()) continue;  // a container being removed
    std::string text = RenderHosts(x.extra, self, peers);
    (void)!::write(fd.get(), text.data(), text.size());
  }
}

std::vector<network::PortMapping> ToMappings(const std::vector<PortPublish>& ports) {
  std::vector<network::PortMapping> out;
  for (const auto& p : ports) out.push_back({p.host_port, p.container_port, p.protocol, p.host_ip});
  return out;
}

int HookCreateRuntime(const Globals& g, const json& state) {
  const std::string id = state.value("id", "");
  const int pid = state.value("pid", 0);
  json ann = state.value("annotations", json::object());
  auto nets = AttachmentsFromLabel(ann.value(kLabelNetworks, "[]"));
  auto ports = PortsFromJson(ann.value(kLabelPorts, "[]"));
  if (id.empty() || pid <= 0) {
    std::cerr << "berth oci-hook: the OCI state has no id or pid\n";
    return 1;
  }
  auto cni = CniFor(g);
  const std::string netns = StrCat("/proc/", pid, "/ns/net");
  RecordLock lock(g);
  Record rec = ReadRecord(RecordPath(g, id)).value_or(Record{id, "", {}, nets, {}});
  rec.id = id;
  rec.nets = nets;
  rec.ips.clear();
  std::vector<std::pair<network::NetworkConfigList, network::Attachment>> done;
  auto undo = [&] {
    for (auto it = done.rbegin(); it != done.rend(); ++it) (void)cni.Del(it->first, it->second);
  };
  int index = 0;
  for (const auto& a : nets) {
    if (IsSpecial(a.network)) continue;
    auto info = GetNetwork(g, a.network);
    StatusOr<network::NetworkConfigList> conf = info.ok() ? ConfigOf(g, *info) : StatusOr<network::NetworkConfigList>(info.status());
    if (!conf.ok()) {
      std::cerr << "berth oci-hook: " << conf.status().message() << "\n";
      undo();
      return 1;
    }
    network::Attachment at;
    at.container_id = CniId(g.ns, id);
    at.netns_path = netns;
    at.ifname = StrCat("eth", index);
    at.args = {{"IgnoreUnknown", "1"}};
    if (index == 0) at.port_mappings = ToMappings(ports);
    auto r = cni.Add(*conf, at);
    if (absl::IsAlreadyExists(r.status())) {  // left by a task whose poststop never ran
      (void)cni.Del(*conf, at);
      r = cni.Add(*conf, at);
    }
    if (!r.ok()) {
      std::cerr << "berth oci-hook: network " << a.network << ": " << r.status().message() << "\n";
      undo();
      return 1;
    }
    done.emplace_back(*conf, at);
    std::string ip = r->FirstAddress(at.ifname);
    if (!ip.empty()) rec.ips[a.network] = ip;
    ++index;
  }
  if (Status s = WriteRecord(g, rec); !s.ok()) std::cerr << "berth oci-hook: " << s.message() << "\n";
  RefreshHosts(g, rec);
  return 0;
}

}  // namespace

StatusOr<std::vector<NetworkAttachment>> ResolveAttachments(const ContainerFlags& f) {
  std::vector<NetworkAttachment> out;
  if (!f.networks.empty()) {
    for (const auto& n : f.networks) {
      std::string name = n == "default" ? kDefaultNetwork : n;
      if (name.empty()) return absl::InvalidArgumentError("--network needs a name");
      if (name.rfind("container:", 0) == 0) {
        return absl::InvalidArgumentError("--network container:ID is not supported");
      }
      bool dup = false;
      for (const auto& a : out) dup = dup || a.network == name;
      if (!dup) out.push_back({name, {}});
    }
    bool user = false;
    for (auto& a : out) {
      if (IsSpecial(a.network) || a.network == kDefaultNetwork) continue;
      a.aliases = f.network_aliases;
      user = true;
    }
    if (!f.network_aliases.empty() && !user) {
      return absl::InvalidArgumentError("--network-alias works only on user-defined networks (berth network create)");
    }
  } else if (!f.network_attachments.empty()) {
    out = f.network_attachments;
  } else {
    if (!f.network_aliases.empty()) {
      return absl::InvalidArgumentError("--network-alias works only on user-defined networks (berth network create)");
    }
    out = {{kDefaultNetwork, {}}};
  }
  for (const auto& a : out) {
    if (IsSpecial(a.network) && out.size() > 1) {
      return absl::InvalidArgumentError(StrCat("--network ", a.network, " cannot be combined with other networks"));
    }
  }
  return out;
}

StatusOr<std::vector<PortPublish>> ResolvePorts(const ContainerFlags& f, const std::vector<NetworkAttachment>& nets,
                                                const std::string& image_config_json) {
  std::vector<PortPublish> ports;
  for (const auto& p : f.publish) {
    ASSIGN_OR_RETURN(auto more, ParsePublish(p));
    ports.insert(ports.end(), more.begin(), more.end());
  }
  ports.insert(ports.end(), f.ports.begin(), f.ports.end());
  if (f.publish_all) {
    for (const auto& e : ExposedPorts(image_config_json)) {
      bool published = false;
      for (const auto& p : ports) published = published || (p.container_port == e.container_port && p.protocol == e.protocol);
      if (!published) ports.push_back(e);
    }
  }
  if (nets.size() == 1 && IsSpecial(nets[0].network)) {
    if (!ports.empty() && nets[0].network == "none") {
      return absl::InvalidArgumentError("--network none cannot publish ports (-p/-P)");
    }
    if (!ports.empty()) std::cerr << "WARNING: Published ports are discarded when using host network mode\n";
    return std::vector<PortPublish>{};
  }
  RETURN_IF_ERROR(AssignHostPorts(ports));
  return ports;
}

Status WriteHostsRecord(const Globals& g, const std::string& id, const std::string& hostname,
                        const std::vector<std::string>& extra, const std::vector<NetworkAttachment>& nets) {
  Record r{id, hostname, extra, nets, {}};
  return WriteRecord(g, r);
}

Status ApplyNetworkSpec(const Globals& g, const std::string& self_exe, const std::vector<NetworkAttachment>& nets,
                        const std::vector<PortPublish>& ports, json& spec) {
  if (nets.size() == 1 && nets[0].network == "host") {
    json kept = json::array();
    for (const auto& n : spec["linux"]["namespaces"]) {
      if (n.value("type", "") != "network") kept.push_back(n);
    }
    spec["linux"]["namespaces"] = kept;
  }
  bool cni = false;
  for (const auto& a : nets) {
    if (IsSpecial(a.network)) continue;
    RETURN_IF_ERROR(GetNetwork(g, a.network).status());  // unknown names fail now, not in the hook
    cni = true;
  }
  spec["annotations"][kLabelNetworks] = AttachmentsToJson(nets).dump();
  if (!cni) return Status();
  spec["annotations"][kLabelPorts] = PortsToJson(ports).dump();
  for (const char* phase : {"createRuntime", "poststop"}) {
    json args = {self_exe,
                 "--root", Abs(DataRoot(g)),
                 "--namespace", g.ns,
                 "--cni-netconfpath", Abs(g.cni_conf_dir),
                 "--cni-path", g.cni_path,
                 "--cni-cache-dir", Abs(CacheDir(g)),
                 "--cni-ipam-dir", Abs(IpamDir(g)),
                 "internal", "oci-hook", phase};
    spec["hooks"][phase].push_back(
        {{"path", self_exe}, {"args", args}, {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}});
  }
  return Status();
}

Status TeardownContainerNetwork(const Globals& g, const std::string& id) {
  auto cni = CniFor(g);
  ASSIGN_OR_RETURN(auto cached, cni.ListCached());
  Status first;
  const std::string cid = CniId(g.ns, id);
  // Reverse interface order: eth1 before eth0, as the ADDs went.
  for (auto it = cached.rbegin(); it != cached.rend(); ++it) {
    if (it->container_id != cid) continue;
    network::Attachment a = it->attachment;
    // The task is gone: its /proc/<pid>/ns/net may now name another process's namespace.
    a.netns_path.clear();
    Status s = cni.Del(it->config, a);
    if (!s.ok() && first.ok()) first = s;
  }
  RecordLock lock(g);
  if (auto rec = ReadRecord(RecordPath(g, id))) {
    rec->ips.clear();
    (void)WriteRecord(g, *rec);
    RefreshHosts(g, *rec);
  }
  return first;
}

int RunOciHook(const Globals& g, const std::string& phase) {
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  json state;
  try {
    state = json::parse(input);
  } catch (const json::exception& e) {
    std::cerr << "berth oci-hook: the OCI state on stdin is not JSON: " << e.what() << "\n";
    return 1;
  }
  if (phase == "createRuntime") return HookCreateRuntime(g, state);
  if (phase == "poststop") {
    Status s = TeardownContainerNetwork(g, state.value("id", ""));
    if (!s.ok()) {
      std::cerr << "berth oci-hook: " << s.message() << "\n";
      return 1;
    }
    return 0;
  }
  std::cerr << "berth oci-hook: unknown phase " << phase << "\n";
  return 2;
}

void AddOciHookCommand(CLI::App* internal, Globals& g) {
  auto* h = internal->add_subcommand("oci-hook", "an OCI runtime hook: CNI ADD (createRuntime) or DEL (poststop)");
  auto phase = std::make_shared<std::string>();
  h->add_option("phase", *phase, "createRuntime or poststop")->required();
  h->callback([&g, phase] { g.exit_code = RunOciHook(g, *phase); });
}

}  // namespace berth::cli
