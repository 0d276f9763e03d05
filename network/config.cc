// CNI configuration: parsing .conf/.conflist documents, loading a config directory as libcni's
// ConfFiles does, and building the config one plugin receives (libcni's buildOneConfig).
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include "common/fs.h"
#include "common/log.h"
#include "network/internal.h"

namespace berth::network {
namespace {

using nlohmann::json;

Status ConfigError(const std::string& source, std::string_view what) {
  if (source.empty()) return absl::InvalidArgumentError(StrCat("CNI config: ", what));
  return absl::InvalidArgumentError(StrCat("CNI config ", source, ": ", what));
}

// Checks one plugin object of a list: an object with a non-empty string "type".
Status CheckPlugin(const json& p, const std::string& where, const std::string& source) {
  if (!p.is_object()) return ConfigError(source, StrCat(where, " is not an object"));
  auto type = p.find("type");
  if (type == p.end()) return ConfigError(source, StrCat(where, ": missing 'type'"));
  if (!type->is_string() || type->get<std::string>().empty()) {
    return ConfigError(source, StrCat(where, ": 'type' is not a non-empty string"));
  }
  if (auto caps = p.find("capabilities"); caps != p.end() && !caps->is_object()) {
    return ConfigError(source, StrCat(where, ": 'capabilities' is not an object"));
  }
  return Status();
}

Status CheckName(const json& j, const std::string& source, std::string* name) {
  auto it = j.find("name");
  if (it == j.end()) return ConfigError(source, "missing 'name'");
  if (!it->is_string()) return ConfigError(source, "'name' is not a string");
  *name = it->get<std::string>();
  Status s = internal::ValidateNetworkName(*name);
  if (!s.ok()) return ConfigError(source, std::string(s.message()));
  return Status();
}

Status CheckVersion(const json& j, const std::string& source, std::string* version) {
  auto it = j.find("cniVersion");
  if (it == j.end()) return Status();
  if (!it->is_string()) return ConfigError(source, "'cniVersion' is not a string");
  *version = it->get<std::string>();
  Status s = internal::CompareVersions(*version, "0.1.0").status();
  if (!s.ok()) return ConfigError(source, std::string(s.message()));
  return Status();
}

bool HasConfigExtension(std::string_view name) {
  for (std::string_view ext : {".conf", ".conflist", ".json"}) {
    if (name.size() > ext.size() && name.substr(name.size() - ext.size()) == ext) return true;
  }
  return false;
}

bool ValidIdChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return !first && (c == '_' || c == '.' || c == '-');
}

Status ValidateIdLike(std::string_view s, std::string_view what) {
  if (s.empty()) return absl::InvalidArgumentError(StrCat("missing ", what));
  for (size_t i = 0; i < s.size(); i++) {
    if (!ValidIdChar(s[i], i == 0)) {
      return absl::InvalidArgumentError(
          StrCat("invalid ", what, " '", s, "': must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$"));
    }
  }
  return Status();
}

}  // namespace

namespace internal {

Status ValidateContainerId(std::string_view id) { return ValidateIdLike(id, "container id"); }
Status ValidateNetworkName(std::string_view name) { return ValidateIdLike(name, "network name"); }

Status ValidateInterfaceName(std::string_view ifname) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(StrCat("invalid interface name '", ifname, "': ", why));
  };
  if (ifname.empty()) return absl::InvalidArgumentError("missing interface name");
  if (ifname.size() > 15) return bad("longer than 15 bytes");
  if (ifname == "." || ifname == "..") return bad("not a name");
  for (char c : ifname) {
    if (c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
        c == '\f') {
      return bad("contains '/', ':' or whitespace");
    }
  }
  return Status();
}

json CapabilityArgs(const Attachment& a) {
  json out = json::object();
  for (const auto& [k, v] : a.capability_args) out[k] = v;
  if (!a.port_mappings.empty()) {
    json pms = json::array();
    for (const auto& pm : a.port_mappings) {
      json o = {{"hostPort", pm.host_port},
                {"containerPort", pm.container_port},
                {"protocol", pm.protocol}};
      if (!pm.host_ip.empty()) o["hostIP"] = pm.host_ip;
      pms.push_back(std::move(o));
    }
    out["portMappings"] = std::move(pms);
  }
  return out;
}

StatusOr<json> BuildPluginConfig(const NetworkConfigList& net, const json& plugin,
                                 const json* prev_result, const json& capability_args) {
  if (!plugin.is_object()) return absl::InvalidArgumentError("plugin config is not an object");
  json conf = plugin;
  conf["name"] = net.name;
  conf["cniVersion"] = net.cni_version;
  if (prev_result != nullptr && !prev_result->is_null()) {
    // Plugins convert prevResult to their config's version themselves; converting here as well
    // gives each one the version it was configured for even when an earlier plugin answered in
    // another (and conflists below 0.3.0 have no prevResult to convert).
    ASSIGN_OR_RETURN(int vs030, CompareVersions(net.cni_version, "0.3.0"));
    if (vs030 >= 0) {
      ASSIGN_OR_RETURN(conf["prevResult"], ConvertResult(*prev_result, net.cni_version));
    } else {
      conf["prevResult"] = *prev_result;
    }
  }
  json rc = json::object();
  if (auto caps = plugin.find("capabilities"); caps != plugin.end() && caps->is_object()) {
    for (const auto& [cap, enabled] : caps->items()) {
      if (!enabled.is_boolean() || !enabled.get<bool>()) continue;
      if (auto arg = capability_args.find(cap); arg != capability_args.end()) rc[cap] = *arg;
    }
  }
  if (!rc.empty()) conf["runtimeConfig"] = std::move(rc);
  return conf;
}

}  // namespace internal

StatusOr<NetworkConfigList> ParseConfigList(std::string_view bytes, bool single_plugin,
                                            std::string source) {
  json j = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return ConfigError(source, "not valid JSON");
  if (!j.is_object()) return ConfigError(source, "not a JSON object");
  NetworkConfigList list;
  list.source = std::move(source);
  RETURN_IF_ERROR(CheckName(j, list.source, &list.name));
  RETURN_IF_ERROR(CheckVersion(j, list.source, &list.cni_version));
  if (single_plugin) {
    // libcni's ConfListFromConf: a list of one carrying the plugin's name and version.
    RETURN_IF_ERROR(CheckPlugin(j, "config", list.source));
    list.plugins.push_back(j);
    list.raw = {{"cniVersion", list.cni_version}, {"name", list.name}, {"plugins", {j}}};
    return list;
  }
  if (auto it = j.find("disableCheck"); it != j.end()) {
    // A bool; newer libcni also takes the strings "true"/"false".
    if (it->is_boolean()) {
      list.disable_check = it->get<bool>();
    } else if (it->is_string() && (*it == "true" || *it == "false")) {
      list.disable_check = *it == "true";
    } else {
      return ConfigError(list.source, "'disableCheck' is not a boolean");
    }
  }
  auto plugins = j.find("plugins");
  if (plugins == j.end()) return ConfigError(list.source, "no 'plugins' key");
  if (!plugins->is_array()) return ConfigError(list.source, "'plugins' is not an array");
  if (plugins->empty()) return ConfigError(list.source, "no plugins in list");
  for (size_t i = 0; i < plugins->size(); i++) {
    RETURN_IF_ERROR(CheckPlugin((*plugins)[i], StrCat("plugin ", i), list.source));
    list.plugins.push_back((*plugins)[i]);
  }
  list.raw = std::move(j);
  return list;
}

StatusOr<std::vector<NetworkConfigList>> LoadConfigDir(const std::string& dir) {
  std::vector<NetworkConfigList> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return ErrnoStatus(errno, StrCat("open CNI config directory ", dir));
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (HasConfigExtension(name)) names.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    std::string path = JoinPath(dir, name);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    auto bytes = ReadFile(path);
    if (!bytes.ok()) {
      BLOG(Warn) << "skipping CNI config " << path << ": " << bytes.status().message();
      continue;
    }
    bool single = name.size() < 9 || name.substr(name.size() - 9) != ".conflist";
    auto list = ParseConfigList(*bytes, single, path);
    if (!list.ok()) {
      BLOG(Warn) << "skipping " << list.status().message();
      continue;
    }
    out.push_back(*std::move(list));
  }
  return out;
}

}  // namespace berth::network
