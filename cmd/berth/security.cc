// --cap-add/--cap-drop, --privileged, --security-opt and --device, applied to a spec made by
// runtime::GenerateSpec (docker's semantics; see spec_build.h).
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <strings.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_split.h"
#include "cmd/berth/spec_build.h"
#include "runtime/spec.h"

namespace berth::cli {
namespace {

using nlohmann::json;

// Every capability in our own bounding set (containerd's WithAllCurrentCapabilities: what a
// privileged container may get is what we have), as libcap names them.
std::vector<std::string> AllCapabilities() {
  std::vector<std::string> out;
  for (int c = 0; c < static_cast<int>(cap_max_bits()); ++c) {
    if (cap_get_bound(static_cast<cap_value_t>(c)) != 1) continue;
    char* name = cap_to_name(static_cast<cap_value_t>(c));
    if (name == nullptr) continue;
    std::string n(name);
    cap_free(name);
    std::transform(n.begin(), n.end(), n.begin(), ::toupper);
    if (n.rfind("CAP_", 0) == 0) out.push_back(n);
  }
  return out;
}

// "net_admin", "CAP_NET_ADMIN" -> "CAP_NET_ADMIN"; InvalidArgument for a name the kernel lacks.
StatusOr<std::string> CapName(const std::string& in, const std::vector<std::string>& all) {
  std::string n = in;
  std::transform(n.begin(), n.end(), n.begin(), ::toupper);
  if (n.rfind("CAP_", 0) != 0) n = "CAP_" + n;
  if (std::find(all.begin(), all.end(), n) == all.end()) {
    return absl::InvalidArgumentError(StrCat("unknown capability \"", in, "\""));
  }
  return n;
}

Status ApplyCapabilities(const ContainerFlags& f, json& spec) {
  const std::vector<std::string> all = AllCapabilities();
  auto has = [](const std::vector<std::string>& v, const char* x) {
    return std::any_of(v.begin(), v.end(), [x](const std::string& s) { return strcasecmp(s.c_str(), x) == 0; });
  };
  std::set<std::string> caps;
  if (f.privileged || has(f.cap_add, "ALL")) {
    caps.insert(all.begin(), all.end());
  } else if (!has(f.cap_drop, "ALL")) {
    auto d = runtime::DefaultCapabilities();
    caps.insert(d.begin(), d.end());
  }
  // docker: with --cap-drop ALL the additions are applied after the drop; otherwise drops win.
  for (const auto& a : f.cap_add) {
    if (strcasecmp(a.c_str(), "ALL") == 0) continue;
    ASSIGN_OR_RETURN(std::string n, CapName(a, all));
    caps.insert(n);
  }
  if (!f.privileged) {
    for (const auto& d : f.cap_drop) {
      if (strcasecmp(d.c_str(), "ALL") == 0) continue;
      ASSIGN_OR_RETURN(std::string n, CapName(d, all));
      if (!has(f.cap_add, n.c_str()) && !has(f.cap_add, n.substr(4).c_str())) caps.erase(n);
    }
  }
  std::vector<std::string> list(caps.begin(), caps.end());
  json& c = spec["process"]["capabilities"];
  c = {{"bounding", list}, {"effective", list}, {"permitted", list}};
  return Status();
}

// The char and block devices under /dev, as containerd's oci.HostDevices lists them.
json HostDevices() {
  json out = json::array();
  std::error_code ec;
  const std::set<std::string> skip = {"/dev/pts", "/dev/shm", "/dev/fd", "/dev/mqueue", "/dev/.lxc", "/dev/.udev"};
  auto it = std::filesystem::recursive_directory_iterator("/dev", std::filesystem::directory_options::none, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    const std::string p = it->path().string();
    if (skip.count(p)) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st;
    if (lstat(p.c_str(), &st) != 0 || p == "/dev/console") continue;
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) continue;
    out.push_back({{"path", p},
                   {"type", S_ISCHR(st.st_mode) ? "c" : "b"},
                   {"major", major(st.st_rdev)},
                   {"minor", minor(st.st_rdev)},
                   {"fileMode", st.st_mode & 07777},
                   {"uid", st.st_uid},
                   {"gid", st.st_gid}});
  }
  return out;
}

// --device HOST[:CONTAINER[:PERMISSIONS]]: the device node and its cgroup rule.
Status AddDevice(const std::string& arg, json& spec) {
  std::vector<std::string> parts = absl::StrSplit(arg, ':');
  std::string host = parts[0], dest = parts.size() > 1 ? parts[1] : parts[0], perms = "rwm";
  if (parts.size() > 2) perms = parts[2];
  if (parts.size() == 2 && dest.find_first_not_of("rwm") == std::string::npos) perms = dest, dest = host;
  if (parts.size() > 3 || perms.empty() || perms.find_first_not_of("rwm") != std::string::npos || dest[0] != '/') {
    return absl::InvalidArgumentError(StrCat("invalid --device \"", arg, "\": want HOST[:CONTAINER[:rwm]]"));
  }
  struct stat st;
  if (stat(host.c_str(), &st) != 0) return absl::NotFoundError(StrCat("--device ", host, ": ", strerror(errno)));
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
    return absl::InvalidArgumentError(StrCat("--device ", host, ": not a device node"));
  }
  const char* type = S_ISCHR(st.st_mode) ? "c" : "b";
  spec["linux"]["devices"].push_back({{"path", dest},
                                      {"type", type},
                                      {"major", major(st.st_rdev)},
                                      {"minor", minor(st.st_rdev)},
                                      {"fileMode", st.st_mode & 07777},
                                      {"uid", st.st_uid},
                                      {"gid", st.st_gid}});
  spec["linux"]["resources"]["devices"].push_back({{"allow", true},
                                                   {"type", type},
                                                   {"major", major(st.st_rdev)},
                                                   {"minor", minor(st.st_rdev)},
                                                   {"access", perms}});
  return Status();
}

// A seccomp profile in docker's format (which is the OCI one plus archMap, includes and
// excludes) as the OCI spec wants it: architectures for this machine, rules whose conditions
// hold for `caps` and this architecture.
StatusOr<json> SeccompFromProfile(const std::string& path, const std::vector<std::string>& caps) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(StrCat("seccomp profile ", path, ": ", strerror(errno)));
  json p;
  try {
    p = json::parse(in);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(StrCat("seccomp profile ", path, ": ", e.what()));
  }
  if (!p.is_object() || !p.contains("defaultAction")) {
    return absl::InvalidArgumentError(StrCat("seccomp profile ", path, ": no defaultAction"));
  }
  json out = {{"defaultAction", p["defaultAction"]}};
  if (p.contains("defaultErrnoRet")) out["defaultErrnoRet"] = p["defaultErrnoRet"];
  if (p.contains("flags")) out["flags"] = p["flags"];
  json arches = p.value("architectures", json::array());
  for (const auto& m : p.value("archMap", json::array())) {
    if (m.value("architecture", "") != "SCMP_ARCH_X86_64") continue;
    arches.push_back(m["architecture"]);
    for (const auto& s : m.value("subArchitectures", json::array())) arches.push_back(s);
  }
  if (!arches.empty()) out["architectures"] = arches;
  auto holds = [&](const json& cond, bool all_needed) {
    bool any = false, every = true;
    for (const auto& c : cond.value("caps", json::array())) {
      bool h = std::find(caps.begin(), caps.end(), c.get<std::string>()) != caps.end();
      any = any || h;
      every = every && h;
    }
    for (const auto& a : cond.value("arches", json::array())) {
      bool h = a == "amd64" || a == "x86_64";
      any = any || h;
      every = every && h;
    }
    return all_needed ? every : any;
  };
  json rules = json::array();
  for (const auto& s : p.value("syscalls", json::array())) {
    if (s.contains("includes") && !holds(s["includes"], true)) continue;
    if (s.contains("excludes") && holds(s["excludes"], false)) continue;
    json r = s;
    r.erase("includes");
    r.erase("excludes");
    r.erase("comment");
    if (r.contains("name") && !r.contains("names")) r["names"] = json::array({r["name"]}), r.erase("name");
    rules.push_back(r);
  }
  out["syscalls"] = rules;
  return out;
}

}  // namespace

Status ApplySecurity(const ContainerFlags& f, json& spec) {
  RETURN_IF_ERROR(ApplyCapabilities(f, spec));
  json& linux = spec["linux"];
  if (f.privileged) {
    linux.erase("seccomp");
    linux["maskedPaths"] = json::array();
    linux["readonlyPaths"] = json::array();
    linux["devices"] = HostDevices();
    linux["resources"]["devices"] = json::array({{{"allow", true}, {"access", "rwm"}}});
    for (auto& m : spec["mounts"]) {
      if (m["destination"] != "/sys") continue;
      json opts = json::array();
      for (const auto& o : m["options"]) {
        if (o != "ro") opts.push_back(o);
      }
      opts.push_back("rw");
      m["options"] = opts;
    }
  }
  for (const auto& opt : f.security_opt) {
    size_t sep = opt.find_first_of("=:");
    std::string key = opt.substr(0, sep), value = sep == std::string::npos ? "" : opt.substr(sep + 1);
    if (key == "no-new-privileges") {
      if (value != "" && value != "true" && value != "false") {
        return absl::InvalidArgumentError(StrCat("invalid --security-opt \"", opt, "\": true or false"));
      }
      spec["process"]["noNewPrivileges"] = value != "false";
    } else if (key == "seccomp" && value == "unconfined") {
      linux.erase("seccomp");
    } else if (key == "seccomp" && !value.empty()) {
      ASSIGN_OR_RETURN(linux["seccomp"],
                       SeccompFromProfile(value, spec["process"]["capabilities"]["effective"]));
    } else if (key == "apparmor" && value == "unconfined") {
      // berth sets no AppArmor profile: unconfined already.
    } else {
      return absl::InvalidArgumentError(
          StrCat("unsupported --security-opt \"", opt,
                 "\": berth knows seccomp=unconfined|PROFILE, no-new-privileges[:true|false], apparmor=unconfined"));
    }
  }
  for (const auto& d : f.devices) RETURN_IF_ERROR(AddDevice(d, spec));
  return Status();
}

}  // namespace berth::cli
