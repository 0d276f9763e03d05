#include "compose/render.h"

#include <cstdio>

#include <yaml-cpp/yaml.h>

#include "common/digest.h"

namespace berth::compose {
namespace {

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void StrMap(YAML::Emitter& e, const char* key, const std::map<std::string, std::string>& m) {
  if (m.empty()) return;
  e << YAML::Key << key << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : m) e << YAML::Key << k << YAML::Value << YAML::DoubleQuoted << v;
  e << YAML::EndMap;
}

void StrSeq(YAML::Emitter& e, const char* key, const std::vector<std::string>& v) {
  if (v.empty()) return;
  e << YAML::Key << key << YAML::Value << YAML::BeginSeq;
  for (const auto& s : v) e << s;
  e << YAML::EndSeq;
}

void Str(YAML::Emitter& e, const char* key, const std::string& v) {
  if (!v.empty()) e << YAML::Key << key << YAML::Value << v;
}

void EmitService(YAML::Emitter& e, const Service& s, bool with_replicas) {
  e << YAML::BeginMap;
  StrSeq(e, "cap_add", s.cap_add);
  StrSeq(e, "cap_drop", s.cap_drop);
  if (s.command) {
    e << YAML::Key << "command" << YAML::Value << YAML::Flow << *s.command;
  }
  Str(e, "container_name", s.container_name);
  if (!s.depends_on.empty()) {
    e << YAML::Key << "depends_on" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, d] : s.depends_on) {
      e << YAML::Key << k << YAML::Value << YAML::BeginMap << YAML::Key << "condition" << YAML::Value << d.condition
        << YAML::Key << "required" << YAML::Value << d.required << YAML::Key << "restart" << YAML::Value << d.restart
        << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  if ((with_replicas && s.replicas != 1) || s.mem_limit || s.cpus || s.pids_limit) {
    e << YAML::Key << "deploy" << YAML::Value << YAML::BeginMap;
    if (with_replicas && s.replicas != 1) e << YAML::Key << "replicas" << YAML::Value << s.replicas;
    if (s.mem_limit || s.cpus || s.pids_limit) {
      e << YAML::Key << "resources" << YAML::Value << YAML::BeginMap << YAML::Key << "limits" << YAML::Value
        << YAML::BeginMap;
      if (s.cpus) e << YAML::Key << "cpus" << YAML::Value << YAML::DoubleQuoted << Num(s.cpus);
      if (s.mem_limit) e << YAML::Key << "memory" << YAML::Value << YAML::DoubleQuoted << std::to_string(s.mem_limit);
      if (s.pids_limit) e << YAML::Key << "pids" << YAML::Value << s.pids_limit;
      e << YAML::EndMap << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  StrSeq(e, "dns", s.dns);
  Str(e, "domainname", s.domainname);
  if (s.entrypoint) e << YAML::Key << "entrypoint" << YAML::Value << YAML::Flow << *s.entrypoint;
  StrSeq(e, "env_file", s.env_file);
  StrMap(e, "environment", s.environment);
  StrSeq(e, "expose", s.expose);
  StrSeq(e, "extra_hosts", s.extra_hosts);
  if (s.healthcheck) {
    const Healthcheck& h = *s.healthcheck;
    e << YAML::Key << "healthcheck" << YAML::Value << YAML::BeginMap;
    if (h.disable) e << YAML::Key << "disable" << YAML::Value << true;
    e << YAML::Key << "interval" << YAML::Value << FormatDuration(h.interval_ns) << YAML::Key << "retries"
      << YAML::Value << h.retries;
    if (h.start_period_ns) e << YAML::Key << "start_period" << YAML::Value << FormatDuration(h.start_period_ns);
    if (!h.test.empty()) e << YAML::Key << "test" << YAML::Value << YAML::Flow << h.test;
    e << YAML::Key << "timeout" << YAML::Value << FormatDuration(h.timeout_ns) << YAML::EndMap;
  }
  Str(e, "hostname", s.hostname);
  e << YAML::Key << "image" << YAML::Value << s.image;
  if (s.init) e << YAML::Key << "init" << YAML::Value << *s.init;
  StrMap(e, "labels", s.labels);
  Str(e, "network_mode", s.network_mode);
  if (!s.networks.empty()) {
    e << YAML::Key << "networks" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, n] : s.networks) {
      e << YAML::Key << k << YAML::Value;
      if (n.aliases.empty() && n.ipv4_address.empty()) {
        e << YAML::Null;
        continue;
      }
      e << YAML::BeginMap;
      StrSeq(e, "aliases", n.aliases);
      Str(e, "ipv4_address", n.ipv4_address);
      e << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  if (s.pids_limit) e << YAML::Key << "pids_limit" << YAML::Value << s.pids_limit;
  if (!s.ports.empty()) {
    e << YAML::Key << "ports" << YAML::Value << YAML::BeginSeq;
    for (const auto& p : s.ports) {
      e << YAML::BeginMap;
      Str(e, "host_ip", p.host_ip);
      e << YAML::Key << "protocol" << YAML::Value << p.protocol;
      if (p.published) e << YAML::Key << "published" << YAML::Value << YAML::DoubleQuoted << std::to_string(p.published);
      e << YAML::Key << "target" << YAML::Value << p.target << YAML::EndMap;
    }
    e << YAML::EndSeq;
  }
  if (s.privileged) e << YAML::Key << "privileged" << YAML::Value << true;
  StrSeq(e, "profiles", s.profiles);
  Str(e, "pull_policy", s.pull_policy);
  if (s.read_only) e << YAML::Key << "read_only" << YAML::Value << true;
  Str(e, "restart", s.restart);
  StrSeq(e, "security_opt", s.security_opt);
  if (s.shm_size) e << YAML::Key << "shm_size" << YAML::Value << YAML::DoubleQuoted << std::to_string(s.shm_size);
  if (s.stdin_open) e << YAML::Key << "stdin_open" << YAML::Value << true;
  if (s.stop_grace_period_ns) e << YAML::Key << "stop_grace_period" << YAML::Value << FormatDuration(*s.stop_grace_period_ns);
  Str(e, "stop_signal", s.stop_signal);
  StrMap(e, "sysctls", s.sysctls);
  StrSeq(e, "tmpfs", s.tmpfs);
  if (s.tty) e << YAML::Key << "tty" << YAML::Value << true;
  if (!s.ulimits.empty()) {
    e << YAML::Key << "ulimits" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, u] : s.ulimits) {
      e << YAML::Key << k << YAML::Value << YAML::BeginMap << YAML::Key << "hard" << YAML::Value << u.hard
        << YAML::Key << "soft" << YAML::Value << u.soft << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  Str(e, "user", s.user);
  if (!s.volumes.empty()) {
    e << YAML::Key << "volumes" << YAML::Value << YAML::BeginSeq;
    for (const auto& v : s.volumes) {
      e << YAML::BeginMap << YAML::Key << "type" << YAML::Value << v.type;
      Str(e, "source", v.source);
      e << YAML::Key << "target" << YAML::Value << v.target;
      if (v.read_only) e << YAML::Key << "read_only" << YAML::Value << true;
      if (v.type == "bind") {
        e << YAML::Key << "bind" << YAML::Value << YAML::BeginMap << YAML::Key << "create_host_path" << YAML::Value
          << v.create_host_path << YAML::EndMap;
      }
      if (v.type == "volume" && v.nocopy) {
        e << YAML::Key << "volume" << YAML::Value << YAML::BeginMap << YAML::Key << "nocopy" << YAML::Value << true
          << YAML::EndMap;
      }
      if (v.type == "tmpfs" && v.tmpfs_size) {
        e << YAML::Key << "tmpfs" << YAML::Value << YAML::BeginMap << YAML::Key << "size" << YAML::Value
          << v.tmpfs_size << YAML::EndMap;
      }
      e << YAML::EndMap;
    }
    e << YAML::EndSeq;
  }
  Str(e, "working_dir", s.working_dir);
  e << YAML::EndMap;
}

}  // namespace

std::string FormatDuration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string out;
  if (ns % 1000000000 != 0 && ns < 1000000000) {
    if (ns % 1000000 == 0) return std::to_string(ns / 1000000) + "ms";
    if (ns % 1000 == 0) return std::to_string(ns / 1000) + "us";
    return std::to_string(ns) + "ns";
  }
  int64_t h = ns / 3600000000000LL;
  ns -= h * 3600000000000LL;
  int64_t m = ns / 60000000000LL;
  ns -= m * 60000000000LL;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  if (ns % 1000000000 == 0) {
    out += std::to_string(ns / 1000000000) + "s";
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", static_cast<double>(ns) / 1e9);
    out += std::string(buf) + "s";
  }
  return out;
}

std::string RenderServiceYaml(const Service& s) {
  YAML::Emitter e;
  EmitService(e, s, true);
  return e.c_str();
}

std::string ConfigHash(const Service& s) {
  YAML::Emitter e;
  EmitService(e, s, false);
  return Sha256::Of(e.c_str()).hex();
}

std::string RenderYaml(const Project& p) {
  YAML::Emitter e;
  e << YAML::BeginMap << YAML::Key << "name" << YAML::Value << p.name;
  if (!p.networks.empty()) {
    e << YAML::Key << "networks" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, n] : p.networks) {
      e << YAML::Key << k << YAML::Value << YAML::BeginMap;
      Str(e, "driver", n.driver);
      if (n.external) e << YAML::Key << "external" << YAML::Value << true;
      if (n.internal) e << YAML::Key << "internal" << YAML::Value << true;
      if (!n.subnets.empty()) {
        e << YAML::Key << "ipam" << YAML::Value << YAML::BeginMap << YAML::Key << "config" << YAML::Value << YAML::BeginSeq;
        for (size_t i = 0; i < n.subnets.size(); i++) {
          e << YAML::BeginMap;
          Str(e, "gateway", n.gateways[i]);
          Str(e, "subnet", n.subnets[i]);
          e << YAML::EndMap;
        }
        e << YAML::EndSeq << YAML::EndMap;
      }
      StrMap(e, "labels", n.labels);
      e << YAML::Key << "name" << YAML::Value << n.name << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  e << YAML::Key << "services" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, s] : p.services) {
    e << YAML::Key << k << YAML::Value;
    EmitService(e, s, true);
  }
  e << YAML::EndMap;
  if (!p.volumes.empty()) {
    e << YAML::Key << "volumes" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, v] : p.volumes) {
      e << YAML::Key << k << YAML::Value << YAML::BeginMap;
      Str(e, "driver", v.driver);
      if (v.external) e << YAML::Key << "external" << YAML::Value << true;
      StrMap(e, "labels", v.labels);
      e << YAML::Key << "name" << YAML::Value << v.name << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace berth::compose
