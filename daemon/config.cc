// Parsing of berthd's TOML configuration (see config.h for the rules).
#include "daemon/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <vector>

#include "common/fs.h"
#include "common/log.h"
#include "daemon/restart_monitor.h"

namespace berth::daemon {
namespace {

using Keys = std::vector<std::string_view>;
using Severity = ConfigNote::Severity;

bool Contains(const Keys& keys, std::string_view k) {
  for (std::string_view x : keys) {
    if (x == k) return true;
  }
  return false;
}

// A key as written in a dotted path: bare when it can be, quoted otherwise.
std::string KeyText(std::string_view k) {
  bool bare = !k.empty();
  for (char c : k) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) bare = false;
  }
  return bare ? std::string(k) : StrCat("\"", k, "\"");
}

// The plugins berthd knows by containerd's ids: what it does with each section.
enum class PluginKind { kIgnored, kCri, kLinuxV1, kRestart, kDiff };
struct PluginSpec {
  std::string_view id;
  std::string_view short_id;  // the version 1 name
  PluginKind kind;
  Keys keys;  // the plugin's keys (for kIgnored: all accepted, none used)
};

const PluginSpec kPlugins[] = {
    {"io.containerd.grpc.v1.cri", "cri", PluginKind::kCri, {}},
    {"io.containerd.runtime.v1.linux", "linux", PluginKind::kLinuxV1, {}},
    {"io.containerd.internal.v1.restart", "restart", PluginKind::kRestart, {}},
    {"io.containerd.monitor.v1.restart", "", PluginKind::kRestart, {}},
    {"io.containerd.gc.v1.scheduler", "scheduler", PluginKind::kIgnored,
     {"deletion_threshold", "mutation_threshold", "pause_threshold", "schedule_delay", "startup_delay"}},
    {"io.containerd.internal.v1.opt", "opt", PluginKind::kIgnored, {"path"}},
    {"io.containerd.metadata.v1.bolt", "bolt", PluginKind::kIgnored, {"content_sharing_policy"}},
    {"io.containerd.monitor.v1.cgroups", "cgroups", PluginKind::kIgnored, {"no_prometheus"}},
    {"io.containerd.runtime.v2.task", "task", PluginKind::kIgnored, {"platforms", "sched_core"}},
    {"io.containerd.service.v1.diff-service", "diff-service", PluginKind::kDiff, {"default"}},
    {"io.containerd.service.v1.tasks-service", "tasks-service", PluginKind::kIgnored, {"rdt_config_file"}},
    {"io.containerd.snapshotter.v1.overlayfs", "overlayfs", PluginKind::kIgnored,
     {"root_path", "upperdir_label", "sync_remove", "slow_chown", "mount_options"}},
    {"io.containerd.snapshotter.v1.native", "native", PluginKind::kIgnored, {"root_path"}},
    {"io.containerd.snapshotter.v1.aufs", "aufs", PluginKind::kIgnored, {"root_path"}},
    {"io.containerd.snapshotter.v1.btrfs", "btrfs", PluginKind::kIgnored, {"root_path"}},
    {"io.containerd.snapshotter.v1.zfs", "zfs", PluginKind::kIgnored, {"root_path"}},
    {"io.containerd.snapshotter.v1.devmapper", "devmapper", PluginKind::kIgnored,
     {"root_path", "pool_name", "base_image_size", "async_remove", "discard_blocks", "fs_type", "fs_options"}},
    {"io.containerd.internal.v1.tracing", "tracing", PluginKind::kIgnored, {"sampling_ratio", "service_name"}},
    {"io.containerd.tracing.processor.v1.otlp", "otlp", PluginKind::kIgnored, {"endpoint", "protocol", "insecure"}},
};

const PluginSpec* FindPlugin(std::string_view name, int version) {
  for (const PluginSpec& p : kPlugins) {
    if (version >= 2 ? p.id == name : (p.short_id == name && !p.short_id.empty())) return &p;
  }
  return nullptr;
}

class Parser {
 public:
  Parser(const std::string& source, std::vector<ConfigNote>* notes) : source_(source), notes_(notes) {}

  std::string At(const toml::source_region& r) const { return StrCat(source_, ":", r.begin.line); }

  void Note(Severity sev, const toml::source_region& r, std::string_view msg) {
    if (notes_ != nullptr) notes_->push_back({sev, StrCat(At(r), ": ", msg), static_cast<int>(r.begin.line)});
  }

  Status Error(const toml::node& n, std::string_view msg) const {
    return absl::InvalidArgumentError(StrCat(At(n.source()), ": ", msg));
  }

  // Notes every key of `t` not in `used`: those in `ignored` at debug level, the others as
  // unknown (a warning).
  void Rest(const toml::table& t, const std::string& prefix, const Keys& used, const Keys& ignored) {
    for (const auto& [k, v] : t) {
      std::string_view key = k.str();
      if (Contains(used, key)) continue;
      if (Contains(ignored, key)) {
        Note(Severity::kDebug, k.source(), StrCat("\"", prefix, KeyText(key), "\" is accepted but not used by berthd"));
      } else {
        Note(Severity::kWarn, k.source(), StrCat("unknown configuration key \"", prefix, KeyText(key), "\" (ignored)"));
      }
    }
  }

  template <typename T>
  Status Get(const toml::table& t, std::string_view key, const std::string& prefix, T* out) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return Status();
    std::optional<T> v;
    if constexpr (std::is_same_v<T, std::string>) {
      if (n->is_string()) v = n->value<std::string>();
    } else if constexpr (std::is_same_v<T, bool>) {
      if (n->is_boolean()) v = n->value<bool>();
    } else {
      if (n->is_integer()) v = n->value<T>();
    }
    if (!v) {
      return Error(*n, StrCat("\"", prefix, KeyText(key), "\" has the wrong type (",
                              toml::impl::node_type_friendly_names[static_cast<int>(n->type())], ")"));
    }
    *out = *v;
    return Status();
  }

  Status GetStrings(const toml::table& t, std::string_view key, const std::string& prefix,
                    std::vector<std::string>* out) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return Status();
    const toml::array* a = n->as_array();
    if (a == nullptr) return Error(*n, StrCat("\"", prefix, KeyText(key), "\" must be an array of strings"));
    out->clear();
    for (const toml::node& e : *a) {
      if (!e.is_string()) return Error(e, StrCat("\"", prefix, KeyText(key), "\" must be an array of strings"));
      out->push_back(*e.value<std::string>());
    }
    return Status();
  }

  Status GetTable(const toml::table& t, std::string_view key, const std::string& prefix, const toml::table** out) {
    *out = nullptr;
    const toml::node* n = t.get(key);
    if (n == nullptr) return Status();
    *out = n->as_table();
    if (*out == nullptr) return Error(*n, StrCat("\"", prefix, KeyText(key), "\" must be a table"));
    return Status();
  }

  Status Top(const toml::table& t, Config* cfg);

 private:
  Status Grpc(const toml::table& t, Config* cfg);
  Status Debug(const toml::table& t, Config* cfg);
  Status Runtimes(const toml::table& t, Config* cfg);
  Status Plugins(const toml::table& t, int version, Config* cfg);
  Status Cri(const toml::table& t, const std::string& prefix, Config* cfg);
  Status CriRuntimeTable(const toml::table& t, const std::string& prefix, CriRuntime* r);
  Status LinuxV1(const toml::table& t, const std::string& prefix, Config* cfg);
  Status Restart(const toml::table& t, const std::string& prefix, Config* cfg);
  Status DiffLimits(const toml::table& t, const std::string& prefix, Config* cfg);
  Status Options(const toml::table& t, const std::string& prefix, RuncOptions* o);
  Status Shim(const toml::table& t, std::string_view key, const std::string& prefix, std::string* out);

  const std::string& source_;
  std::vector<ConfigNote>* notes_;
};

Status Parser::Top(const toml::table& t, Config* cfg) {
  int64_t version = 1;
  RETURN_IF_ERROR(Get(t, "version", "", &version));
  if (version == 0) version = 1;  // containerd reads an absent or zero version as 1
  if (version != 1 && version != 2) {
    return Error(*t.get("version"), StrCat("unsupported config version ", version, " (berthd reads 1 and 2)"));
  }
  RETURN_IF_ERROR(Get(t, "root", "", &cfg->root));
  RETURN_IF_ERROR(Get(t, "state", "", &cfg->state));
  const toml::table* sub = nullptr;
  RETURN_IF_ERROR(GetTable(t, "grpc", "", &sub));
  if (sub) RETURN_IF_ERROR(Grpc(*sub, cfg));
  RETURN_IF_ERROR(GetTable(t, "ttrpc", "", &sub));
  if (sub) {
    RETURN_IF_ERROR(Get(*sub, "address", "ttrpc.", &cfg->ttrpc_address));
    Rest(*sub, "ttrpc.", {"address"}, {"uid", "gid"});
  }
  RETURN_IF_ERROR(GetTable(t, "debug", "", &sub));
  if (sub) RETURN_IF_ERROR(Debug(*sub, cfg));
  RETURN_IF_ERROR(GetTable(t, "cgroup", "", &sub));
  if (sub) {
    RETURN_IF_ERROR(Get(*sub, "path", "cgroup.", &cfg->cgroup_path));
    Rest(*sub, "cgroup.", {"path"}, {});
  }
  RETURN_IF_ERROR(GetTable(t, "runtimes", "", &sub));
  if (sub) RETURN_IF_ERROR(Runtimes(*sub, cfg));
  RETURN_IF_ERROR(GetTable(t, "plugins", "", &sub));
  if (sub) RETURN_IF_ERROR(Plugins(*sub, static_cast<int>(version), cfg));
  if (const toml::node* imports = t.get("imports")) {
    const toml::array* a = imports->as_array();
    if (a != nullptr && !a->empty()) {
      Note(Severity::kWarn, imports->source(), "\"imports\" is not supported by berthd: the files it names are not read");
    }
  }
  int64_t oom_score = cfg->oom_score;
  RETURN_IF_ERROR(Get(t, "oom_score", "", &oom_score));
  cfg->oom_score = static_cast<int>(oom_score);
  Rest(t, "", {"version", "root", "state", "grpc", "ttrpc", "debug", "cgroup", "runtimes", "plugins", "imports",
               "oom_score"},
       {"temp", "plugin_dir", "disabled_plugins", "required_plugins", "metrics", "proxy_plugins",
        "stream_processors", "timeouts"});
  return Status();
}

Status Parser::Grpc(const toml::table& t, Config* cfg) {
  RETURN_IF_ERROR(Get(t, "address", "grpc.", &cfg->grpc_address));
  int64_t gid = cfg->gid, recv = cfg->max_recv_message_size, send = cfg->max_send_message_size;
  int64_t streams = cfg->max_concurrent_streams;
  RETURN_IF_ERROR(Get(t, "gid", "grpc.", &gid));
  RETURN_IF_ERROR(Get(t, "max_concurrent_streams", "grpc.", &streams));
  RETURN_IF_ERROR(Get(t, "max_recv_message_size", "grpc.", &recv));
  RETURN_IF_ERROR(Get(t, "max_send_message_size", "grpc.", &send));
  // (Each check fails only for a value read from the file, so its key is there.)
  if (streams < 0 || streams > INT32_MAX)
    return Error(*t.get("max_concurrent_streams"), "\"grpc.max_concurrent_streams\" must be 0 to 2147483647");
  if (recv < 1 || recv > INT32_MAX)
    return Error(*t.get("max_recv_message_size"), "\"grpc.max_recv_message_size\" must be 1 to 2147483647");
  if (send < 1 || send > INT32_MAX)
    return Error(*t.get("max_send_message_size"), "\"grpc.max_send_message_size\" must be 1 to 2147483647");
  cfg->max_concurrent_streams = static_cast<int>(streams);
  cfg->gid = static_cast<int>(gid);
  cfg->max_recv_message_size = static_cast<int>(recv);
  cfg->max_send_message_size = static_cast<int>(send);
  Rest(t, "grpc.", {"address", "gid", "max_recv_message_size", "max_send_message_size", "max_concurrent_streams"},
       {"uid", "tcp_address", "tcp_tls_ca", "tcp_tls_cert", "tcp_tls_key"});
  return Status();
}

Status Parser::Debug(const toml::table& t, Config* cfg) {
  std::string level = cfg->log_level;
  RETURN_IF_ERROR(Get(t, "level", "debug.", &level));
  if (!level.empty()) {  // containerd's default file has level = ""
    log::Level l;
    if (!log::ParseLevel(level, &l)) return Error(*t.get("level"), StrCat("unknown log level \"", level, "\""));
    cfg->log_level = level;
  }
  Rest(t, "debug.", {"level"}, {"address", "format", "uid", "gid"});
  return Status();
}

// A shim binary: a bare name (looked up in PATH) or an absolute path; never relative.
Status Parser::Shim(const toml::table& t, std::string_view key, const std::string& prefix, std::string* out) {
  std::string v = *out;
  RETURN_IF_ERROR(Get(t, key, prefix, &v));
  if (v.find('/') != std::string::npos && v[0] != '/') {
    return Error(*t.get(key), StrCat("\"", prefix, KeyText(key), "\" = \"", v,
                                     "\": a shim is a binary name looked up in PATH or an absolute path"));
  }
  *out = v;
  return Status();
}

Status Parser::Options(const toml::table& t, const std::string& prefix, RuncOptions* o) {
  RETURN_IF_ERROR(Get(t, "BinaryName", prefix, &o->binary_name));
  RETURN_IF_ERROR(Get(t, "Root", prefix, &o->root));
  RETURN_IF_ERROR(Get(t, "SystemdCgroup", prefix, &o->systemd_cgroup));
  RETURN_IF_ERROR(Get(t, "NoPivotRoot", prefix, &o->no_pivot_root));
  RETURN_IF_ERROR(Get(t, "NoNewKeyring", prefix, &o->no_new_keyring));
  RETURN_IF_ERROR(Get(t, "ShimCgroup", prefix, &o->shim_cgroup));
  int64_t uid = o->io_uid, gid = o->io_gid;
  RETURN_IF_ERROR(Get(t, "IoUid", prefix, &uid));
  RETURN_IF_ERROR(Get(t, "IoGid", prefix, &gid));
  o->io_uid = static_cast<uint32_t>(uid);
  o->io_gid = static_cast<uint32_t>(gid);
  RETURN_IF_ERROR(Get(t, "CriuPath", prefix, &o->criu_path));
  RETURN_IF_ERROR(Get(t, "CriuImagePath", prefix, &o->criu_image_path));
  RETURN_IF_ERROR(Get(t, "CriuWorkPath", prefix, &o->criu_work_path));
  Rest(t, prefix,
       {"BinaryName", "Root", "SystemdCgroup", "NoPivotRoot", "NoNewKeyring", "ShimCgroup", "IoUid", "IoGid",
        "CriuPath", "CriuImagePath", "CriuWorkPath"},
       {});
  return Status();
}

Status Parser::Runtimes(const toml::table& t, Config* cfg) {
  for (const auto& [k, v] : t) {
    std::string name(k.str());
    std::string prefix = StrCat("runtimes.", KeyText(name), ".");
    const toml::table* rt = v.as_table();
    if (rt == nullptr) return Error(v, StrCat("\"runtimes.", KeyText(name), "\" must be a table"));
    RuntimeConfig& r = cfg->runtimes[name];
    RETURN_IF_ERROR(Shim(*rt, "shim", prefix, &r.shim));
    const toml::table* opts = nullptr;
    RETURN_IF_ERROR(GetTable(*rt, "options", prefix, &opts));
    if (opts) {
      RuncOptions o = r.options.value_or(RuncOptions{});
      RETURN_IF_ERROR(Options(*opts, prefix + "options.", &o));
      r.options = o;
    }
    Rest(*rt, prefix, {"shim", "options"}, {});
  }
  return Status();
}

Status Parser::Plugins(const toml::table& t, int version, Config* cfg) {
  for (const auto& [k, v] : t) {
    std::string_view name = k.str();
    std::string prefix = StrCat("plugins.", KeyText(name), ".");
    const PluginSpec* spec = FindPlugin(name, version);
    if (spec == nullptr) {
      std::string hint;
      if (version >= 2 && FindPlugin(name, 1) != nullptr) {
        hint = StrCat(" (version 2 files name plugins by their full id, e.g. \"", FindPlugin(name, 1)->id, "\")");
      } else if (version < 2 && FindPlugin(name, 2) != nullptr) {
        hint = " (full plugin ids need version = 2)";
      }
      Note(Severity::kWarn, k.source(), StrCat("unknown plugin \"", name, "\" (ignored)", hint));
      continue;
    }
    const toml::table* pt = v.as_table();
    if (pt == nullptr) return Error(v, StrCat("\"plugins.", KeyText(name), "\" must be a table"));
    switch (spec->kind) {
      case PluginKind::kCri: RETURN_IF_ERROR(Cri(*pt, prefix, cfg)); break;
      case PluginKind::kLinuxV1: RETURN_IF_ERROR(LinuxV1(*pt, prefix, cfg)); break;
      case PluginKind::kRestart: RETURN_IF_ERROR(Restart(*pt, prefix, cfg)); break;
      case PluginKind::kDiff: RETURN_IF_ERROR(DiffLimits(*pt, prefix, cfg)); break;
      case PluginKind::kIgnored: Rest(*pt, prefix, {}, spec->keys); break;
    }
  }
  return Status();
}

Status Parser::Restart(const toml::table& t, const std::string& prefix, Config* cfg) {
  std::string interval;
  RETURN_IF_ERROR(Get(t, "interval", prefix, &interval));
  if (!interval.empty()) {
    auto ms = ParseDurationMs(interval);
    if (!ms.ok()) return Error(*t.get("interval"), std::string(ms.status().message()));
    if (*ms <= 0) return Error(*t.get("interval"), StrCat("\"", prefix, "interval\" must be positive"));
    cfg->restart_monitor_interval_ms = *ms;
  }
  Rest(t, prefix, {"interval"}, {});
  return Status();
}

Status Parser::DiffLimits(const toml::table& t, const std::string& prefix, Config* cfg) {
  struct Limit {
    std::string_view key;
    int64_t* value;
    int64_t min;
  };
  const Limit limits[] = {{"max_layer_size", &cfg->max_layer_size, 1},
                          {"max_layer_entries", &cfg->max_layer_entries, 1},
                          {"max_layer_ratio", &cfg->max_layer_ratio, 0},
                          {"max_layer_ratio_floor", &cfg->max_layer_ratio_floor, 0},
                          {"max_concurrent_unpacks", &cfg->max_concurrent_unpacks, 0},
                          {"max_concurrent_pulls", &cfg->max_concurrent_pulls, 0}};
  for (const Limit& l : limits) {
    int64_t v = *l.value;
    RETURN_IF_ERROR(Get(t, l.key, prefix, &v));
    if (v < l.min) return Error(*t.get(l.key), StrCat("\"", prefix, l.key, "\" must be at least ", l.min));
    *l.value = v;
  }
  Rest(t, prefix,
       {"max_layer_size", "max_layer_entries", "max_layer_ratio", "max_layer_ratio_floor", "max_concurrent_unpacks",
        "max_concurrent_pulls"},
       {"default"});
  return Status();
}

Status Parser::LinuxV1(const toml::table& t, const std::string& prefix, Config* cfg) {
  RETURN_IF_ERROR(Get(t, "runtime", prefix, &cfg->linux_v1.runtime));
  RETURN_IF_ERROR(Get(t, "runtime_root", prefix, &cfg->linux_v1.runtime_root));
  if (t.contains("shim")) {
    std::string shim;
    RETURN_IF_ERROR(Shim(t, "shim", prefix, &shim));
    if (shim == "containerd-shim" || shim.ends_with("/containerd-shim")) {
      // containerd's default: its v1 shim speaks a protocol berthd does not drive.
      Note(Severity::kInfo, t.get("shim")->source(),
           StrCat("\"", prefix, "shim\" = \"", shim, "\" is a v1 shim; berthd runs this runtime with ",
                  cfg->runtimes[kRuntimeLinuxV1].shim.empty() ? kBerthShim : cfg->runtimes[kRuntimeLinuxV1].shim));
    } else if (!shim.empty()) {
      cfg->runtimes[kRuntimeLinuxV1].shim = shim;
    }
  }
  bool no_shim = false;
  RETURN_IF_ERROR(Get(t, "no_shim", prefix, &no_shim));
  if (no_shim) {
    Note(Severity::kWarn, t.get("no_shim")->source(),
         StrCat("\"", prefix, "no_shim\" = true is not supported: berthd always runs containers under a shim"));
  }
  Rest(t, prefix, {"runtime", "runtime_root", "shim", "no_shim"}, {"shim_debug"});
  return Status();
}

bool IsRuncType(std::string_view type) {
  return type == kRuntimeRuncV2 || type == kRuntimeRuncV1 || type == "io.containerd.berth.v2";
}

Status Parser::CriRuntimeTable(const toml::table& t, const std::string& prefix, CriRuntime* r) {
  RETURN_IF_ERROR(Get(t, "runtime_type", prefix, &r->runtime_type));
  RETURN_IF_ERROR(Shim(t, "runtime_path", prefix, &r->runtime_path));
  RETURN_IF_ERROR(Get(t, "runtime_root", prefix, &r->runtime_root));
  RETURN_IF_ERROR(Get(t, "privileged_without_host_devices", prefix, &r->privileged_without_host_devices));
  RETURN_IF_ERROR(GetStrings(t, "pod_annotations", prefix, &r->pod_annotations));
  RETURN_IF_ERROR(GetStrings(t, "container_annotations", prefix, &r->container_annotations));
  RETURN_IF_ERROR(Get(t, "base_runtime_spec", prefix, &r->base_runtime_spec));
  const toml::table* opts = nullptr;
  RETURN_IF_ERROR(GetTable(t, "options", prefix, &opts));
  if (opts != nullptr) {
    if (IsRuncType(r->runtime_type)) {
      RuncOptions o = r->options.value_or(RuncOptions{});
      RETURN_IF_ERROR(Options(*opts, prefix + "options.", &o));
      r->options = o;
    } else {
      Note(Severity::kDebug, t.get("options")->source(),
           StrCat("\"", prefix, "options\" of runtime type \"", r->runtime_type, "\" are not read by berthd"));
    }
  }
  Rest(t, prefix,
       {"runtime_type", "runtime_path", "runtime_root", "privileged_without_host_devices", "pod_annotations",
        "container_annotations", "base_runtime_spec", "options"},
       {"runtime_engine", "cni_conf_dir", "cni_max_conf_num", "snapshotter", "sandbox_mode",
        "privileged_without_host_devices_all_devices_allowed"});
  return Status();
}

Status Parser::Cri(const toml::table& t, const std::string& prefix, Config* cfg) {
  const toml::table* c = nullptr;
  RETURN_IF_ERROR(GetTable(t, "containerd", prefix, &c));
  if (c != nullptr) {
    std::string cp = prefix + "containerd.";
    RETURN_IF_ERROR(Get(*c, "default_runtime_name", cp, &cfg->cri.default_runtime_name));
    const toml::table* rts = nullptr;
    RETURN_IF_ERROR(GetTable(*c, "runtimes", cp, &rts));
    if (rts != nullptr) {
      for (const auto& [k, v] : *rts) {
        std::string handler(k.str());
        std::string rp = StrCat(cp, "runtimes.", KeyText(handler), ".");
        const toml::table* rt = v.as_table();
        if (rt == nullptr) return Error(v, StrCat("\"", rp.substr(0, rp.size() - 1), "\" must be a table"));
        RETURN_IF_ERROR(CriRuntimeTable(*rt, rp, &cfg->cri.runtimes[handler]));
      }
    }
    RETURN_IF_ERROR(Get(*c, "snapshotter", cp, &cfg->cri.snapshotter));
    Rest(*c, cp, {"default_runtime_name", "runtimes", "snapshotter"},
         {"no_pivot", "disable_snapshot_annotations", "discard_unpacked_layers",
          "ignore_rdt_not_enabled_errors", "default_runtime", "untrusted_workload_runtime"});
  }
  RETURN_IF_ERROR(Get(t, "sandbox_image", prefix, &cfg->cri.sandbox_image));
  RETURN_IF_ERROR(Get(t, "restrict_oom_score_adj", prefix, &cfg->cri.restrict_oom_score_adj));
  RETURN_IF_ERROR(Get(t, "max_container_log_line_size", prefix, &cfg->cri.max_container_log_line_size));
  RETURN_IF_ERROR(Get(t, "netns_mounts_under_state_dir", prefix, &cfg->cri.netns_mounts_under_state_dir));
  RETURN_IF_ERROR(Get(t, "max_concurrent_downloads", prefix, &cfg->max_concurrent_downloads));
  if (cfg->max_concurrent_downloads < 1)
    return Error(*t.get("max_concurrent_downloads"), StrCat("\"", prefix, "max_concurrent_downloads\" must be at least 1"));
  const toml::table* cni = nullptr;
  RETURN_IF_ERROR(GetTable(t, "cni", prefix, &cni));
  if (cni != nullptr) {
    std::string np = prefix + "cni.";
    RETURN_IF_ERROR(Get(*cni, "bin_dir", np, &cfg->cri.cni_bin_dir));
    RETURN_IF_ERROR(Get(*cni, "conf_dir", np, &cfg->cri.cni_conf_dir));
    RETURN_IF_ERROR(Get(*cni, "max_conf_num", np, &cfg->cri.cni_max_conf_num));
    Rest(*cni, np, {"bin_dir", "conf_dir", "max_conf_num"}, {"conf_template", "ip_pref"});
  }
  Rest(t, prefix,
       {"containerd", "cni", "sandbox_image", "restrict_oom_score_adj", "max_container_log_line_size",
        "netns_mounts_under_state_dir", "max_concurrent_downloads"},
       {"registry",
        "image_decryption",
        "x509_key_pair_streaming",
        "disable_tcp_service",
        "stream_server_address",
        "stream_server_port",
        "stream_idle_timeout",
        "enable_selinux",
        "selinux_category_range",
        "stats_collect_period",
        "systemd_cgroup",
        "enable_tls_streaming",
        "disable_cgroup",
        "disable_apparmor",
        "disable_proc_mount",
        "unset_seccomp_profile",
        "tolerate_missing_hugetlb_controller",
        "disable_hugetlb_controller",
        "device_ownership_from_security_context",
        "ignore_image_defined_volumes",
        "enable_unprivileged_ports",
        "enable_unprivileged_icmp",
        "enable_cdi",
        "cdi_spec_dirs",
        "image_pull_progress_timeout",
        "drain_exec_sync_io_timeout"});
  return Status();
}

}  // namespace

std::map<std::string, RuntimeConfig> Config::DefaultRuntimes() {
  return {
      {kRuntimeRuncV2, RuntimeConfig{kBerthShim, std::nullopt}},
      {kRuntimeRuncV1, RuntimeConfig{kBerthShim, std::nullopt}},
      {kRuntimeLinuxV1, RuntimeConfig{kBerthShim, std::nullopt}},
  };
}

std::map<std::string, std::string> Config::RuntimeShims() const {
  std::map<std::string, std::string> out;
  for (const auto& [name, r] : runtimes) {
    if (!r.shim.empty()) out[name] = r.shim;
  }
  return out;
}

Status ParseConfig(std::string_view text, const std::string& source, Config* cfg, std::vector<ConfigNote>* notes) {
  toml::table t;
  try {
    t = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        StrCat(source, ":", e.source().begin.line, ":", e.source().begin.column, ": ", e.description()));
  }
  std::vector<ConfigNote> found;
  Parser p(source, &found);
  Status s = p.Top(t, cfg);
  // Tables iterate in key order; report in the order of the file.
  std::stable_sort(found.begin(), found.end(), [](const ConfigNote& a, const ConfigNote& b) { return a.line < b.line; });
  if (notes != nullptr) notes->insert(notes->end(), found.begin(), found.end());
  return s;
}

Status LoadConfigFile(const std::string& path, Config* cfg, std::vector<ConfigNote>* notes) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseConfig(text, path, cfg, notes);
}

}  // namespace berth::daemon
