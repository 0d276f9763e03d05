// ADD/CHECK/DEL over a network's plugin list, as libcni's AddNetworkList, CheckNetworkList and
// DelNetworkList, with its result cache.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

#include "common/fs.h"
#include "common/log.h"
#include "network/internal.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

namespace berth::network {
namespace {

using nlohmann::json;

std::string PluginType(const json& plugin) {
  auto it = plugin.find("type");
  return it != plugin.end() && it->is_string() ? it->get<std::string>() : "";
}

bool IsTrue(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() && it->get<bool>();
}

// "network "n": plugin type="bridge" failed (add)": libcni's description, with the network.
std::string Describe(const NetworkConfigList& net, const json& plugin, std::string_view op) {
  std::string name = plugin.contains("name") && plugin["name"].is_string()
                         ? plugin["name"].get<std::string>()
                         : "";
  return StrCat("network \"", net.name, "\": plugin type=\"", PluginType(plugin), "\"",
                name.empty() ? "" : StrCat(" name=\"", name, "\""), " failed (", op, ")");
}

std::string JoinArgs(const std::vector<std::pair<std::string, std::string>>& args) {
  std::string out;
  for (const auto& [k, v] : args) out += StrCat(out.empty() ? "" : ";", k, "=", v);
  return out;
}

std::string JoinDirs(const std::vector<std::string>& dirs) {
  std::string out;
  for (const auto& d : dirs) out += StrCat(out.empty() ? "" : ":", d);
  return out;
}

Status ValidateAttachment(const NetworkConfigList& net, const Attachment& a) {
  RETURN_IF_ERROR(internal::ValidateContainerId(a.container_id));
  RETURN_IF_ERROR(internal::ValidateNetworkName(net.name));
  return internal::ValidateInterfaceName(a.ifname);
}

// CNI_NETNS for DEL/CHECK: a path that is gone, or is no longer a namespace (unmounted but not
// yet unlinked), is passed as "" (plugins then release what lives outside the namespace); the
// bridge plugin fails on a path that exists but is not a namespace.
std::string NetnsForTeardown(const std::string& path) {
  if (path.empty()) return path;
  struct statfs fs;
  if (::statfs(path.c_str(), &fs) != 0) return "";
  if (static_cast<unsigned long>(fs.f_type) != NSFS_MAGIC) return "";
  return path;
}

// Capability args for DEL/CHECK: the caller's, completed by what the ADD had (so portmap can
// remove its rules during a teardown that no longer knows the port mappings).
json TeardownCapabilities(const Attachment& a, const internal::CacheEntry* cached) {
  json caps = internal::CapabilityArgs(a);
  if (cached != nullptr && cached->capability_args.is_object()) {
    for (const auto& [k, v] : cached->capability_args.items()) {
      if (!caps.contains(k)) caps[k] = v;
    }
  }
  return caps;
}

StatusOr<NetworkConfigList> ParseCachedConfig(const std::string& bytes, const std::string& where) {
  json j = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  bool single = j.is_object() && !j.contains("plugins");
  return ParseConfigList(bytes, single, where);
}

std::vector<PortMapping> DecodePortMappings(const json& pms, bool* ok) {
  std::vector<PortMapping> out;
  *ok = pms.is_array();
  if (!*ok) return out;
  for (const auto& p : pms) {
    if (!p.is_object() || !p.contains("hostPort") || !p["hostPort"].is_number_unsigned() ||
        !p.contains("containerPort") || !p["containerPort"].is_number_unsigned()) {
      *ok = false;
      return {};
    }
    PortMapping pm;
    pm.host_port = p["hostPort"].get<uint16_t>();
    pm.container_port = p["containerPort"].get<uint16_t>();
    if (p.contains("protocol") && p["protocol"].is_string()) pm.protocol = p["protocol"];
    if (p.contains("hostIP") && p["hostIP"].is_string()) pm.host_ip = p["hostIP"];
    out.push_back(std::move(pm));
  }
  return out;
}

}  // namespace

Cni::Cni(Options options) : options_(std::move(options)) {}

StatusOr<std::string> Cni::RunPlugin(const NetworkConfigList& net, const nlohmann::json& plugin,
                                     std::string_view command, const Attachment& a,
                                     const std::string& netns, const nlohmann::json* prev_result,
                                     const nlohmann::json& capability_args) const {
  ASSIGN_OR_RETURN(std::string path,
                   internal::FindPlugin(PluginType(plugin), options_.plugin_dirs));
  ASSIGN_OR_RETURN(json conf,
                   internal::BuildPluginConfig(net, plugin, prev_result, capability_args));
  internal::PluginRequest req;
  req.path = std::move(path);
  req.command = std::string(command);
  req.container_id = a.container_id;
  req.netns = netns;
  req.ifname = a.ifname;
  req.args = JoinArgs(a.args);
  req.cni_path = JoinDirs(options_.plugin_dirs);
  req.stdin_data = conf.dump();
  req.timeout = options_.plugin_timeout;
  return internal::ExecPlugin(req);
}

StatusOr<Result> Cni::Add(const NetworkConfigList& net, const Attachment& a) const {
  RETURN_IF_ERROR(ValidateAttachment(net, a));
  if (net.plugins.empty()) {
    return absl::InvalidArgumentError(StrCat("network \"", net.name, "\" has no plugins"));
  }
  // An attachment that is still cached was added and not deleted: a second ADD would fail in the
  // plugins, and undoing it would tear down the first one.
  std::string cache_path =
      internal::CachePath(options_.cache_dir, net.name, a.container_id, a.ifname);
  if (::access(cache_path.c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(StrCat("network \"", net.name, "\": ", a.container_id, "/",
                                           a.ifname, " is already attached (DEL it first)"));
  }
  json caps = internal::CapabilityArgs(a);
  std::optional<Result> last;
  Status failed;
  size_t i = 0;
  for (; i < net.plugins.size(); i++) {
    const json& plugin = net.plugins[i];
    json prev = last ? last->raw : json();
    auto out = RunPlugin(net, plugin, "ADD", a, a.netns_path, last ? &prev : nullptr, caps);
    if (!out.ok()) {
      failed = Annotate(out.status(), Describe(net, plugin, "add"));
      break;
    }
    auto result = internal::ParseResult(*out, net.cni_version);
    if (!result.ok()) {
      failed = Annotate(result.status(), Describe(net, plugin, "add"));
      break;
    }
    last = *std::move(result);
  }
  if (failed.ok()) {
    internal::CacheEntry e;
    e.container_id = a.container_id;
    e.ifname = a.ifname;
    e.network = net.name;
    e.config = net.raw.dump();
    e.cni_args = a.args;
    e.capability_args = caps;
    e.result = last->raw;
    e.netns = a.netns_path;
    failed =
        Annotate(internal::WriteCache(options_.cache_dir, e), StrCat("network \"", net.name, "\""));
    if (failed.ok()) return *std::move(last);
    i = net.plugins.size() - 1;
  }
  // Undo what the plugins up to the failing one did, in reverse, so a failed ADD leaves nothing
  // behind (the runtime's DEL after a failed ADD, which the spec asks for).
  json prev = last ? last->raw : json();
  for (size_t k = std::min(i, net.plugins.size() - 1) + 1; k-- > 0;) {
    auto out = RunPlugin(net, net.plugins[k], "DEL", a, NetnsForTeardown(a.netns_path),
                         last ? &prev : nullptr, caps);
    if (!out.ok()) {
      BLOG(Warn) << "undoing a failed CNI ADD of " << a.container_id << ": "
                 << Describe(net, net.plugins[k], "delete") << ": " << out.status().message();
    }
  }
  return failed;
}

Status Cni::Check(const NetworkConfigList& net, const Attachment& a) const {
  RETURN_IF_ERROR(ValidateAttachment(net, a));
  ASSIGN_OR_RETURN(int vs040, internal::CompareVersions(net.cni_version, "0.4.0"));
  if (vs040 < 0) {
    return absl::FailedPreconditionError(StrCat("network \"", net.name,
                                                "\": configuration version \"", net.cni_version,
                                                "\" does not support the CHECK command"));
  }
  if (net.disable_check) return Status();
  std::string path = internal::CachePath(options_.cache_dir, net.name, a.container_id, a.ifname);
  auto cached = internal::ReadCache(path);
  if (absl::IsNotFound(cached.status()) || (cached.ok() && cached->result.is_null())) {
    return absl::NotFoundError(StrCat("network \"", net.name, "\": no cached result for ",
                                      a.container_id, "/", a.ifname, " (was it added?)"));
  }
  RETURN_IF_ERROR(cached.status());
  json caps = TeardownCapabilities(a, &*cached);
  for (const auto& plugin : net.plugins) {
    auto out = RunPlugin(net, plugin, "CHECK", a, a.netns_path, &cached->result, caps);
    if (!out.ok()) return Annotate(out.status(), Describe(net, plugin, "check"));
  }
  return Status();
}

Status Cni::Del(const NetworkConfigList& net, const Attachment& a) const {
  RETURN_IF_ERROR(ValidateAttachment(net, a));
  std::string path = internal::CachePath(options_.cache_dir, net.name, a.container_id, a.ifname);
  std::optional<internal::CacheEntry> cached;
  if (auto c = internal::ReadCache(path); c.ok()) {
    cached = *std::move(c);
  } else if (!absl::IsNotFound(c.status())) {
    BLOG(Warn) << "ignoring unreadable CNI cache: " << c.status().message();
  }
  Attachment att = a;
  if (att.args.empty() && cached) att.args = cached->cni_args;
  json caps = TeardownCapabilities(a, cached ? &*cached : nullptr);
  // As libcni: the cached result is prevResult from 0.4.0 on.
  ASSIGN_OR_RETURN(int vs040, internal::CompareVersions(net.cni_version, "0.4.0"));
  const json* prev = vs040 >= 0 && cached && !cached->result.is_null() ? &cached->result : nullptr;
  if (prev != nullptr) {
    // A cached result that cannot be given to the plugins must not make the teardown impossible.
    if (auto c = internal::ConvertResult(*prev, net.cni_version); !c.ok()) {
      BLOG(Warn) << "DEL of " << a.container_id << " on network " << net.name
                 << " without its cached result: " << c.status().message();
      prev = nullptr;
    }
  }
  std::string netns = NetnsForTeardown(a.netns_path);
  // Every plugin runs even after one failed (so one stuck plugin does not leak the others'
  // resources); the first error is returned and the cache kept, so a retry runs them all again.
  Status first;
  for (size_t k = net.plugins.size(); k-- > 0;) {
    const json& plugin = net.plugins[k];
    auto out = RunPlugin(net, plugin, "DEL", att, netns, prev, caps);
    if (!out.ok()) {
      if (first.ok()) first = Annotate(out.status(), Describe(net, plugin, "delete"));
      continue;
    }
    if (netns.empty() && PluginType(plugin) == "bridge" && IsTrue(plugin, "ipMasq") && cached &&
        !cached->result.is_null()) {
      if (auto r = internal::ParseResult(cached->result.dump(), ""); r.ok()) {
        internal::TeardownBridgeIpMasq(net.name, a.container_id, *r, options_.plugin_timeout);
      }
    }
  }
  if (!first.ok()) return first;
  return internal::RemoveCache(options_.cache_dir, net.name, a.container_id, a.ifname);
}

StatusOr<Result> Cni::CachedResult(const std::string& network, const std::string& container_id,
                                   const std::string& ifname) const {
  RETURN_IF_ERROR(internal::ValidateNetworkName(network));
  RETURN_IF_ERROR(internal::ValidateContainerId(container_id));
  RETURN_IF_ERROR(internal::ValidateInterfaceName(ifname));
  std::string path = internal::CachePath(options_.cache_dir, network, container_id, ifname);
  ASSIGN_OR_RETURN(internal::CacheEntry e, internal::ReadCache(path));
  if (e.result.is_null()) {
    return absl::NotFoundError(StrCat("CNI cache ", path, " holds no result"));
  }
  auto result = internal::ParseResult(e.result.dump(), "");
  if (!result.ok()) return Annotate(result.status(), StrCat("CNI cache ", path));
  return result;
}

StatusOr<std::vector<Cni::CachedAttachment>> Cni::ListCached() const {
  std::vector<CachedAttachment> out;
  std::string dir = JoinPath(options_.cache_dir, "results");
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return ErrnoStatus(errno, StrCat("open CNI cache ", dir));
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    // Skips ".", "..", and WriteFileAtomic's temporaries ("<name>.tmp-XXXXXX").
    if (name[0] != '.' && name.find(".tmp-") == std::string::npos) names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    std::string path = JoinPath(dir, name);
    auto e = internal::ReadCache(path);
    if (!e.ok()) {
      if (!absl::IsNotFound(e.status())) {
        BLOG(Warn) << "skipping " << e.status().message();
      }
      continue;
    }
    if (e->network.empty() || e->container_id.empty() || e->ifname.empty()) {
      BLOG(Warn) << "skipping CNI cache " << path << ": not a cniCacheV1 record";
      continue;
    }
    auto config = ParseCachedConfig(e->config, StrCat("cached in ", path));
    if (!config.ok()) {
      BLOG(Warn) << "skipping " << config.status().message();
      continue;
    }
    CachedAttachment c;
    c.network = e->network;
    c.container_id = e->container_id;
    c.ifname = e->ifname;
    c.netns_path = e->netns;
    c.config = *std::move(config);
    c.attachment.container_id = e->container_id;
    c.attachment.ifname = e->ifname;
    c.attachment.netns_path = e->netns;
    c.attachment.args = e->cni_args;
    for (const auto& [k, v] : e->capability_args.items()) {
      bool ok = false;
      if (k == "portMappings") c.attachment.port_mappings = DecodePortMappings(v, &ok);
      if (!ok) c.attachment.capability_args[k] = v;
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace berth::network
