#include "daemon/config.h"

#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "common/fs.h"
#include "common/log.h"
#include "daemon/restart_monitor.h"

namespace berth::daemon {
namespace {

std::string Where(const std::string& source, const toml::source_region& r) {
  return StrCat(source, ":", r.begin.line);
}

Status CheckKeys(const toml::table& t, const std::set<std::string>& known, const std::string& prefix,
                 const std::string& source) {
  for (const auto& [k, v] : t) {
    std::string key(k.str());
    if (!known.count(key)) {
      return absl::InvalidArgumentError(
          StrCat(Where(source, v.source()), ": unknown configuration key \"", prefix, key, "\""));
    }
  }
  return Status();
}

template <typename T>
Status Get(const toml::table& t, const char* key, const std::string& prefix, const std::string& source, T* out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status();
  auto v = n->value<T>();
  if (!v) {
    return absl::InvalidArgumentError(StrCat(Where(source, n->source()), ": \"", prefix, key,
                                                   "\" has the wrong type (", std::string(toml::impl::node_type_friendly_names[static_cast<int>(n->type())]), ")"));
  }
  *out = *v;
  return Status();
}

Status GetTable(const toml::table& t, const char* key, const std::string& source, const toml::table** out) {
  *out = nullptr;
  const toml::node* n = t.get(key);
  if (n == nullptr) return Status();
  *out = n->as_table();
  if (*out == nullptr)
    return absl::InvalidArgumentError(StrCat(Where(source, n->source()), ": \"", key, "\" must be a table"));
  return Status();
}

// The restart monitor's section: `interval`, a Go duration. containerd 1.6 names the plugin
// io.containerd.internal.v1.restart; io.containerd.monitor.v1.restart is accepted as well.
Status ParseRestartPlugin(const toml::table& plugins, const std::string& source, Config* cfg) {
  for (const char* name : {"io.containerd.internal.v1.restart", "io.containerd.monitor.v1.restart"}) {
    const toml::table* section = nullptr;
    RETURN_IF_ERROR(GetTable(plugins, name, source, &section));
    const toml::node* n = section != nullptr ? section->get("interval") : nullptr;
    if (n == nullptr) continue;
    std::string text;
    RETURN_IF_ERROR(Get(*section, "interval", StrCat("plugins.\"", name, "\"."), source, &text));
    auto d = ParseGoDuration(text);
    if (!d.ok()) return absl::InvalidArgumentError(StrCat(Where(source, n->source()), ": ", d.status().message()));
    cfg->restart_interval = *d;
  }
  return Status();
}

}  // namespace

Status ParseConfig(std::string_view text, const std::string& source, Config* cfg) {
  toml::table t;
  try {
    t = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        StrCat(source, ":", e.source().begin.line, ":", e.source().begin.column, ": ", e.description()));
  }
  // "version", "plugins", "disabled_plugins" are accepted so containerd-style files load, but
  // berthd has nothing to configure in them yet.
  RETURN_IF_ERROR(CheckKeys(t, {"version", "root", "state", "grpc", "ttrpc", "debug", "plugins", "oom_score",
                                "disabled_plugins", "cgroup"},
                            "", source));
  RETURN_IF_ERROR(Get(t, "root", "", source, &cfg->root));
  RETURN_IF_ERROR(Get(t, "state", "", source, &cfg->state));
  int64_t oom_score = cfg->oom_score;
  RETURN_IF_ERROR(Get(t, "oom_score", "", source, &oom_score));
  cfg->oom_score = static_cast<int>(oom_score);
  const toml::table* cgroup = nullptr;
  RETURN_IF_ERROR(GetTable(t, "cgroup", source, &cgroup));
  if (cgroup != nullptr) {
    RETURN_IF_ERROR(CheckKeys(*cgroup, {"path"}, "cgroup.", source));
    RETURN_IF_ERROR(Get(*cgroup, "path", "cgroup.", source, &cfg->cgroup_path));
  }
  const toml::table* grpc = nullptr;
  RETURN_IF_ERROR(GetTable(t, "grpc", source, &grpc));
  if (grpc != nullptr) {
    RETURN_IF_ERROR(CheckKeys(*grpc, {"address", "gid", "uid", "max_recv_message_size", "max_send_message_size"},
                              "grpc.", source));
    RETURN_IF_ERROR(Get(*grpc, "address", "grpc.", source, &cfg->grpc_address));
    int64_t gid = cfg->gid, recv = cfg->max_recv_message_size, send = cfg->max_send_message_size;
    RETURN_IF_ERROR(Get(*grpc, "gid", "grpc.", source, &gid));
    RETURN_IF_ERROR(Get(*grpc, "max_recv_message_size", "grpc.", source, &recv));
    RETURN_IF_ERROR(Get(*grpc, "max_send_message_size", "grpc.", source, &send));
    cfg->gid = static_cast<int>(gid);
    cfg->max_recv_message_size = static_cast<int>(recv);
    cfg->max_send_message_size = static_cast<int>(send);
  }
  const toml::table* ttrpc = nullptr;
  RETURN_IF_ERROR(GetTable(t, "ttrpc", source, &ttrpc));
  if (ttrpc != nullptr) {
    RETURN_IF_ERROR(CheckKeys(*ttrpc, {"address", "gid", "uid"}, "ttrpc.", source));
    RETURN_IF_ERROR(Get(*ttrpc, "address", "ttrpc.", source, &cfg->ttrpc_address));
  }
  const toml::table* debug = nullptr;
  RETURN_IF_ERROR(GetTable(t, "debug", source, &debug));
  if (debug != nullptr) {
    RETURN_IF_ERROR(CheckKeys(*debug, {"level", "address", "format", "uid", "gid"}, "debug.", source));
    RETURN_IF_ERROR(Get(*debug, "level", "debug.", source, &cfg->log_level));
    log::Level l;
    if (!log::ParseLevel(cfg->log_level, &l)) {
      return absl::InvalidArgumentError(
          StrCat(Where(source, debug->get("level")->source()), ": unknown log level \"", cfg->log_level, "\""));
    }
  }
  const toml::table* plugins = nullptr;
  RETURN_IF_ERROR(GetTable(t, "plugins", source, &plugins));
  if (plugins != nullptr) RETURN_IF_ERROR(ParseRestartPlugin(*plugins, source, cfg));
  return Status();
}

Status LoadConfigFile(const std::string& path, Config* cfg) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseConfig(text, path, cfg);
}

}  // namespace berth::daemon
