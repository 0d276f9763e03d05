// Finding, reading, checking, interpolating and merging compose files. Conversion of the merged
// document into the model is in convert.cc.
#include "compose/loader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

#include "common/fs.h"
#include "compose/internal.h"

namespace berth::compose {
namespace internal {

std::string Where(const std::string& file, const YAML::Node& n) {
  if (!n.IsDefined() || n.Mark().is_null()) return file;
  return StrCat(file, ":", n.Mark().line + 1);
}

Status Invalid(const std::string& file, const YAML::Node& n, std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(Where(file, n), ": ", path, ": ", what));
}

}  // namespace internal

namespace {

using internal::Invalid;
using internal::Where;

bool Exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

std::string Absolute(const std::string& p, const std::string& base) {
  if (!p.empty() && p[0] == '/') return p;
  return JoinPath(base, p);
}

// Keys each mapping may hold. "x-" extensions are allowed everywhere compose allows them.
struct KeySet {
  std::set<std::string> supported;
  std::set<std::string> unsupported;  // known to compose, not implemented by berth
};

const KeySet kTop = {{"version", "name", "services", "networks", "volumes"},
                     {"configs", "secrets", "include"}};
const KeySet kService = {
    {"image", "container_name", "command", "entrypoint", "environment", "env_file", "ports", "expose",
     "volumes", "networks", "network_mode", "depends_on", "healthcheck", "restart", "labels", "working_dir",
     "user", "hostname", "domainname", "tmpfs", "init", "stop_signal", "stop_grace_period", "deploy",
     "mem_limit", "cpus", "pids_limit", "scale", "extra_hosts", "dns", "cap_add", "cap_drop", "privileged",
     "read_only", "tty", "stdin_open", "shm_size", "ulimits", "profiles", "pull_policy", "security_opt",
     "sysctls"},
    {"build", "configs", "secrets", "links", "external_links", "logging", "devices", "device_cgroup_rules",
     "cgroup_parent", "cgroup", "cpu_shares", "cpu_quota", "cpu_period", "cpuset", "mem_reservation",
     "memswap_limit", "oom_kill_disable", "oom_score_adj", "ipc", "pid", "uts", "userns_mode", "isolation",
     "platform", "runtime", "storage_opt", "volumes_from", "extends", "dns_search", "dns_opt", "mac_address",
     "group_add", "blkio_config", "credential_spec", "develop", "annotations", "attach", "label_file",
     "post_start", "pre_stop", "gpus", "use_api_socket", "models", "provider", "cpu_count", "cpu_percent",
     "cpu_rt_runtime", "cpu_rt_period", "mem_swappiness", "external_links", "stop_timeout"}};
const KeySet kHealthcheck = {{"test", "interval", "timeout", "retries", "start_period", "disable"},
                             {"start_interval"}};
const KeySet kDeploy = {{"replicas", "resources"},
                        {"mode", "labels", "placement", "restart_policy", "rollback_config", "update_config",
                         "endpoint_mode"}};
const KeySet kResources = {{"limits"}, {"reservations"}};
const KeySet kLimits = {{"memory", "cpus", "pids"}, {"devices"}};
const KeySet kDependsOn = {{"condition", "restart", "required"}, {}};
const KeySet kServiceNetwork = {{"aliases", "ipv4_address"},
                                {"ipv6_address", "link_local_ips", "priority", "mac_address", "driver_opts"}};
const KeySet kVolumeLong = {{"type", "source", "target", "read_only", "bind", "volume", "tmpfs", "consistency"},
                            {"image"}};
const KeySet kVolumeBind = {{"create_host_path", "propagation"}, {"selinux"}};
const KeySet kVolumeVolume = {{"nocopy"}, {"subpath"}};
const KeySet kVolumeTmpfs = {{"size"}, {"mode"}};
const KeySet kPortLong = {{"target", "published", "host_ip", "protocol", "mode", "name"}, {"app_protocol"}};
const KeySet kNetwork = {{"name", "driver", "external", "internal", "labels", "ipam"},
                         {"driver_opts", "attachable", "enable_ipv6"}};
const KeySet kIpam = {{"config", "driver"}, {"options"}};
const KeySet kIpamConfig = {{"subnet", "gateway"}, {"ip_range", "aux_addresses"}};
const KeySet kVolume = {{"name", "driver", "external", "labels"}, {"driver_opts"}};
const KeySet kUlimit = {{"soft", "hard"}, {}};

Status CheckKeys(const std::string& file, const YAML::Node& n, const std::string& path, const KeySet& keys) {
  if (!n.IsMap()) return Invalid(file, n, path, "must be a mapping");
  for (const auto& kv : n) {
    std::string k = kv.first.as<std::string>();
    if (k.rfind("x-", 0) == 0) continue;
    std::string p = path.empty() ? k : StrCat(path, ".", k);
    if (keys.supported.count(k)) continue;
    if (keys.unsupported.count(k)) return Invalid(file, kv.first, p, "not supported by berth compose");
    return Invalid(file, kv.first, p, "unknown key");
  }
  return Status();
}

Status CheckOptionalMap(const std::string& file, const YAML::Node& n, const std::string& path, const KeySet& keys) {
  if (!n || n.IsNull()) return Status();
  return CheckKeys(file, n, path, keys);
}

Status CheckService(const std::string& file, const std::string& name, const YAML::Node& s) {
  std::string path = "services." + name;
  if (s.IsNull()) return Status();
  RETURN_IF_ERROR(CheckKeys(file, s, path, kService));
  if (auto h = s["healthcheck"]) RETURN_IF_ERROR(CheckOptionalMap(file, h, path + ".healthcheck", kHealthcheck));
  if (auto d = s["deploy"]; d && !d.IsNull()) {
    RETURN_IF_ERROR(CheckKeys(file, d, path + ".deploy", kDeploy));
    if (auto r = d["resources"]; r && !r.IsNull()) {
      RETURN_IF_ERROR(CheckKeys(file, r, path + ".deploy.resources", kResources));
      RETURN_IF_ERROR(CheckOptionalMap(file, r["limits"], path + ".deploy.resources.limits", kLimits));
    }
  }
  if (auto d = s["depends_on"]; d && d.IsMap()) {
    for (const auto& kv : d) {
      RETURN_IF_ERROR(CheckOptionalMap(file, kv.second, StrCat(path, ".depends_on.", kv.first.as<std::string>()), kDependsOn));
    }
  }
  if (auto nw = s["networks"]; nw && nw.IsMap()) {
    for (const auto& kv : nw) {
      RETURN_IF_ERROR(CheckOptionalMap(file, kv.second, StrCat(path, ".networks.", kv.first.as<std::string>()), kServiceNetwork));
    }
  }
  if (auto v = s["volumes"]; v && v.IsSequence()) {
    for (size_t i = 0; i < v.size(); i++) {
      if (!v[i].IsMap()) continue;
      std::string vp = StrCat(path, ".volumes[", i, "]");
      RETURN_IF_ERROR(CheckKeys(file, v[i], vp, kVolumeLong));
      RETURN_IF_ERROR(CheckOptionalMap(file, v[i]["bind"], vp + ".bind", kVolumeBind));
      RETURN_IF_ERROR(CheckOptionalMap(file, v[i]["volume"], vp + ".volume", kVolumeVolume));
      RETURN_IF_ERROR(CheckOptionalMap(file, v[i]["tmpfs"], vp + ".tmpfs", kVolumeTmpfs));
    }
  }
  if (auto p = s["ports"]; p && p.IsSequence()) {
    for (size_t i = 0; i < p.size(); i++) {
      if (p[i].IsMap()) RETURN_IF_ERROR(CheckKeys(file, p[i], StrCat(path, ".ports[", i, "]"), kPortLong));
    }
  }
  if (auto u = s["ulimits"]; u && u.IsMap()) {
    for (const auto& kv : u) {
      if (kv.second.IsMap()) {
        RETURN_IF_ERROR(CheckKeys(file, kv.second, StrCat(path, ".ulimits.", kv.first.as<std::string>()), kUlimit));
      }
    }
  }
  return Status();
}

Status CheckDocument(const std::string& file, const YAML::Node& doc) {
  if (!doc.IsMap()) return Invalid(file, doc, "(top level)", "a compose file must be a mapping");
  RETURN_IF_ERROR(CheckKeys(file, doc, "", kTop));
  if (auto s = doc["services"]) {
    if (!s.IsMap()) return Invalid(file, s, "services", "must be a mapping");
    for (const auto& kv : s) RETURN_IF_ERROR(CheckService(file, kv.first.as<std::string>(), kv.second));
  }
  if (auto n = doc["networks"]; n && !n.IsNull()) {
    if (!n.IsMap()) return Invalid(file, n, "networks", "must be a mapping");
    for (const auto& kv : n) {
      std::string p = "networks." + kv.first.as<std::string>();
      RETURN_IF_ERROR(CheckOptionalMap(file, kv.second, p, kNetwork));
      if (kv.second.IsMap() && kv.second["ipam"] && kv.second["ipam"].IsMap()) {
        RETURN_IF_ERROR(CheckOptionalMap(file, kv.second["ipam"], p + ".ipam", kIpam));
        if (auto c = kv.second["ipam"]["config"]; c && c.IsSequence()) {
          for (size_t i = 0; i < c.size(); i++) {
            RETURN_IF_ERROR(CheckKeys(file, c[i], StrCat(p, ".ipam.config[", i, "]"), kIpamConfig));
          }
        }
      }
    }
  }
  if (auto v = doc["volumes"]; v && !v.IsNull()) {
    if (!v.IsMap()) return Invalid(file, v, "volumes", "must be a mapping");
    for (const auto& kv : v) {
      RETURN_IF_ERROR(CheckOptionalMap(file, kv.second, "volumes." + kv.first.as<std::string>(), kVolume));
    }
  }
  return Status();
}

// Interpolates every scalar value (never keys) in place.
Status InterpolateNode(const std::string& file, YAML::Node n, const std::string& path, const Lookup& env,
                       std::vector<std::string>* missing) {
  if (n.IsScalar()) {
    // Plain numbers and booleans cannot hold a '$'.
    const std::string& v = n.Scalar();
    if (v.find('$') == std::string::npos) return Status();
    auto r = Interpolate(v, env, missing);
    if (!r.ok()) return Invalid(file, n, path, std::string(r.status().message()));
    n = *r;
    return Status();
  }
  if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); i++) {
      RETURN_IF_ERROR(InterpolateNode(file, n[i], StrCat(path, "[", i, "]"), env, missing));
    }
  } else if (n.IsMap()) {
    for (auto kv : n) {
      std::string k = kv.first.as<std::string>();
      if (k.rfind("x-", 0) == 0) continue;  // extensions are not interpolated until used
      RETURN_IF_ERROR(InterpolateNode(file, kv.second, path.empty() ? k : path + "." + k, env, missing));
    }
  }
  return Status();
}

// List-form `KEY=VALUE` (environment, labels, sysctls, extra_hosts) to a mapping, for merging.
YAML::Node ListToMap(const YAML::Node& n, char sep) {
  if (!n.IsSequence()) return n;
  YAML::Node m(YAML::NodeType::Map);
  for (const auto& e : n) {
    std::string s = e.as<std::string>();
    size_t eq = s.find(sep);
    if (eq == std::string::npos) {
      m[s] = YAML::Node(YAML::NodeType::Null);
    } else {
      m[s.substr(0, eq)] = s.substr(eq + 1);
    }
  }
  return m;
}

// depends_on and networks: list form to a mapping of empty entries.
YAML::Node NamesToMap(const YAML::Node& n) {
  if (!n.IsSequence()) return n;
  YAML::Node m(YAML::NodeType::Map);
  for (const auto& e : n) m[e.as<std::string>()] = YAML::Node(YAML::NodeType::Null);
  return m;
}

YAML::Node MergeNodes(const YAML::Node& base, const YAML::Node& over);

YAML::Node MergeServiceKey(const std::string& key, const YAML::Node& base, const YAML::Node& over) {
  static const std::set<std::string> kReplace = {"command", "entrypoint"};
  static const std::set<std::string> kAppend = {"ports", "expose", "dns", "cap_add", "cap_drop", "env_file",
                                                "tmpfs", "profiles", "security_opt", "volumes"};
  if (kReplace.count(key)) return YAML::Clone(over);
  if (key == "environment" || key == "labels" || key == "sysctls") {
    return MergeNodes(ListToMap(base, '='), ListToMap(over, '='));
  }
  if (key == "extra_hosts") {
    // Both forms (list of "host:ip" or "host=ip", mapping) to one list, the later file last.
    YAML::Node out(YAML::NodeType::Sequence);
    for (const YAML::Node* n : {&base, &over}) {
      if (n->IsSequence()) {
        for (const auto& e : *n) out.push_back(e);
      } else if (n->IsMap()) {
        for (const auto& kv : *n) out.push_back(kv.first.as<std::string>() + ":" + kv.second.as<std::string>());
      }
    }
    return out;
  }
  if (key == "depends_on" || key == "networks") return MergeNodes(NamesToMap(base), NamesToMap(over));
  if (key == "healthcheck" && base.IsMap() && over.IsMap()) {
    YAML::Node m = MergeNodes(base, over);
    if (over["test"]) m["test"] = YAML::Clone(over["test"]);
    return m;
  }
  if (kAppend.count(key)) {
    auto seq = [](const YAML::Node& n) {
      if (n.IsSequence()) return n;
      YAML::Node s(YAML::NodeType::Sequence);
      if (n.IsDefined() && !n.IsNull()) s.push_back(n);
      return s;
    };
    YAML::Node out(YAML::NodeType::Sequence);
    for (const auto& e : seq(base)) out.push_back(e);
    for (const auto& e : seq(over)) out.push_back(e);
    return out;
  }
  return MergeNodes(base, over);
}

YAML::Node MergeNodes(const YAML::Node& base, const YAML::Node& over) {
  if (!base.IsMap() || !over.IsMap()) return YAML::Clone(over);
  YAML::Node out = YAML::Clone(base);
  for (const auto& kv : over) {
    std::string k = kv.first.as<std::string>();
    if (out[k]) {
      out[k] = MergeNodes(out[k], kv.second);
    } else {
      out[k] = YAML::Clone(kv.second);
    }
  }
  return out;
}

YAML::Node MergeDocuments(const YAML::Node& base, const YAML::Node& over) {
  YAML::Node out = YAML::Clone(base);
  for (const auto& kv : over) {
    std::string k = kv.first.as<std::string>();
    if (k != "services" || !out["services"] || !kv.second.IsMap()) {
      out[k] = out[k] ? MergeNodes(out[k], kv.second) : YAML::Clone(kv.second);
      continue;
    }
    YAML::Node services = out["services"];
    for (const auto& s : kv.second) {
      std::string name = s.first.as<std::string>();
      YAML::Node b = services[name];
      if (!b || b.IsNull() || !s.second.IsMap()) {
        services[name] = YAML::Clone(s.second);
        continue;
      }
      YAML::Node merged = YAML::Clone(b);
      for (const auto& e : s.second) {
        std::string key = e.first.as<std::string>();
        merged[key] = merged[key] ? MergeServiceKey(key, merged[key], e.second) : YAML::Clone(e.second);
      }
      services[name] = merged;
    }
  }
  return out;
}

StatusOr<std::vector<std::string>> FindFiles(const LoadOptions& o, const Lookup& env, const std::string& cwd) {
  std::vector<std::string> files;
  if (!o.files.empty()) {
    for (const auto& f : o.files) files.push_back(Absolute(f, cwd));
    return files;
  }
  if (auto cf = env("COMPOSE_FILE"); cf && !cf->empty()) {
    size_t pos = 0;
    while (pos <= cf->size()) {
      size_t c = cf->find(':', pos);
      if (c == std::string::npos) c = cf->size();
      if (c > pos) files.push_back(Absolute(cf->substr(pos, c - pos), cwd));
      pos = c + 1;
    }
    return files;
  }
  for (const char* name : {"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"}) {
    std::string p = JoinPath(cwd, name);
    if (!Exists(p)) continue;
    files.push_back(p);
    std::string stem = std::string(name).substr(0, std::string(name).rfind('.'));
    for (const char* ext : {".override.yaml", ".override.yml"}) {
      std::string ov = JoinPath(cwd, stem + ext);
      if (Exists(ov)) {
        files.push_back(ov);
        break;
      }
    }
    return files;
  }
  return absl::NotFoundError(StrCat("no compose file found in ", cwd,
                                    " (compose.yaml, compose.yml, docker-compose.yml or docker-compose.yaml)"));
}

std::string Cwd() {
  char buf[4096];
  return ::getcwd(buf, sizeof buf) ? std::string(buf) : std::string(".");
}

}  // namespace

StatusOr<Project> LoadFiles(const std::vector<SourceFile>& files, const LoadOptions& options) {
  if (files.empty()) return absl::InvalidArgumentError("no compose file");
  Lookup process = options.environment ? options.environment : [](const std::string& k) -> std::optional<std::string> {
    const char* v = std::getenv(k.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  std::string dir = !options.project_directory.empty() ? options.project_directory : DirName(files[0].path);
  // .env: the process environment wins over it.
  std::map<std::string, std::string> dotenv;
  std::string env_path = options.env_file.empty() ? JoinPath(dir, ".env") : Absolute(options.env_file, dir);
  if (Exists(env_path)) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(env_path));
    auto parsed = ParseDotEnv(text, process);
    if (!parsed.ok()) return Annotate(parsed.status(), env_path);
    for (auto& [k, v] : *parsed) dotenv[k] = v;
  } else if (!options.env_file.empty()) {
    return absl::NotFoundError(StrCat("env file ", env_path, " not found"));
  }
  Lookup env = [process, dotenv](const std::string& k) -> std::optional<std::string> {
    if (auto v = process(k)) return v;
    auto it = dotenv.find(k);
    if (it != dotenv.end()) return it->second;
    return std::nullopt;
  };

  YAML::Node merged;
  std::vector<std::string> paths;
  std::vector<std::string> missing;
  for (const auto& f : files) {
    YAML::Node doc;
    try {
      doc = YAML::Load(f.content);
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(StrCat(f.path, ":", e.mark.line + 1, ": ", e.msg));
    }
    if (doc.IsNull()) return absl::InvalidArgumentError(StrCat(f.path, ": empty compose file"));
    try {
      RETURN_IF_ERROR(CheckDocument(f.path, doc));
      RETURN_IF_ERROR(InterpolateNode(f.path, doc, "", env, &missing));
      merged = paths.empty() ? doc : MergeDocuments(merged, doc);
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(StrCat(f.path, ":", e.mark.line + 1, ": ", e.msg));
    }
    paths.push_back(f.path);
  }
  internal::ConvertContext ctx{paths, dir, env, options};
  ASSIGN_OR_RETURN(Project p, internal::Convert(merged, ctx));
  std::set<std::string> warned;
  for (const auto& m : missing) {
    if (warned.insert(m).second) p.warnings.push_back(StrCat("the ", m, " variable is not set, defaulting to a blank string"));
  }
  return p;
}

StatusOr<Project> Load(const LoadOptions& options) {
  Lookup env = options.environment ? options.environment : [](const std::string& k) -> std::optional<std::string> {
    const char* v = std::getenv(k.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  std::string cwd = options.working_dir.empty() ? Cwd() : options.working_dir;
  ASSIGN_OR_RETURN(std::vector<std::string> paths, FindFiles(options, env, cwd));
  std::vector<SourceFile> files;
  for (const auto& p : paths) {
    auto text = ReadFile(p);
    if (!text.ok()) return Annotate(text.status(), StrCat("read compose file ", p));
    files.push_back({p, *std::move(text)});
  }
  return LoadFiles(files, options);
}

}  // namespace berth::compose
