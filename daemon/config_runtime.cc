// The options a task's shim is started with: the client's, completed by the configuration.
#include "containerd/runc/options/oci.pb.h"
#include "daemon/config.h"

namespace berth::daemon {
namespace {

constexpr char kRuncOptionsType[] = "containerd.runc.v1.Options";
constexpr char kLinuxRuncOptionsType[] = "containerd.linux.runc.RuncOptions";

std::string Encode(const RuncOptions& o) {
  containerd::runc::v1::Options p;
  p.set_binary_name(o.binary_name);
  p.set_root(o.root);
  p.set_systemd_cgroup(o.systemd_cgroup);
  p.set_no_pivot_root(o.no_pivot_root);
  p.set_no_new_keyring(o.no_new_keyring);
  p.set_shim_cgroup(o.shim_cgroup);
  p.set_io_uid(o.io_uid);
  p.set_io_gid(o.io_gid);
  p.set_criu_path(o.criu_path);
  p.set_criu_image_path(o.criu_image_path);
  p.set_criu_work_path(o.criu_work_path);
  return p.SerializeAsString();
}

// A length-delimited protobuf field (field numbers below 16).
void PutString(int field, const std::string& v, std::string* out) {
  if (v.empty()) return;
  out->push_back(static_cast<char>(field << 3 | 2));
  uint64_t n = v.size();
  while (n >= 0x80) {
    out->push_back(static_cast<char>(n | 0x80));
    n >>= 7;
  }
  out->push_back(static_cast<char>(n));
  out->append(v);
}

// containerd.linux.runc.RuncOptions {runtime = 1, runtime_root = 2, criu_path = 3, systemd_cgroup = 4}.
std::string EncodeLinux(const LinuxV1Config& c) {
  std::string out;
  PutString(1, c.runtime, &out);
  PutString(2, c.runtime_root, &out);
  return out;
}

std::string_view TypeName(std::string_view url) {
  size_t slash = url.rfind('/');
  return slash == std::string_view::npos ? url : url.substr(slash + 1);
}

// The configured default options of a runtime, if any.
std::optional<RuntimeOptionsAny> Defaults(const Config& cfg, const std::string& runtime) {
  auto row = cfg.runtimes.find(runtime);
  if (row != cfg.runtimes.end() && row->second.options && !row->second.options->IsDefault()) {
    return RuntimeOptionsAny{kRuncOptionsType, Encode(*row->second.options)};
  }
  auto usable = [&](const CriRuntime& r) { return r.runtime_type == runtime && r.options && !r.options->IsDefault(); };
  auto def = cfg.cri.runtimes.find(cfg.cri.default_runtime_name);
  if (def != cfg.cri.runtimes.end() && usable(def->second)) {
    return RuntimeOptionsAny{kRuncOptionsType, Encode(*def->second.options)};
  }
  for (const auto& [handler, r] : cfg.cri.runtimes) {
    if (usable(r)) return RuntimeOptionsAny{kRuncOptionsType, Encode(*r.options)};
  }
  if (runtime == kRuntimeLinuxV1) {
    std::string v = EncodeLinux(cfg.linux_v1);
    if (!v.empty()) return RuntimeOptionsAny{kLinuxRuncOptionsType, v};
  }
  return std::nullopt;
}

}  // namespace

std::optional<RuntimeOptionsAny> EffectiveRuntimeOptions(const Config& cfg, const std::string& runtime,
                                                         const std::optional<RuntimeOptionsAny>& sent) {
  std::optional<RuntimeOptionsAny> d = Defaults(cfg, runtime);
  if (!sent) return d;
  if (!d || TypeName(sent->type_url) != d->type_url) return sent;
  // Both messages have singular fields only, and a parser keeps the last value of a field: the
  // defaults first, then the client's, gives the client's fields where set and the defaults
  // elsewhere (proto3 does not encode a field left at its zero value).
  return RuntimeOptionsAny{sent->type_url, d->value + sent->value};
}

}  // namespace berth::daemon
