#include "cmd/berth/spec_build.h"

#include <cstdlib>

#include "cmd/berth/units.h"
#include "runtime/spec.h"

namespace berth::cli {
namespace {

using nlohmann::json;

json BindMount(const std::string& dest, const std::string& source, bool ro) {
  std::vector<std::string> opts = {"rbind", "rprivate"};
  if (ro) opts.push_back("ro");
  return json{{"destination", dest}, {"type", "bind"}, {"source", source}, {"options", opts}};
}

// docker's order: Entrypoint, then the command line's args or else the image's Cmd; --entrypoint
// replaces the image's Entrypoint and drops its Cmd.
std::vector<std::string> ProcessArgs(const ContainerFlags& f, const SpecInputs& in) {
  std::vector<std::string> entry = in.image.entrypoint;
  std::vector<std::string> cmd = in.args.empty() ? in.image.cmd : in.args;
  if (f.entrypoint_set) {
    entry = f.entrypoint.empty() ? std::vector<std::string>{} : std::vector<std::string>{f.entrypoint};
    cmd = in.args;
  }
  std::vector<std::string> args;
  if (f.init && !in.init_binary.empty()) args = {"/sbin/berth-init", "--"};
  args.insert(args.end(), entry.begin(), entry.end());
  args.insert(args.end(), cmd.begin(), cmd.end());
  return args;
}

Status ApplyResources(const ContainerFlags& f, json& spec) {
  json& res = spec["linux"]["resources"];
  if (!f.memory.empty()) {
    ASSIGN_OR_RETURN(int64_t limit, ParseBytes(f.memory));
    if (limit < 6 * 1024 * 1024) return absl::InvalidArgumentError("--memory: the minimum is 6m");
    res["memory"]["limit"] = limit;
    // docker: swap defaults to as much again as memory; -1 is unlimited.
    int64_t swap = 2 * limit;
    if (f.memory_swap == "-1") {
      swap = -1;
    } else if (!f.memory_swap.empty()) {
      ASSIGN_OR_RETURN(swap, ParseBytes(f.memory_swap));
      if (swap < limit) return absl::InvalidArgumentError("--memory-swap must be at least --memory");
    }
    res["memory"]["swap"] = swap;
  } else if (!f.memory_swap.empty()) {
    return absl::InvalidArgumentError("--memory-swap needs --memory");
  }
  if (!f.memory_reservation.empty()) {
    ASSIGN_OR_RETURN(int64_t r, ParseBytes(f.memory_reservation));
    res["memory"]["reservation"] = r;
  }
  if (!f.cpus.empty()) {
    ASSIGN_OR_RETURN(int64_t nano, ParseNanoCpus(f.cpus));
    const int64_t period = 100000;
    res["cpu"]["period"] = period;
    res["cpu"]["quota"] = nano * period / 1000000000;
  }
  if (f.cpu_shares > 0) res["cpu"]["shares"] = f.cpu_shares;
  if (!f.cpuset_cpus.empty()) res["cpu"]["cpus"] = f.cpuset_cpus;
  if (f.pids_limit > 0) res["pids"]["limit"] = f.pids_limit;
  return Status();
}

Status ApplyUlimits(const ContainerFlags& f, json& spec) {
  json& rl = spec["process"]["rlimits"];
  for (const auto& s : f.ulimits) {
    ASSIGN_OR_RETURN(Ulimit u, ParseUlimit(s));
    json entry = {{"type", u.type}, {"soft", u.soft}, {"hard", u.hard}};
    bool replaced = false;
    for (auto& r : rl) {
      if (r["type"] == u.type) r = entry, replaced = true;
    }
    if (!replaced) rl.push_back(entry);
  }
  return Status();
}

// Mounts: the defaults, less those a flag's mount replaces (same destination), then /etc files,
// the init binary and the flags' mounts.
Status ApplyMounts(const ContainerFlags& f, const SpecInputs& in, json& spec) {
  json extra = json::array();
  if (!in.etc_dir.empty()) {
    extra.push_back(BindMount("/etc/hosts", in.etc_dir + "/hosts", false));
    extra.push_back(BindMount("/etc/resolv.conf", in.etc_dir + "/resolv.conf", false));
    extra.push_back(BindMount("/etc/hostname", in.etc_dir + "/hostname", false));
  }
  if (f.init && !in.init_binary.empty()) extra.push_back(BindMount("/sbin/berth-init", in.init_binary, true));
  for (const auto& m : in.mounts) extra.push_back(m);

  json mounts = json::array();
  for (auto& m : spec["mounts"]) {
    bool replaced = false;
    for (const auto& e : extra) replaced = replaced || e["destination"] == m["destination"];
    if (replaced) continue;
    if (m["destination"] == "/dev/shm" && !f.shm_size.empty()) {
      ASSIGN_OR_RETURN(int64_t size, ParseBytes(f.shm_size));
      if (size <= 0) return absl::InvalidArgumentError("--shm-size must be more than 0");
      for (auto& o : m["options"]) {
        if (o.get<std::string>().rfind("size=", 0) == 0) o = StrCat("size=", size / 1024, "k");
      }
    }
    mounts.push_back(m);
  }
  for (auto& e : extra) mounts.push_back(e);
  spec["mounts"] = mounts;
  return Status();
}

Status ApplySysctls(const ContainerFlags& f, json& spec) {
  for (const auto& s : f.sysctls) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(StrCat("invalid --sysctl \"", s, "\": want KEY=VALUE"));
    }
    spec["linux"]["sysctl"][s.substr(0, eq)] = s.substr(eq + 1);
  }
  return Status();
}

}  // namespace

StatusOr<std::vector<std::string>> FlagEnv(const ContainerFlags& f) {
  std::vector<std::string> out;
  for (const auto& file : f.env_files) {
    ASSIGN_OR_RETURN(auto lines, ReadKeyValueFile(file, true));
    out.insert(out.end(), lines.begin(), lines.end());
  }
  for (const auto& e : f.env) {
    if (e.find('=') != std::string::npos) {
      out.push_back(e);
    } else if (const char* v = std::getenv(e.c_str())) {
      out.push_back(e + "=" + v);
    }
  }
  return out;
}

StatusOr<std::vector<std::pair<std::string, std::string>>> FlagLabels(const ContainerFlags& f) {
  std::vector<std::string> kv;
  for (const auto& file : f.label_files) {
    ASSIGN_OR_RETURN(auto lines, ReadKeyValueFile(file, false));
    kv.insert(kv.end(), lines.begin(), lines.end());
  }
  kv.insert(kv.end(), f.labels.begin(), f.labels.end());
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& l : kv) {
    size_t eq = l.find('=');
    if (eq == 0) return absl::InvalidArgumentError(StrCat("invalid label \"", l, "\": empty key"));
    out.emplace_back(l.substr(0, eq), eq == std::string::npos ? "" : l.substr(eq + 1));
  }
  return out;
}

StatusOr<std::string> BuildSpec(const ContainerFlags& f, const SpecInputs& in) {
  runtime::SpecOptions so;
  so.ns = in.ns;
  so.id = in.id;
  so.image.env = in.image.env;
  so.image.user = in.user.empty() ? in.image.user : in.user;
  so.image.working_dir = in.image.working_dir;
  so.args = ProcessArgs(f, in);
  if (so.args.empty()) return absl::InvalidArgumentError("no command specified: the image has none, give one");
  ASSIGN_OR_RETURN(so.extra_env, FlagEnv(f));
  so.terminal = f.tty;
  so.hostname = in.hostname;
  ASSIGN_OR_RETURN(std::string base, runtime::GenerateSpec(so));

  json spec;
  try {
    spec = json::parse(base);
  } catch (const json::exception& e) {
    return absl::InternalError(StrCat("generated spec: ", e.what()));
  }
  if (!f.workdir.empty()) {
    if (f.workdir[0] != '/') return absl::InvalidArgumentError(StrCat("-w ", f.workdir, ": the path must be absolute"));
    spec["process"]["cwd"] = f.workdir;
  }
  if (!in.additional_gids.empty()) spec["process"]["user"]["additionalGids"] = in.additional_gids;
  if (f.read_only) spec["root"]["readonly"] = true;
  RETURN_IF_ERROR(ApplyResources(f, spec));
  RETURN_IF_ERROR(ApplyUlimits(f, spec));
  RETURN_IF_ERROR(ApplySysctls(f, spec));
  RETURN_IF_ERROR(ApplySecurity(f, spec));
  RETURN_IF_ERROR(ApplyMounts(f, in, spec));
  return spec.dump();
}

}  // namespace berth::cli
