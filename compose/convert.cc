// The merged compose document to the normalised model.
#include <cctype>
#include <cstdlib>
#include <set>

#include "common/fs.h"
#include "compose/internal.h"

namespace berth::compose::internal {
namespace {

class Converter {
 public:
  explicit Converter(const ConvertContext& ctx) : ctx_(ctx), file_(ctx.files.front()) {}

  StatusOr<Project> Run(const YAML::Node& doc);

 private:
  Status Bad(const YAML::Node& n, std::string_view path, std::string_view what) const {
    return Invalid(file_, n, path, what);
  }
  StatusOr<std::string> Str(const YAML::Node& n, const std::string& path) const {
    if (!n.IsScalar()) return Bad(n, path, "must be a string");
    return n.Scalar();
  }
  StatusOr<bool> Bool(const YAML::Node& n, const std::string& path) const {
    bool b;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, b)) return Bad(n, path, "must be a boolean");
    return b;
  }
  StatusOr<int64_t> Int(const YAML::Node& n, const std::string& path) const {
    if (!n.IsScalar()) return Bad(n, path, "must be an integer");
    const std::string& s = n.Scalar();
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0') return Bad(n, path, StrCat("must be an integer, not \"", s, "\""));
    return static_cast<int64_t>(v);
  }
  StatusOr<std::vector<std::string>> StrList(const YAML::Node& n, const std::string& path) const {
    std::vector<std::string> out;
    if (n.IsNull()) return out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return out;
    }
    if (!n.IsSequence()) return Bad(n, path, "must be a string or a list of strings");
    for (size_t i = 0; i < n.size(); i++) {
      ASSIGN_OR_RETURN(std::string s, Str(n[i], StrCat(path, "[", i, "]")));
      out.push_back(std::move(s));
    }
    return out;
  }
  StatusOr<int64_t> Duration(const YAML::Node& n, const std::string& path) const {
    ASSIGN_OR_RETURN(std::string s, Str(n, path));
    auto d = ParseDuration(s);
    if (!d.ok()) return Bad(n, path, std::string(d.status().message()));
    return *d;
  }
  StatusOr<int64_t> Bytes(const YAML::Node& n, const std::string& path) const {
    ASSIGN_OR_RETURN(std::string s, Str(n, path));
    auto b = ParseBytes(s);
    if (!b.ok()) return Bad(n, path, std::string(b.status().message()));
    return *b;
  }
  // A mapping or a list of KEY<sep>VALUE; `from_env` fills valueless keys from the environment
  // (environment), otherwise they map to "".
  StatusOr<std::map<std::string, std::string>> KeyValues(const YAML::Node& n, const std::string& path, bool from_env) const;
  std::string HostPath(std::string p) const;

  Status Service(const std::string& name, const YAML::Node& n, compose::Service* s);
  Status Ports(const YAML::Node& n, const std::string& path, std::vector<PortConfig>* out) const;
  Status ShortPort(const YAML::Node& n, const std::string& path, std::vector<PortConfig>* out) const;
  Status Volumes(const YAML::Node& n, const std::string& path, std::vector<ServiceVolume>* out) const;
  Status Healthcheck(const YAML::Node& n, const std::string& path, compose::Healthcheck* h) const;
  Status Deploy(const YAML::Node& n, const std::string& path, compose::Service* s) const;
  // The keys top-level networks and volumes share: external (a boolean, or the legacy
  // {name: x}), name, driver, labels.
  Status Common(const YAML::Node& v, const std::string& path, bool* external, std::string* name, std::string* driver,
                std::map<std::string, std::string>* labels) const;
  Status TopNetworks(const YAML::Node& n, Project* p) const;
  Status TopVolumes(const YAML::Node& n, Project* p) const;

  const ConvertContext& ctx_;
  const std::string& file_;
  std::set<std::string> declared_volumes_;
  std::set<std::string> declared_networks_;
};

std::string CleanPath(const std::string& p) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= p.size()) {
    size_t s = p.find('/', pos);
    if (s == std::string::npos) s = p.size();
    std::string part = p.substr(pos, s - pos);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = s + 1;
  }
  std::string out;
  for (const auto& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

std::string NormaliseProjectName(const std::string& in) {
  std::string out;
  for (char c : in) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::isalnum(static_cast<unsigned char>(l)) || l == '_' || l == '-') out.push_back(l);
  }
  while (!out.empty() && (out[0] == '_' || out[0] == '-')) out.erase(0, 1);
  return out;
}

std::string BaseName(const std::string& p) {
  size_t s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

StatusOr<std::map<std::string, std::string>> Converter::KeyValues(const YAML::Node& n, const std::string& path,
                                                                    bool from_env) const {
  std::map<std::string, std::string> out;
  auto valueless = [&](const std::string& k) {
    if (!from_env) {
      out[k] = "";
      return;
    }
    if (auto v = ctx_.env(k)) out[k] = *v;
  };
  if (n.IsNull()) return out;
  if (n.IsMap()) {
    for (const auto& kv : n) {
      std::string k = kv.first.as<std::string>();
      if (kv.second.IsNull()) {
        valueless(k);
      } else {
        ASSIGN_OR_RETURN(out[k], Str(kv.second, path + "." + k));
      }
    }
    return out;
  }
  if (!n.IsSequence()) return Bad(n, path, "must be a mapping or a list of KEY=VALUE");
  for (size_t i = 0; i < n.size(); i++) {
    ASSIGN_OR_RETURN(std::string e, Str(n[i], StrCat(path, "[", i, "]")));
    size_t eq = e.find('=');
    if (eq == std::string::npos) {
      valueless(e);
    } else {
      out[e.substr(0, eq)] = e.substr(eq + 1);
    }
  }
  return out;
}

std::string Converter::HostPath(std::string p) const {
  if (p == "~" || p.rfind("~/", 0) == 0) {
    std::string home = ctx_.env("HOME").value_or("/root");
    p = home + p.substr(1);
  }
  if (p.empty() || p[0] != '/') p = JoinPath(ctx_.dir, p);
  return CleanPath(p);
}

Status ParsePortNumber(std::string_view s, uint32_t* lo, uint32_t* hi) {
  std::string str(s);
  size_t dash = str.find('-');
  auto num = [](const std::string& t, uint32_t* v) {
    if (t.empty() || t.size() > 5) return false;
    for (char c : t) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    }
    *v = static_cast<uint32_t>(std::stoul(t));
    return *v <= 65535;
  };
  if (dash == std::string::npos) {
    if (!num(str, lo)) return absl::InvalidArgumentError(StrCat("invalid port \"", s, "\""));
    *hi = *lo;
    return Status();
  }
  if (!num(str.substr(0, dash), lo) || !num(str.substr(dash + 1), hi) || *hi < *lo) {
    return absl::InvalidArgumentError(StrCat("invalid port range \"", s, "\""));
  }
  return Status();
}

Status Converter::ShortPort(const YAML::Node& n, const std::string& path, std::vector<PortConfig>* out) const {
  std::string s = n.Scalar();
  std::string proto = "tcp";
  if (size_t slash = s.rfind('/'); slash != std::string::npos) {
    proto = s.substr(slash + 1);
    s = s.substr(0, slash);
  }
  std::string ip, host, container;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return Bad(n, path, StrCat("invalid port \"", n.Scalar(), "\""));
    }
    ip = s.substr(1, close - 1);
    s = s.substr(close + 2);
    size_t c = s.find(':');
    if (c == std::string::npos) return Bad(n, path, StrCat("invalid port \"", n.Scalar(), "\""));
    host = s.substr(0, c);
    container = s.substr(c + 1);
  } else {
    std::vector<std::string> parts;
    size_t pos = 0;
    while (true) {
      size_t c = s.find(':', pos);
      parts.push_back(s.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
      if (c == std::string::npos) break;
      pos = c + 1;
    }
    if (parts.size() == 1) {
      container = parts[0];
    } else if (parts.size() == 2) {
      host = parts[0];
      container = parts[1];
    } else if (parts.size() == 3) {
      ip = parts[0];
      host = parts[1];
      container = parts[2];
    } else {
      return Bad(n, path, StrCat("invalid port \"", n.Scalar(), "\""));
    }
  }
  if (proto != "tcp" && proto != "udp" && proto != "sctp") return Bad(n, path, StrCat("invalid protocol \"", proto, "\""));
  uint32_t clo, chi, hlo = 0, hhi = 0;
  if (Status st = ParsePortNumber(container, &clo, &chi); !st.ok()) return Bad(n, path, std::string(st.message()));
  if (!host.empty()) {
    if (Status st = ParsePortNumber(host, &hlo, &hhi); !st.ok()) return Bad(n, path, std::string(st.message()));
    if (hhi - hlo != chi - clo && chi != clo) {
      return Bad(n, path, StrCat("port ranges of different lengths in \"", n.Scalar(), "\""));
    }
  }
  for (uint32_t t = clo; t <= chi; t++) {
    PortConfig p;
    p.host_ip = ip;
    p.target = t;
    p.published = host.empty() ? 0 : hlo + (t - clo);
    p.protocol = proto;
    out->push_back(p);
  }
  return Status();
}

Status Converter::Ports(const YAML::Node& n, const std::string& path, std::vector<PortConfig>* out) const {
  if (!n.IsSequence()) return Bad(n, path, "must be a list");
  for (size_t i = 0; i < n.size(); i++) {
    std::string p = StrCat(path, "[", i, "]");
    const YAML::Node& e = n[i];
    if (e.IsScalar()) {
      RETURN_IF_ERROR(ShortPort(e, p, out));
      continue;
    }
    if (!e.IsMap()) return Bad(e, p, "must be a string or a mapping");
    if (!e["target"]) return Bad(e, p, "target is required");
    PortConfig pc;
    ASSIGN_OR_RETURN(int64_t target, Int(e["target"], p + ".target"));
    if (target <= 0 || target > 65535) return Bad(e["target"], p + ".target", "must be a port number");
    pc.target = static_cast<uint32_t>(target);
    if (e["published"] && !e["published"].IsNull()) {
      ASSIGN_OR_RETURN(std::string pub, Str(e["published"], p + ".published"));
      uint32_t lo, hi;
      if (Status st = ParsePortNumber(pub, &lo, &hi); !st.ok()) return Bad(e["published"], p + ".published", std::string(st.message()));
      pc.published = lo;
    }
    if (e["host_ip"]) { ASSIGN_OR_RETURN(pc.host_ip, Str(e["host_ip"], p + ".host_ip")); }
    if (e["protocol"]) { ASSIGN_OR_RETURN(pc.protocol, Str(e["protocol"], p + ".protocol")); }
    if (pc.protocol != "tcp" && pc.protocol != "udp" && pc.protocol != "sctp") {
      return Bad(e["protocol"], p + ".protocol", StrCat("invalid protocol \"", pc.protocol, "\""));
    }
    out->push_back(pc);
  }
  return Status();
}

Status Converter::Volumes(const YAML::Node& n, const std::string& path, std::vector<ServiceVolume>* out) const {
  if (!n.IsSequence()) return Bad(n, path, "must be a list");
  for (size_t i = 0; i < n.size(); i++) {
    std::string p = StrCat(path, "[", i, "]");
    const YAML::Node& e = n[i];
    ServiceVolume v;
    if (e.IsScalar()) {
      std::string s = e.Scalar();
      std::vector<std::string> parts;
      size_t pos = 0;
      while (true) {
        size_t c = s.find(':', pos);
        parts.push_back(s.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
        if (c == std::string::npos) break;
        pos = c + 1;
      }
      if (parts.size() > 3 || parts[0].empty()) return Bad(e, p, StrCat("invalid volume \"", s, "\""));
      if (parts.size() == 1) {
        v.type = "volume";
        v.target = parts[0];
      } else {
        const std::string& src = parts[0];
        v.target = parts[1];
        bool path_like = src[0] == '/' || src[0] == '.' || src[0] == '~';
        v.type = path_like ? "bind" : "volume";
        v.source = path_like ? HostPath(src) : src;
        if (parts.size() == 3) {
          size_t opos = 0;
          while (opos <= parts[2].size()) {
            size_t c = parts[2].find(',', opos);
            if (c == std::string::npos) c = parts[2].size();
            std::string opt = parts[2].substr(opos, c - opos);
            if (opt == "ro") v.read_only = true;
            else if (opt == "rw") v.read_only = false;
            else if (opt == "nocopy" && v.type == "volume") v.nocopy = true;
            else if (opt == "z" || opt == "Z" || opt == "cached" || opt == "delegated" || opt == "consistent") {
              // SELinux relabelling and macOS consistency hints have no meaning here; compose on
              // Linux ignores the latter too.
              if (opt == "z" || opt == "Z") return Bad(e, p, StrCat("volume option \"", opt, "\" (SELinux) not supported by berth compose"));
            } else {
              return Bad(e, p, StrCat("unknown volume option \"", opt, "\""));
            }
            opos = c + 1;
          }
        }
      }
    } else if (e.IsMap()) {
      if (!e["type"]) return Bad(e, p, "type is required");
      ASSIGN_OR_RETURN(v.type, Str(e["type"], p + ".type"));
      if (v.type != "bind" && v.type != "volume" && v.type != "tmpfs") {
        return Bad(e["type"], p + ".type", StrCat("volume type \"", v.type, "\" not supported by berth compose"));
      }
      if (!e["target"]) return Bad(e, p, "target is required");
      ASSIGN_OR_RETURN(v.target, Str(e["target"], p + ".target"));
      if (e["source"] && !e["source"].IsNull()) {
        ASSIGN_OR_RETURN(v.source, Str(e["source"], p + ".source"));
        if (v.type == "bind") v.source = HostPath(v.source);
        if (v.type == "tmpfs") return Bad(e["source"], p + ".source", "a tmpfs has no source");
      }
      if (v.type == "bind" && v.source.empty()) return Bad(e, p, "a bind mount needs a source");
      if (e["read_only"]) { ASSIGN_OR_RETURN(v.read_only, Bool(e["read_only"], p + ".read_only")); }
      if (auto b = e["bind"]; b && b.IsMap()) {
        if (b["create_host_path"]) { ASSIGN_OR_RETURN(v.create_host_path, Bool(b["create_host_path"], p + ".bind.create_host_path")); }
        if (b["propagation"]) {
          ASSIGN_OR_RETURN(std::string prop, Str(b["propagation"], p + ".bind.propagation"));
          if (prop != "rprivate" && prop != "private") {
            return Bad(b["propagation"], p + ".bind.propagation", StrCat("propagation \"", prop, "\" not supported by berth compose"));
          }
        }
      }
      if (auto vv = e["volume"]; vv && vv.IsMap() && vv["nocopy"]) {
        ASSIGN_OR_RETURN(v.nocopy, Bool(vv["nocopy"], p + ".volume.nocopy"));
      }
      if (auto t = e["tmpfs"]; t && t.IsMap() && t["size"]) {
        ASSIGN_OR_RETURN(int64_t size, Bytes(t["size"], p + ".tmpfs.size"));
        v.tmpfs_size = static_cast<uint64_t>(size);
      }
    } else {
      return Bad(e, p, "must be a string or a mapping");
    }
    if (v.target.empty() || v.target[0] != '/') return Bad(e, p, StrCat("target \"", v.target, "\" must be an absolute path"));
    if (v.type == "volume" && !v.source.empty() && !declared_volumes_.count(v.source)) {
      return Bad(e, p, StrCat("refers to undefined volume ", v.source));
    }
    // A later file's mount on the same target replaces the earlier one.
    bool replaced = false;
    for (auto& existing : *out) {
      if (existing.target == v.target) {
        existing = v;
        replaced = true;
      }
    }
    if (!replaced) out->push_back(v);
  }
  return Status();
}

Status Converter::Healthcheck(const YAML::Node& n, const std::string& path, compose::Healthcheck* h) const {
  if (auto t = n["test"]) {
    if (t.IsScalar()) {
      h->test = {"CMD-SHELL", t.Scalar()};
    } else {
      ASSIGN_OR_RETURN(h->test, StrList(t, path + ".test"));
      if (h->test.empty() || (h->test[0] != "CMD" && h->test[0] != "CMD-SHELL" && h->test[0] != "NONE")) {
        return Bad(t, path + ".test", "must start with CMD, CMD-SHELL or NONE");
      }
      if (h->test[0] == "NONE") h->disable = true;
    }
  }
  if (n["interval"]) { ASSIGN_OR_RETURN(h->interval_ns, Duration(n["interval"], path + ".interval")); }
  if (n["timeout"]) { ASSIGN_OR_RETURN(h->timeout_ns, Duration(n["timeout"], path + ".timeout")); }
  if (n["start_period"]) { ASSIGN_OR_RETURN(h->start_period_ns, Duration(n["start_period"], path + ".start_period")); }
  if (n["retries"]) {
    ASSIGN_OR_RETURN(int64_t r, Int(n["retries"], path + ".retries"));
    h->retries = static_cast<int>(r);
  }
  if (n["disable"]) {
    ASSIGN_OR_RETURN(bool d, Bool(n["disable"], path + ".disable"));
    h->disable = h->disable || d;
  }
  if (!h->disable && h->test.empty()) return Bad(n, path, "test is required");
  return Status();
}

Status Converter::Deploy(const YAML::Node& n, const std::string& path, compose::Service* s) const {
  if (n.IsNull()) return Status();
  if (n["replicas"]) {
    ASSIGN_OR_RETURN(int64_t r, Int(n["replicas"], path + ".replicas"));
    if (r < 0) return Bad(n["replicas"], path + ".replicas", "must not be negative");
    s->replicas = static_cast<int>(r);
  }
  const YAML::Node res = n["resources"] && n["resources"].IsMap() ? n["resources"] : YAML::Node(YAML::NodeType::Map);
  if (auto l = res["limits"]; l && l.IsMap()) {
    std::string lp = path + ".resources.limits";
    if (l["memory"]) { ASSIGN_OR_RETURN(s->mem_limit, Bytes(l["memory"], lp + ".memory")); }
    if (l["cpus"]) {
      ASSIGN_OR_RETURN(std::string c, Str(l["cpus"], lp + ".cpus"));
      char* end = nullptr;
      s->cpus = std::strtod(c.c_str(), &end);
      if (c.empty() || *end != '\0' || s->cpus < 0) return Bad(l["cpus"], lp + ".cpus", "must be a number of CPUs");
    }
    if (l["pids"]) { ASSIGN_OR_RETURN(s->pids_limit, Int(l["pids"], lp + ".pids")); }
  }
  return Status();
}

Status Converter::Service(const std::string& name, const YAML::Node& n, compose::Service* s) {
  std::string path = "services." + name;
  s->name = name;
  if (n.IsNull()) return Bad(n, path, "image is required");
  if (!n["image"]) return Bad(n, path, "image is required (berth compose does not build images)");
  ASSIGN_OR_RETURN(s->image, Str(n["image"], path + ".image"));
  if (n["container_name"]) { ASSIGN_OR_RETURN(s->container_name, Str(n["container_name"], path + ".container_name")); }
  for (const char* key : {"command", "entrypoint"}) {
    YAML::Node c = n[key];
    if (!c || c.IsNull()) continue;
    std::vector<std::string> words;
    if (c.IsScalar()) {
      auto w = SplitCommand(c.Scalar());
      if (!w.ok()) return Bad(c, path + "." + key, std::string(w.status().message()));
      words = *std::move(w);
    } else {
      ASSIGN_OR_RETURN(words, StrList(c, path + "." + key));
    }
    (std::string(key) == "command" ? s->command : s->entrypoint) = std::move(words);
  }
  // env_file first, environment over it.
  if (auto ef = n["env_file"]) {
    std::vector<std::pair<std::string, bool>> files;  // path, required
    if (ef.IsScalar()) {
      files.emplace_back(ef.Scalar(), true);
    } else if (ef.IsSequence()) {
      for (size_t i = 0; i < ef.size(); i++) {
        std::string ep = StrCat(path, ".env_file[", i, "]");
        if (ef[i].IsMap()) {
          ASSIGN_OR_RETURN(std::string f, Str(ef[i]["path"], ep + ".path"));
          bool required = true;
          if (ef[i]["required"]) { ASSIGN_OR_RETURN(required, Bool(ef[i]["required"], ep + ".required")); }
          files.emplace_back(f, required);
        } else {
          ASSIGN_OR_RETURN(std::string f, Str(ef[i], ep));
          files.emplace_back(f, true);
        }
      }
    } else {
      return Bad(ef, path + ".env_file", "must be a string or a list");
    }
    for (auto& [f, required] : files) {
      std::string abs = HostPath(f);
      auto text = ReadFile(abs);
      if (!text.ok()) {
        if (absl::IsNotFound(text.status()) && !required) continue;
        if (absl::IsNotFound(text.status())) {
          return absl::NotFoundError(StrCat(Where(file_, ef), ": ", path, ".env_file: ", abs, " not found"));
        }
        return Annotate(text.status(), abs);
      }
      auto kv = ParseDotEnv(*text, ctx_.env);
      if (!kv.ok()) return Annotate(kv.status(), abs);
      for (auto& [k, v] : *kv) s->environment[k] = v;
      s->env_file.push_back(abs);
    }
  }
  if (auto e = n["environment"]) {
    ASSIGN_OR_RETURN(auto env, KeyValues(e, path + ".environment", true));
    for (auto& [k, v] : env) s->environment[k] = v;
  }
  if (auto p = n["ports"]) RETURN_IF_ERROR(Ports(p, path + ".ports", &s->ports));
  if (auto e = n["expose"]) { ASSIGN_OR_RETURN(s->expose, StrList(e, path + ".expose")); }
  if (auto v = n["volumes"]) RETURN_IF_ERROR(Volumes(v, path + ".volumes", &s->volumes));
  if (auto nm = n["network_mode"]) {
    ASSIGN_OR_RETURN(s->network_mode, Str(nm, path + ".network_mode"));
    const std::string& m = s->network_mode;
    if (m != "host" && m != "none" && m != "bridge" && m.rfind("service:", 0) != 0) {
      return Bad(nm, path + ".network_mode", StrCat("network_mode \"", m, "\" not supported by berth compose"));
    }
    if (m == "bridge") s->network_mode.clear();
    if (n["networks"]) return Bad(nm, path, "network_mode and networks cannot both be set");
  }
  if (auto nw = n["networks"]) {
    if (nw.IsSequence()) {
      ASSIGN_OR_RETURN(auto names, StrList(nw, path + ".networks"));
      for (auto& x : names) s->networks[x] = ServiceNetwork{};
    } else if (nw.IsMap()) {
      for (const auto& kv : nw) {
        std::string k = kv.first.as<std::string>();
        ServiceNetwork sn;
        if (kv.second.IsMap()) {
          if (kv.second["aliases"]) { ASSIGN_OR_RETURN(sn.aliases, StrList(kv.second["aliases"], path + ".networks." + k + ".aliases")); }
          if (kv.second["ipv4_address"]) { ASSIGN_OR_RETURN(sn.ipv4_address, Str(kv.second["ipv4_address"], path + ".networks." + k + ".ipv4_address")); }
        }
        s->networks[k] = sn;
      }
    } else {
      return Bad(nw, path + ".networks", "must be a list or a mapping");
    }
    for (const auto& [k, _] : s->networks) {
      if (k != "default" && !declared_networks_.count(k)) return Bad(nw, path + ".networks", StrCat("refers to undefined network ", k));
    }
  }
  if (s->network_mode.empty() && s->networks.empty()) s->networks["default"] = ServiceNetwork{};
  if (auto d = n["depends_on"]) {
    if (d.IsSequence()) {
      ASSIGN_OR_RETURN(auto names, StrList(d, path + ".depends_on"));
      for (auto& x : names) s->depends_on[x] = DependsOn{};
    } else if (d.IsMap()) {
      for (const auto& kv : d) {
        std::string k = kv.first.as<std::string>();
        std::string dp = path + ".depends_on." + k;
        DependsOn dep;
        if (kv.second.IsMap()) {
          if (kv.second["condition"]) { ASSIGN_OR_RETURN(dep.condition, Str(kv.second["condition"], dp + ".condition")); }
          if (dep.condition != "service_started" && dep.condition != "service_healthy" &&
              dep.condition != "service_completed_successfully") {
            return Bad(kv.second["condition"], dp + ".condition", StrCat("unknown condition \"", dep.condition, "\""));
          }
          if (kv.second["restart"]) { ASSIGN_OR_RETURN(dep.restart, Bool(kv.second["restart"], dp + ".restart")); }
          if (kv.second["required"]) { ASSIGN_OR_RETURN(dep.required, Bool(kv.second["required"], dp + ".required")); }
        }
        s->depends_on[k] = dep;
      }
    } else {
      return Bad(d, path + ".depends_on", "must be a list or a mapping");
    }
  }
  if (auto h = n["healthcheck"]; h && !h.IsNull()) {
    compose::Healthcheck hc;
    RETURN_IF_ERROR(Healthcheck(h, path + ".healthcheck", &hc));
    s->healthcheck = hc;
  }
  if (auto r = n["restart"]) {
    ASSIGN_OR_RETURN(s->restart, Str(r, path + ".restart"));
    const std::string& v = s->restart;
    bool ok = v == "no" || v == "always" || v == "unless-stopped" || v == "on-failure";
    if (v.rfind("on-failure:", 0) == 0) {
      std::string count = v.substr(11);
      ok = !count.empty() && count.find_first_not_of("0123456789") == std::string::npos;
    }
    if (!ok) return Bad(r, path + ".restart", StrCat("invalid restart policy \"", v, "\""));
  }
  if (auto l = n["labels"]) { ASSIGN_OR_RETURN(s->labels, KeyValues(l, path + ".labels", false)); }
  if (auto x = n["sysctls"]) { ASSIGN_OR_RETURN(s->sysctls, KeyValues(x, path + ".sysctls", false)); }
  for (auto [key, field] : std::initializer_list<std::pair<const char*, std::string*>>{
           {"working_dir", &s->working_dir}, {"user", &s->user}, {"hostname", &s->hostname},
           {"domainname", &s->domainname}, {"stop_signal", &s->stop_signal}, {"pull_policy", &s->pull_policy}}) {
    if (n[key]) { ASSIGN_OR_RETURN(*field, Str(n[key], path + "." + key)); }
  }
  if (!s->pull_policy.empty() && s->pull_policy != "always" && s->pull_policy != "missing" &&
      s->pull_policy != "never" && s->pull_policy != "if_not_present") {
    return Bad(n["pull_policy"], path + ".pull_policy", StrCat("pull_policy \"", s->pull_policy, "\" not supported by berth compose"));
  }
  if (s->pull_policy == "if_not_present") s->pull_policy = "missing";
  for (auto [key, field] : std::initializer_list<std::pair<const char*, std::vector<std::string>*>>{
           {"tmpfs", &s->tmpfs}, {"dns", &s->dns}, {"cap_add", &s->cap_add}, {"cap_drop", &s->cap_drop},
           {"profiles", &s->profiles}, {"security_opt", &s->security_opt}}) {
    if (n[key]) { ASSIGN_OR_RETURN(*field, StrList(n[key], path + "." + key)); }
  }
  if (auto eh = n["extra_hosts"]) {
    ASSIGN_OR_RETURN(auto hosts, StrList(eh, path + ".extra_hosts"));
    for (auto& h : hosts) {
      size_t sep = h.find_first_of("=:");
      if (sep == std::string::npos || sep == 0) return Bad(eh, path + ".extra_hosts", StrCat("invalid host entry \"", h, "\""));
      s->extra_hosts.push_back(h.substr(0, sep) + ":" + h.substr(sep + 1));
    }
  }
  for (auto [key, field] : std::initializer_list<std::pair<const char*, bool*>>{
           {"privileged", &s->privileged}, {"read_only", &s->read_only}, {"tty", &s->tty},
           {"stdin_open", &s->stdin_open}}) {
    if (n[key]) { ASSIGN_OR_RETURN(*field, Bool(n[key], path + "." + key)); }
  }
  if (n["init"]) {
    ASSIGN_OR_RETURN(bool b, Bool(n["init"], path + ".init"));
    s->init = b;
  }
  if (n["stop_grace_period"]) {
    ASSIGN_OR_RETURN(int64_t d, Duration(n["stop_grace_period"], path + ".stop_grace_period"));
    s->stop_grace_period_ns = d;
  }
  if (n["shm_size"]) { ASSIGN_OR_RETURN(s->shm_size, Bytes(n["shm_size"], path + ".shm_size")); }
  if (n["mem_limit"]) { ASSIGN_OR_RETURN(s->mem_limit, Bytes(n["mem_limit"], path + ".mem_limit")); }
  if (n["pids_limit"]) { ASSIGN_OR_RETURN(s->pids_limit, Int(n["pids_limit"], path + ".pids_limit")); }
  if (n["cpus"]) {
    ASSIGN_OR_RETURN(std::string c, Str(n["cpus"], path + ".cpus"));
    char* end = nullptr;
    s->cpus = std::strtod(c.c_str(), &end);
    if (c.empty() || *end != '\0' || s->cpus < 0) return Bad(n["cpus"], path + ".cpus", "must be a number of CPUs");
  }
  if (n["scale"]) {
    ASSIGN_OR_RETURN(int64_t r, Int(n["scale"], path + ".scale"));
    s->replicas = static_cast<int>(r);
  }
  if (auto d = n["deploy"]) RETURN_IF_ERROR(Deploy(d, path + ".deploy", s));
  if (auto u = n["ulimits"]) {
    if (!u.IsMap()) return Bad(u, path + ".ulimits", "must be a mapping");
    for (const auto& kv : u) {
      std::string k = kv.first.as<std::string>();
      Ulimit ul;
      if (kv.second.IsMap()) {
        ASSIGN_OR_RETURN(ul.soft, Int(kv.second["soft"], path + ".ulimits." + k + ".soft"));
        ASSIGN_OR_RETURN(ul.hard, Int(kv.second["hard"], path + ".ulimits." + k + ".hard"));
      } else {
        ASSIGN_OR_RETURN(ul.soft, Int(kv.second, path + ".ulimits." + k));
        ul.hard = ul.soft;
      }
      s->ulimits[k] = ul;
    }
  }
  if (!s->container_name.empty() && s->replicas > 1) {
    return Bad(n["container_name"], path, "container_name cannot be set with more than one replica");
  }
  return Status();
}

Status Converter::Common(const YAML::Node& v, const std::string& path, bool* external, std::string* name,
                         std::string* driver, std::map<std::string, std::string>* labels) const {
  if (v["external"]) {
    if (v["external"].IsMap()) {
      *external = true;
      ASSIGN_OR_RETURN(*name, Str(v["external"]["name"], path + ".external.name"));
    } else {
      ASSIGN_OR_RETURN(*external, Bool(v["external"], path + ".external"));
    }
  }
  if (v["name"]) { ASSIGN_OR_RETURN(*name, Str(v["name"], path + ".name")); }
  if (v["driver"]) { ASSIGN_OR_RETURN(*driver, Str(v["driver"], path + ".driver")); }
  if (v["labels"]) { ASSIGN_OR_RETURN(*labels, KeyValues(v["labels"], path + ".labels", false)); }
  return Status();
}

Status Converter::TopNetworks(const YAML::Node& n, Project* p) const {
  if (!n || n.IsNull()) return Status();
  for (const auto& kv : n) {
    std::string k = kv.first.as<std::string>();
    std::string path = "networks." + k;
    Network net;
    const YAML::Node& v = kv.second;
    if (v.IsMap()) {
      RETURN_IF_ERROR(Common(v, path, &net.external, &net.name, &net.driver, &net.labels));
      if (!net.driver.empty() && net.driver != "bridge") {
        return Bad(v["driver"], path + ".driver", StrCat("network driver \"", net.driver, "\" not supported by berth compose"));
      }
      if (v["internal"]) { ASSIGN_OR_RETURN(net.internal, Bool(v["internal"], path + ".internal")); }
      const YAML::Node ipam = v["ipam"] && v["ipam"].IsMap() ? v["ipam"] : YAML::Node(YAML::NodeType::Map);
      if (auto c = ipam["config"]; c && c.IsSequence()) {
        for (size_t i = 0; i < c.size(); i++) {
          std::string cp = StrCat(path, ".ipam.config[", i, "]");
          std::string subnet, gateway;
          if (c[i]["subnet"]) { ASSIGN_OR_RETURN(subnet, Str(c[i]["subnet"], cp + ".subnet")); }
          if (c[i]["gateway"]) { ASSIGN_OR_RETURN(gateway, Str(c[i]["gateway"], cp + ".gateway")); }
          net.subnets.push_back(subnet);
          net.gateways.push_back(gateway);
        }
      }
      if (auto d = ipam["driver"]) {
        ASSIGN_OR_RETURN(std::string drv, Str(d, path + ".ipam.driver"));
        if (drv != "default") return Bad(d, path + ".ipam.driver", StrCat("IPAM driver \"", drv, "\" not supported by berth compose"));
      }
    } else if (!v.IsNull()) {
      return Bad(v, path, "must be a mapping");
    }
    if (net.name.empty()) net.name = net.external ? k : StrCat(p->name, "_", k);
    p->networks[k] = net;
  }
  return Status();
}

Status Converter::TopVolumes(const YAML::Node& n, Project* p) const {
  if (!n || n.IsNull()) return Status();
  for (const auto& kv : n) {
    std::string k = kv.first.as<std::string>();
    std::string path = "volumes." + k;
    Volume vol;
    const YAML::Node& v = kv.second;
    if (v.IsMap()) {
      RETURN_IF_ERROR(Common(v, path, &vol.external, &vol.name, &vol.driver, &vol.labels));
      if (!vol.driver.empty() && vol.driver != "local") {
        return Bad(v["driver"], path + ".driver", StrCat("volume driver \"", vol.driver, "\" not supported by berth compose"));
      }
    } else if (!v.IsNull()) {
      return Bad(v, path, "must be a mapping");
    }
    if (vol.name.empty()) vol.name = vol.external ? k : StrCat(p->name, "_", k);
    p->volumes[k] = vol;
  }
  return Status();
}

StatusOr<Project> Converter::Run(const YAML::Node& doc) {
  Project p;
  p.files = ctx_.files;
  p.working_dir = ctx_.dir;
  std::string name = ctx_.options.project_name;
  if (name.empty()) name = ctx_.env("COMPOSE_PROJECT_NAME").value_or("");
  if (name.empty() && doc["name"]) { ASSIGN_OR_RETURN(name, Str(doc["name"], "name")); }
  if (name.empty()) name = BaseName(ctx_.dir);
  p.name = NormaliseProjectName(name);
  if (p.name.empty()) {
    return absl::InvalidArgumentError(StrCat("project name \"", name, "\" has no usable characters (a-z, 0-9, _ and -); set one with -p"));
  }
  if (auto v = doc["volumes"]; v && v.IsMap()) {
    for (const auto& kv : v) declared_volumes_.insert(kv.first.as<std::string>());
  }
  if (auto n = doc["networks"]; n && n.IsMap()) {
    for (const auto& kv : n) declared_networks_.insert(kv.first.as<std::string>());
  }
  RETURN_IF_ERROR(TopNetworks(doc["networks"], &p));
  RETURN_IF_ERROR(TopVolumes(doc["volumes"], &p));

  std::vector<std::string> active = ctx_.options.profiles;
  if (active.empty()) {
    std::string cp = ctx_.env("COMPOSE_PROFILES").value_or("");
    size_t pos = 0;
    while (pos < cp.size()) {
      size_t c = cp.find(',', pos);
      if (c == std::string::npos) c = cp.size();
      if (c > pos) active.push_back(cp.substr(pos, c - pos));
      pos = c + 1;
    }
  }
  auto enabled = [&](const compose::Service& s) {
    if (s.profiles.empty()) return true;
    for (const auto& pr : s.profiles) {
      for (const auto& a : active) {
        if (a == pr || a == "*") return true;
      }
    }
    return false;
  };
  YAML::Node services = doc["services"];
  if (!services || !services.IsMap() || services.size() == 0) {
    return absl::InvalidArgumentError(StrCat(file_, ": no services defined"));
  }
  for (const auto& kv : services) {
    std::string sname = kv.first.as<std::string>();
    compose::Service s;
    RETURN_IF_ERROR(Service(sname, kv.second, &s));
    if (!enabled(s)) {
      p.disabled_services.push_back(sname);
      continue;
    }
    p.services[sname] = std::move(s);
  }
  for (auto& [sname, s] : p.services) {
    for (const auto& [dep, d] : s.depends_on) {
      if (p.services.count(dep)) continue;
      bool disabled = std::find(p.disabled_services.begin(), p.disabled_services.end(), dep) != p.disabled_services.end();
      if (!d.required && disabled) continue;
      return Bad(services[sname]["depends_on"], StrCat("services.", sname, ".depends_on"),
                 disabled ? StrCat("service ", dep, " is disabled by profiles") : StrCat("refers to undefined service ", dep));
    }
    if (s.network_mode.rfind("service:", 0) == 0 && !p.services.count(s.network_mode.substr(8))) {
      return Bad(services[sname]["network_mode"], StrCat("services.", sname, ".network_mode"),
                 StrCat("refers to undefined service ", s.network_mode.substr(8)));
    }
    if (s.networks.count("default") && !p.networks.count("default")) {
      Network def;
      def.name = p.name + "_default";
      p.networks["default"] = def;
    }
  }
  // depends_on cycles make `up` impossible.
  std::map<std::string, int> state;  // 1: visiting, 2: done
  std::function<Status(const std::string&)> visit = [&](const std::string& s) -> Status {
    if (state[s] == 2) return Status();
    if (state[s] == 1) return absl::InvalidArgumentError(StrCat("dependency cycle through service ", s));
    state[s] = 1;
    for (const auto& [dep, _] : p.services[s].depends_on) {
      if (p.services.count(dep)) RETURN_IF_ERROR(visit(dep));
    }
    state[s] = 2;
    return Status();
  };
  for (const auto& [sname, _] : p.services) RETURN_IF_ERROR(visit(sname));
  return p;
}

}  // namespace

StatusOr<Project> Convert(const YAML::Node& doc, const ConvertContext& ctx) {
  try {
    return Converter(ctx).Run(doc);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat(ctx.files.front(), ": ", e.what()));
  }
}

}  // namespace berth::compose::internal
