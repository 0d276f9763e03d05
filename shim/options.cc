#include "shim/options.h"

#include <nlohmann/json.hpp>

#include "containerd/linux/runctypes/runc.pb.h"
#include "containerd/runc/options/oci.pb.h"

namespace berth::shim {

Status ApplyOptionsAny(const std::string& type_url, const std::string& value, RuntimeOptions* o) {
  if (type_url.empty() && value.empty()) return absl::OkStatus();
  std::string_view t = type_url;
  if (size_t slash = t.rfind('/'); slash != std::string_view::npos) t.remove_prefix(slash + 1);
  auto bad = [&] {
    return absl::InvalidArgumentError(StrCat("cannot decode runtime options of type \"", type_url, "\""));
  };
  if (t == "containerd.runc.v1.Options") {
    containerd::runc::v1::Options pb;
    if (!pb.ParseFromString(value)) return bad();
    RuntimeOptions n;
    if (!pb.binary_name().empty()) n.binary_name = pb.binary_name();
    n.root = pb.root();
    n.systemd_cgroup = pb.systemd_cgroup();
    n.no_pivot_root = pb.no_pivot_root();
    n.no_new_keyring = pb.no_new_keyring();
    n.shim_cgroup = pb.shim_cgroup();
    n.io_uid = pb.io_uid();
    n.io_gid = pb.io_gid();
    n.criu_path = pb.criu_path();
    n.criu_image_path = pb.criu_image_path();
    n.criu_work_path = pb.criu_work_path();
    *o = std::move(n);
    return absl::OkStatus();
  }
  if (t == "containerd.linux.runc.RuncOptions") {
    containerd::linux::runc::RuncOptions pb;
    if (!pb.ParseFromString(value)) return bad();
    if (!pb.runtime().empty()) o->binary_name = pb.runtime();
    if (!pb.runtime_root().empty()) o->root = pb.runtime_root();
    if (!pb.criu_path().empty()) o->criu_path = pb.criu_path();
    o->systemd_cgroup = pb.systemd_cgroup();
    return absl::OkStatus();
  }
  if (t == "containerd.linux.runc.CreateOptions") {
    containerd::linux::runc::CreateOptions pb;
    if (!pb.ParseFromString(value)) return bad();
    o->no_pivot_root = pb.no_pivot_root();
    o->no_new_keyring = pb.no_new_keyring();
    if (!pb.shim_cgroup().empty()) o->shim_cgroup = pb.shim_cgroup();
    o->io_uid = pb.io_uid();
    o->io_gid = pb.io_gid();
    if (!pb.criu_work_path().empty()) o->criu_work_path = pb.criu_work_path();
    if (!pb.criu_image_path().empty()) o->criu_image_path = pb.criu_image_path();
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(StrCat("unsupported runtime options type \"", type_url,
                                           "\" (want containerd.runc.v1.Options, "
                                           "containerd.linux.runc.RuncOptions or CreateOptions)"));
}

StatusOr<RuntimeOptions> OptionsFromAny(const std::string& type_url, const std::string& value) {
  RuntimeOptions o;
  RETURN_IF_ERROR(ApplyOptionsAny(type_url, value, &o));
  return o;
}

std::string OptionsToJson(const RuntimeOptions& o) {
  nlohmann::json j = {{"binary_name", o.binary_name},       {"root", o.root},
                      {"systemd_cgroup", o.systemd_cgroup}, {"no_pivot_root", o.no_pivot_root},
                      {"no_new_keyring", o.no_new_keyring}, {"shim_cgroup", o.shim_cgroup},
                      {"io_uid", o.io_uid},                 {"io_gid", o.io_gid},
                      {"criu_path", o.criu_path},           {"criu_image_path", o.criu_image_path},
                      {"criu_work_path", o.criu_work_path}};
  return j.dump() + "\n";
}

RuntimeOptions OptionsFromJson(const std::string& json) {
  RuntimeOptions o;
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return o;
  try {
    o.binary_name = j.value("binary_name", std::string("runc"));
    if (o.binary_name.empty()) o.binary_name = "runc";
    o.root = j.value("root", std::string());
    o.systemd_cgroup = j.value("systemd_cgroup", false);
    o.no_pivot_root = j.value("no_pivot_root", false);
    o.no_new_keyring = j.value("no_new_keyring", false);
    o.shim_cgroup = j.value("shim_cgroup", std::string());
    o.io_uid = j.value("io_uid", 0u);
    o.io_gid = j.value("io_gid", 0u);
    o.criu_path = j.value("criu_path", std::string());
    o.criu_image_path = j.value("criu_image_path", std::string());
    o.criu_work_path = j.value("criu_work_path", std::string());
  } catch (const nlohmann::json::exception&) {
    return RuntimeOptions();
  }
  return o;
}

}  // namespace berth::shim
