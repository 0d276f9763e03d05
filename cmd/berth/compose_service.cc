// compose's model in terms of the berth CLI: services as run flags, the project's containers
// found by label, the dependency order, and the project's volumes and networks.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>

#include "absl/strings/str_join.h"
#include "cmd/berth/compose_engine.h"
#include "cmd/berth/volumes.h"
#include "compose/render.h"

namespace berth::cli {

StatusOr<std::vector<cov1::Container>> ProjectContainers(const Globals& g, const std::string& project, bool oneoff) {
  auto stub = cov1::Containers::NewStub(Connect(g));
  auto ctx = NewContext(g);
  cov1::ListContainersRequest req;
  req.add_filters(StrCat("labels.\"", kComposeProject, "\"==\"", project, "\""));
  cov1::ListContainersResponse resp;
  RETURN_IF_ERROR(FromGrpc(stub->List(ctx.get(), req, &resp)));
  std::vector<cov1::Container> out;
  for (const auto& c : resp.containers()) {
    auto it = c.labels().find(kComposeOneoff);
    bool is_oneoff = it != c.labels().end() && it->second == "True";
    if (is_oneoff && !oneoff) continue;
    out.push_back(c);
  }
  std::sort(out.begin(), out.end(), [](const cov1::Container& a, const cov1::Container& b) {
    return std::make_tuple(ServiceOf(a), NumberOf(a), a.id()) < std::make_tuple(ServiceOf(b), NumberOf(b), b.id());
  });
  return out;
}

std::string ServiceOf(const cov1::Container& c) {
  auto it = c.labels().find(kComposeService);
  return it == c.labels().end() ? "" : it->second;
}

int NumberOf(const cov1::Container& c) {
  auto it = c.labels().find(kComposeNumber);
  return it == c.labels().end() ? 0 : atoi(it->second.c_str());
}

StatusOr<std::vector<std::string>> ServiceOrder(const compose::Project& p, const std::vector<std::string>& selected,
                                                bool with_deps) {
  std::vector<std::string> roots = selected;
  if (roots.empty()) {
    for (const auto& [name, _] : p.services) roots.push_back(name);
  }
  for (const auto& r : roots) {
    if (!p.services.count(r)) return absl::InvalidArgumentError(StrCat("no such service: ", r));
  }
  std::vector<std::string> out;
  std::set<std::string> done, visiting;
  std::set<std::string> wanted(roots.begin(), roots.end());
  std::function<Status(const std::string&)> visit = [&](const std::string& name) -> Status {
    if (done.count(name)) return Status();
    if (!visiting.insert(name).second) return absl::InvalidArgumentError(StrCat("dependency cycle through ", name));
    const auto& s = p.services.at(name);
    for (const auto& [dep, d] : s.depends_on) {
      if (!p.services.count(dep)) {
        if (!d.required) continue;
        return absl::InvalidArgumentError(StrCat("service ", name, " depends on undefined service ", dep));
      }
      if (with_deps || wanted.count(dep)) RETURN_IF_ERROR(visit(dep));
    }
    visiting.erase(name);
    done.insert(name);
    out.push_back(name);
    return Status();
  };
  for (const auto& r : roots) RETURN_IF_ERROR(visit(r));
  return out;
}

std::string ContainerName(const compose::Project& p, const compose::Service& s, int number) {
  if (!s.container_name.empty()) return s.container_name;
  return StrCat(p.name, "-", s.name, "-", number);
}

namespace {

std::string Seconds(int64_t ns) { return std::to_string((ns + 999'999'999) / 1'000'000'000); }

std::string Decimal(double d) {
  std::ostringstream o;
  o.precision(6);
  o << d;
  return o.str();
}

}  // namespace

StatusOr<ServiceRun> ServiceToRun(const compose::Project& p, const compose::Service& s, int number, bool oneoff) {
  if (s.image.empty()) return absl::InvalidArgumentError(StrCat("service ", s.name, " has no image"));
  if (!s.container_name.empty() && s.replicas > 1 && !oneoff) {
    return absl::InvalidArgumentError(
        StrCat("service ", s.name, ": container_name \"", s.container_name, "\" cannot be used with ", s.replicas,
               " replicas (names are unique)"));
  }
  ServiceRun r;
  ContainerFlags& f = r.flags;
  f.detach = true;
  f.image = s.image;
  f.name = oneoff ? "" : ContainerName(p, s, number);
  if (s.pull_policy == "always" || s.pull_policy == "never" || s.pull_policy == "missing") f.pull = s.pull_policy;
  if (s.entrypoint) {
    f.entrypoint_set = true;
    const auto& ep = *s.entrypoint;
    f.entrypoint = ep.empty() ? "" : ep[0];
    r.args.assign(ep.size() > 1 ? ep.begin() + 1 : ep.end(), ep.end());
    // docker: a new entrypoint drops the image's command; compose's command still applies.
    if (s.command) r.args.insert(r.args.end(), s.command->begin(), s.command->end());
  } else if (s.command) {
    r.args = *s.command;
  }
  for (const auto& [k, v] : s.environment) f.env.push_back(StrCat(k, "=", v));
  for (const auto& [k, v] : s.labels) f.labels.push_back(StrCat(k, "=", v));
  f.labels.push_back(StrCat(kComposeProject, "=", p.name));
  f.labels.push_back(StrCat(kComposeService, "=", s.name));
  f.labels.push_back(StrCat(kComposeNumber, "=", number));
  f.labels.push_back(StrCat(kComposeOneoff, "=", oneoff ? "True" : "False"));
  f.labels.push_back(StrCat(kComposeConfigHash, "=", compose::ConfigHash(s)));
  f.labels.push_back(StrCat(kComposeWorkingDir, "=", p.working_dir));
  f.labels.push_back(StrCat(kComposeConfigFiles, "=", absl::StrJoin(p.files, ",")));

  for (const auto& v : s.volumes) {
    if (v.type == "bind") {
      if (v.create_host_path && !std::filesystem::exists(v.source)) {
        std::error_code ec;
        std::filesystem::create_directories(v.source, ec);
        if (ec) return absl::InternalError(StrCat("service ", s.name, ": create ", v.source, ": ", ec.message()));
      }
      f.mounts.push_back(StrCat("type=bind,source=", v.source, ",target=", v.target, v.read_only ? ",readonly" : ""));
    } else if (v.type == "volume") {
      std::string src;
      if (!v.source.empty()) {
        auto it = p.volumes.find(v.source);
        if (it == p.volumes.end()) return absl::InvalidArgumentError(StrCat("service ", s.name, ": undefined volume ", v.source));
        src = StrCat(",source=", it->second.name);
      }
      f.mounts.push_back(StrCat("type=volume", src, ",target=", v.target, v.read_only ? ",readonly" : "",
                                v.nocopy ? ",volume-nocopy" : ""));
    } else if (v.type == "tmpfs") {
      f.mounts.push_back(StrCat("type=tmpfs,target=", v.target, v.tmpfs_size ? StrCat(",tmpfs-size=", v.tmpfs_size) : ""));
    } else {
      return absl::InvalidArgumentError(StrCat("service ", s.name, ": volume type ", v.type, " is not supported"));
    }
  }
  f.tmpfs = s.tmpfs;

  if (s.healthcheck) {
    if (s.healthcheck->disable || (!s.healthcheck->test.empty() && s.healthcheck->test[0] == "NONE")) {
      f.no_healthcheck = true;
    } else {
      f.health_test = s.healthcheck->test;
      f.health_interval = compose::FormatDuration(s.healthcheck->interval_ns);
      f.health_timeout = compose::FormatDuration(s.healthcheck->timeout_ns);
      f.health_start_period = compose::FormatDuration(s.healthcheck->start_period_ns);
      f.health_retries = s.healthcheck->retries;
    }
  }
  if (!oneoff && !s.restart.empty()) f.restart = s.restart;
  f.workdir = s.working_dir;
  f.user = s.user;
  f.hostname = s.hostname;
  if (s.init) f.init = *s.init;
  f.stop_signal = s.stop_signal;
  if (s.stop_grace_period_ns) f.stop_timeout = atoi(Seconds(*s.stop_grace_period_ns).c_str());
  if (s.mem_limit > 0) f.memory = std::to_string(s.mem_limit);
  if (s.cpus > 0) f.cpus = Decimal(s.cpus);
  f.pids_limit = s.pids_limit;
  f.add_hosts = s.extra_hosts;
  f.dns = s.dns;
  f.cap_add = s.cap_add;
  f.cap_drop = s.cap_drop;
  f.privileged = s.privileged;
  f.read_only = s.read_only;
  if (s.shm_size > 0) f.shm_size = std::to_string(s.shm_size);
  for (const auto& [name, u] : s.ulimits) f.ulimits.push_back(StrCat(name, "=", u.soft, ":", u.hard));
  f.security_opt = s.security_opt;
  for (const auto& [k, v] : s.sysctls) f.sysctls.push_back(StrCat(k, "=", v));
  RETURN_IF_ERROR(AddServiceNetworking(p, s, oneoff, f));
  return r;
}

Status EnsureProjectResources(const Globals& g, const compose::Project& p, std::ostream& progress) {
  RETURN_IF_ERROR(EnsureProjectNetworks(g, p, progress));
  for (const auto& [key, v] : p.volumes) {
    if (v.external) {
      auto got = GetVolume(g, v.name);
      if (absl::IsNotFound(got.status())) {
        return absl::NotFoundError(StrCat("external volume \"", v.name, "\" not found: create it with berth volume create"));
      }
      RETURN_IF_ERROR(got.status());
      continue;
    }
    if (!v.driver.empty() && v.driver != "local") {
      return absl::InvalidArgumentError(StrCat("volume ", key, ": driver ", v.driver, " is not supported (only local)"));
    }
    std::map<std::string, std::string> labels = v.labels;
    labels[kComposeProject] = p.name;
    labels[kComposeVolume] = key;
    bool created = false;
    ASSIGN_OR_RETURN(Volume made, CreateVolume(g, v.name, labels, &created));
    (void)made;
    if (created) progress << " Volume " << v.name << "  Created\n";
  }
  return Status();
}

}  // namespace berth::cli
