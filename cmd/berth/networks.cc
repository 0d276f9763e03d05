// berth's networks as CNI conflists (see networks.h): create, look up, list, remove.
#include "cmd/berth/networks.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cmd/berth/containers.h"
#include "cmd/berth/net_internal.h"
#include "cmd/berth/paths.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/identifiers.h"
#include "common/unique.h"
#include "common/unique_fd.h"
#include "containerd/services/namespaces/v1/namespace.grpc.pb.h"

namespace berth::cli {

using nlohmann::json;

namespace {

namespace nsv1 = containerd::services::namespaces::v1;

bool Overlaps(const Cidr4& a, const Cidr4& b) {
  int p = std::min(a.prefix, b.prefix);
  uint32_t m = p == 0 ? 0 : ~uint32_t{0} << (32 - p);
  return (a.addr & m) == (b.addr & m);
}

// The host's IPv4 routes other than default ones (/proc/net/route: little-endian hex).
std::vector<Cidr4> HostRoutes() {
  std::vector<Cidr4> out;
  std::ifstream in("/proc/net/route");
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, '\t', absl::SkipWhitespace());
    if (f.size() < 8) continue;
    uint32_t dst = 0, mask = 0;
    if (!absl::SimpleHexAtoi(f[1], &dst) || !absl::SimpleHexAtoi(f[7], &mask)) continue;
    dst = ntohl(dst);
    mask = ntohl(mask);
    if (mask == 0) continue;
    out.push_back({dst, __builtin_popcount(mask)});
  }
  return out;
}

StatusOr<NetworkInfo> InfoOf(const network::NetworkConfigList& l) {
  NetworkInfo n;
  n.name = l.name;
  n.file = l.source;
  n.conflist = l.raw;
  n.id = l.raw.value("berthID", "");
  if (n.id.empty()) n.id = Sha256Hex(l.name);  // a config berth did not write: an id from its name
  if (l.raw.contains("berthLabels") && l.raw["berthLabels"].is_object()) {
    for (const auto& [k, v] : l.raw["berthLabels"].items()) {
      if (v.is_string()) n.labels[k] = v.get<std::string>();
    }
  }
  n.driver = "unknown";
  for (const auto& p : l.plugins) {
    if (p.value("type", "") != "bridge") continue;
    n.driver = "bridge";
    n.bridge = p.value("bridge", "cni0");
    if (p.contains("ipam") && p["ipam"].contains("ranges") && p["ipam"]["ranges"].is_array() &&
        !p["ipam"]["ranges"].empty() && p["ipam"]["ranges"][0].is_array() && !p["ipam"]["ranges"][0].empty()) {
      const json& r = p["ipam"]["ranges"][0][0];
      n.subnet = r.value("subnet", "");
      n.gateway = r.value("gateway", "");
      if (r.contains("rangeStart")) n.ip_range = r.value("rangeStart", "") + "-" + r.value("rangeEnd", "");
      if (n.gateway.empty()) {
        if (auto c = ParseCidr4(n.subnet); c.ok()) n.gateway = FormatIp4(c->addr + 1);
      }
    }
  }
  struct stat st{};
  if (!n.file.empty() && ::stat(n.file.c_str(), &st) == 0) n.created = st.st_mtime;
  return n;
}

std::string ConfFile(const Globals& g, const std::string& name) {
  return g.cni_conf_dir + "/berth-" + name + ".conflist";
}

StatusOr<std::vector<NetworkInfo>> LoadAll(const Globals& g) {
  ASSIGN_OR_RETURN(auto lists, network::LoadConfigDir(g.cni_conf_dir));
  std::vector<NetworkInfo> out;
  for (const auto& l : lists) {
    bool dup = false;
    for (const auto& n : out) dup = dup || n.name == l.name;
    if (dup) continue;  // the first file naming a network wins, as in libcni
    ASSIGN_OR_RETURN(NetworkInfo n, InfoOf(l));
    out.push_back(std::move(n));
  }
  return out;
}

json BridgeConflist(const Globals& g, const std::string& name, const std::string& id, const std::string& bridge,
                    const std::map<std::string, std::string>& labels, const json& range) {
  json ipam = {{"type", "host-local"},
               {"ranges", json::array({json::array({range})})},
               {"routes", json::array({{{"dst", "0.0.0.0/0"}}})}};
  json bridge_plugin = {{"type", "bridge"},   {"bridge", bridge},     {"isGateway", true},
                        {"ipMasq", true},     {"hairpinMode", true},  {"ipam", ipam}};
  json portmap = {{"type", "portmap"}, {"capabilities", {{"portMappings", true}}}, {"snat", true}};
  json firewall = {{"type", "firewall"}};
  return {{"cniVersion", "1.0.0"},
          {"name", name},
          {"berthID", id},
          {"berthLabels", labels},
          {"plugins", json::array({bridge_plugin, portmap, firewall})}};
}

Status WriteConflist(const Globals& g, const std::string& name, const json& conf) {
  std::error_code ec;
  std::filesystem::create_directories(g.cni_conf_dir, ec);
  if (ec) return absl::InternalError(StrCat("create ", g.cni_conf_dir, ": ", ec.message()));
  return WriteFileAtomic(ConfFile(g, name), conf.dump(2) + "\n", 0644);
}

// Writes the default network when no config names it.
Status EnsureDefault(const Globals& g) {
  ASSIGN_OR_RETURN(auto all, LoadAll(g));
  for (const auto& n : all) {
    if (n.name == kDefaultNetwork) return Status();
  }
  ASSIGN_OR_RETURN(Cidr4 subnet, ParseCidr4(kDefaultSubnet));
  json range = {{"subnet", kDefaultSubnet}, {"gateway", FormatIp4(subnet.addr + 1)}};
  return WriteConflist(g, kDefaultNetwork,
                       BridgeConflist(g, kDefaultNetwork, Sha256Hex(kDefaultNetwork), kDefaultBridge,
                                      {{"berth/default-network", "true"}}, range));
}

// Down and delete a bridge device (SIOCBRDELBR); a missing one is fine.
void DeleteBridge(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return;
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return;
  ifreq ifr{};
  memcpy(ifr.ifr_name, name.c_str(), name.size());
  if (ioctl(fd.get(), SIOCGIFFLAGS, &ifr) != 0) return;
  ifr.ifr_flags &= ~IFF_UP;
  (void)ioctl(fd.get(), SIOCSIFFLAGS, &ifr);
  char buf[IFNAMSIZ] = {};
  memcpy(buf, name.c_str(), name.size());
  (void)ioctl(fd.get(), SIOCBRDELBR, buf);
}

}  // namespace

StatusOr<Cidr4> ParseCidr4(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos) return absl::InvalidArgumentError(StrCat("invalid subnet \"", s, "\": want A.B.C.D/N"));
  in_addr a{};
  int prefix = 0;
  if (inet_pton(AF_INET, s.substr(0, slash).c_str(), &a) != 1 || !absl::SimpleAtoi(s.substr(slash + 1), &prefix) ||
      prefix < 8 || prefix > 30) {
    if (s.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(StrCat("subnet ", s, ": IPv6 networks are not supported"));
    }
    return absl::InvalidArgumentError(StrCat("invalid subnet \"", s, "\": want A.B.C.D/N with N from 8 to 30"));
  }
  Cidr4 c{ntohl(a.s_addr), prefix};
  uint32_t m = ~uint32_t{0} << (32 - prefix);
  c.addr &= m;
  return c;
}

std::string FormatIp4(uint32_t addr) {
  in_addr a{htonl(addr)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::string CacheDir(const Globals& g) {
  return g.cni_cache_dir.empty() ? DataRoot(g) + "/cni/cache" : g.cni_cache_dir;
}
std::string IpamDir(const Globals& g) { return g.cni_ipam_dir.empty() ? DataRoot(g) + "/cni/ipam" : g.cni_ipam_dir; }

network::Cni CniFor(const Globals& g) {
  network::Cni::Options o;
  o.plugin_dirs = absl::StrSplit(g.cni_path, ':', absl::SkipEmpty());
  o.cache_dir = CacheDir(g);
  return network::Cni(o);
}

StatusOr<network::NetworkConfigList> ConfigOf(const Globals& g, const NetworkInfo& n) {
  json conf = n.conflist;
  for (auto& p : conf["plugins"]) {
    if (p.contains("ipam") && p["ipam"].is_object() && p["ipam"].value("type", "") == "host-local" &&
        !p["ipam"].contains("dataDir")) {
      p["ipam"]["dataDir"] = IpamDir(g);
    }
  }
  return network::ParseConfigList(conf.dump(), false, n.file);
}

StatusOr<NetworkInfo> CreateNetwork(const Globals& g, const std::string& name,
                                    const std::map<std::string, std::string>& labels, const NetworkOptions& o) {
  RETURN_IF_ERROR(ValidateIdentifier(name, "network name"));
  if (name == "host" || name == "none" || name == kDefaultNetwork) {
    if (name == kDefaultNetwork) RETURN_IF_ERROR(EnsureDefault(g));
    return absl::AlreadyExistsError(StrCat("network ", name, " already exists (it is predefined)"));
  }
  if (!o.driver.empty() && o.driver != "bridge") {
    return absl::InvalidArgumentError(StrCat("network driver \"", o.driver, "\" is not supported: use bridge"));
  }
  RETURN_IF_ERROR(EnsureDefault(g));
  ASSIGN_OR_RETURN(auto all, LoadAll(g));
  for (const auto& n : all) {
    if (n.name == name) return absl::AlreadyExistsError(StrCat("network with name ", name, " already exists"));
  }
  std::vector<Cidr4> taken;
  for (const auto& n : all) {
    if (auto c = ParseCidr4(n.subnet); c.ok()) taken.push_back(*c);
  }
  Cidr4 subnet{};
  if (!o.subnet.empty()) {
    ASSIGN_OR_RETURN(subnet, ParseCidr4(o.subnet));
    for (const auto& n : all) {
      auto c = ParseCidr4(n.subnet);
      if (c.ok() && Overlaps(*c, subnet)) {
        return absl::AlreadyExistsError(StrCat("subnet ", o.subnet, " overlaps network ", n.name, "'s ", n.subnet));
      }
    }
  } else {
    auto routes = HostRoutes();
    ASSIGN_OR_RETURN(Cidr4 base, ParseCidr4(kDefaultSubnet));
    bool found = false;
    for (uint32_t i = 1; i < 256 && !found; ++i) {
      Cidr4 c{base.addr + (i << 8), 24};
      bool busy = false;
      for (const auto& t : taken) busy = busy || Overlaps(t, c);
      for (const auto& r : routes) busy = busy || Overlaps(r, c);
      if (!busy) subnet = c, found = true;
    }
    if (!found) return absl::ResourceExhaustedError("no free subnet in 10.213.0.0/16: give one with --subnet");
  }
  const std::string subnet_text = StrCat(FormatIp4(subnet.addr), "/", subnet.prefix);
  const uint32_t size = subnet.prefix == 32 ? 1 : uint32_t{1} << (32 - subnet.prefix);
  json range = {{"subnet", subnet_text}};
  uint32_t gw = subnet.addr + 1;
  if (!o.gateway.empty()) {
    in_addr a{};
    if (inet_pton(AF_INET, o.gateway.c_str(), &a) != 1) {
      return absl::InvalidArgumentError(StrCat("invalid gateway \"", o.gateway, "\""));
    }
    gw = ntohl(a.s_addr);
    if (gw <= subnet.addr || gw >= subnet.addr + size - 1) {
      return absl::InvalidArgumentError(StrCat("gateway ", o.gateway, " is not a host address of ", subnet_text));
    }
  }
  range["gateway"] = FormatIp4(gw);
  if (!o.ip_range.empty()) {
    ASSIGN_OR_RETURN(Cidr4 r, ParseCidr4(o.ip_range));
    if (r.prefix < subnet.prefix || !Overlaps(r, subnet)) {
      return absl::InvalidArgumentError(StrCat("--ip-range ", o.ip_range, " is not inside ", subnet_text));
    }
    uint32_t rsize = uint32_t{1} << (32 - r.prefix);
    uint32_t start = std::max(r.addr, subnet.addr + 1), end = std::min(r.addr + rsize - 1, subnet.addr + size - 2);
    range["rangeStart"] = FormatIp4(start);
    range["rangeEnd"] = FormatIp4(end);
  }
  const std::string id = Sha256Hex(StrCat(name, "\n", UniquePart(), "\n", time(nullptr)));
  RETURN_IF_ERROR(WriteConflist(g, name, BridgeConflist(g, name, id, "br-" + id.substr(0, 12), labels, range)));
  return GetNetwork(g, name);
}

StatusOr<NetworkInfo> EnsureNetwork(const Globals& g, const std::string& name,
                                    const std::map<std::string, std::string>& labels, const NetworkOptions& o) {
  auto n = GetNetwork(g, name);
  if (n.ok() && n->name == name) return n;
  if (!n.ok() && !absl::IsNotFound(n.status()) && !absl::IsFailedPrecondition(n.status())) return n.status();
  auto made = CreateNetwork(g, name, labels, o);
  if (absl::IsAlreadyExists(made.status())) {
    auto again = GetNetwork(g, name);  // made meanwhile by another berth
    if (again.ok() && again->name == name) return again;
  }
  return made;
}

StatusOr<NetworkInfo> GetNetwork(const Globals& g, const std::string& name_or_id) {
  if (name_or_id == kDefaultNetwork) RETURN_IF_ERROR(EnsureDefault(g));
  ASSIGN_OR_RETURN(auto all, LoadAll(g));
  for (const auto& n : all) {
    if (n.name == name_or_id || n.id == name_or_id) return n;
  }
  const NetworkInfo* match = nullptr;
  for (const auto& n : all) {
    if (name_or_id.size() >= 3 && n.id.rfind(name_or_id, 0) == 0) {
      if (match) return absl::FailedPreconditionError(StrCat("network id prefix ", name_or_id, " is ambiguous"));
      match = &n;
    }
  }
  if (match) return *match;
  return absl::NotFoundError(StrCat("network ", name_or_id, " not found: see berth network ls"));
}

StatusOr<std::vector<NetworkInfo>> ListNetworks(const Globals& g) {
  RETURN_IF_ERROR(EnsureDefault(g));
  ASSIGN_OR_RETURN(auto all, LoadAll(g));
  std::stable_sort(all.begin(), all.end(), [](const NetworkInfo& a, const NetworkInfo& b) {
    if ((a.name == kDefaultNetwork) != (b.name == kDefaultNetwork)) return a.name == kDefaultNetwork;
    return a.name < b.name;
  });
  return all;
}

std::vector<NetworkAttachment> AttachmentsFromLabel(const std::string& label) {
  std::vector<NetworkAttachment> out;
  try {
    for (const auto& j : json::parse(label)) {
      NetworkAttachment a;
      a.network = j.value("name", "");
      if (j.contains("aliases") && j["aliases"].is_array()) a.aliases = j["aliases"].get<std::vector<std::string>>();
      if (!a.network.empty()) out.push_back(a);
    }
  } catch (const json::exception&) {
  }
  return out;
}

json AttachmentsToJson(const std::vector<NetworkAttachment>& nets) {
  json out = json::array();
  for (const auto& a : nets) out.push_back({{"name", a.network}, {"aliases", a.aliases}});
  return out;
}

StatusOr<std::vector<std::string>> ContainersOnNetwork(const Globals& g, const std::string& name) {
  std::vector<std::string> namespaces;
  {
    auto stub = nsv1::Namespaces::NewStub(Connect(g));
    auto ctx = NewContext(g);
    nsv1::ListNamespacesRequest req;
    nsv1::ListNamespacesResponse resp;
    RETURN_IF_ERROR(FromGrpc(stub->List(ctx.get(), req, &resp)));
    for (const auto& n : resp.namespaces()) namespaces.push_back(n.name());
  }
  std::vector<std::string> out;
  auto containers = cov1::Containers::NewStub(Connect(g));
  for (const auto& ns : namespaces) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("containerd-namespace", ns);
    cov1::ListContainersRequest req;
    cov1::ListContainersResponse resp;
    RETURN_IF_ERROR(FromGrpc(containers->List(&ctx, req, &resp)));
    for (const auto& c : resp.containers()) {
      auto it = c.labels().find(kLabelNetworks);
      if (it == c.labels().end()) continue;
      for (const auto& a : AttachmentsFromLabel(it->second)) {
        if (a.network == name) {
          out.push_back(ns == g.ns ? c.id() : ns + "/" + c.id());
          break;
        }
      }
    }
  }
  return out;
}

Status RemoveNetwork(const Globals& g, const std::string& name) {
  if (name == "host" || name == "none" || name == kDefaultNetwork) {
    return absl::FailedPreconditionError(StrCat(name, " is a pre-defined network and cannot be removed"));
  }
  ASSIGN_OR_RETURN(NetworkInfo n, GetNetwork(g, name));
  ASSIGN_OR_RETURN(auto users, ContainersOnNetwork(g, n.name));
  if (!users.empty()) {
    return absl::FailedPreconditionError(StrCat("network ", n.name, " is in use by container(s) ",
                                                absl::StrJoin(users, ", "), ": remove them first"));
  }
  // Attachments cached for containers that are gone (a crash before their poststop): DEL them now.
  auto cni = CniFor(g);
  if (auto cached = cni.ListCached(); cached.ok()) {
    for (const auto& c : *cached) {
      if (c.network == n.name) (void)cni.Del(c.config, c.attachment);
    }
  }
  if (::unlink(n.file.c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(StrCat("remove ", n.file, ": ", strerror(errno)));
  }
  if (n.driver == "bridge") DeleteBridge(n.bridge);
  std::error_code ec;
  for (const auto& p : n.conflist.value("plugins", json::array())) {
    if (p.contains("ipam") && p["ipam"].value("type", "") == "host-local") {
      std::string dir = p["ipam"].value("dataDir", IpamDir(g));
      std::filesystem::remove_all(std::filesystem::path(dir) / n.name, ec);
    }
  }
  return Status();
}

}  // namespace berth::cli
