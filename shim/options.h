// The runtime options a shim honours, from any of the type URLs containerd's clients send:
//   containerd.runc.v1.Options           (io.containerd.runc.v1/v2: replaces every field)
//   containerd.linux.runc.RuncOptions    (legacy io.containerd.runtime.v1.linux runtime options:
//                                          Runtime, RuntimeRoot, CriuPath, SystemdCgroup)
//   containerd.linux.runc.CreateOptions  (legacy task-create options: pivot, keyring, shim
//                                          cgroup, io uid/gid, criu paths)
// The legacy messages overlay only the fields they carry, so runtime options given at shim
// start and create options given with Tasks.Create combine. Kept in <bundle>/options.json in
// containerd's JSON field names, so either shim can read the other's file.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace berth::shim {

struct RuntimeOptions {
  std::string binary_name = "runc";
  std::string root;  // runtime --root is <root>/<ns>; default root /run/containerd/runc
  bool systemd_cgroup = false, no_pivot_root = false, no_new_keyring = false;
  std::string shim_cgroup;
  uint32_t io_uid = 0, io_gid = 0;
  std::string criu_path, criu_image_path, criu_work_path;
};

// Applies an Any (type URL + value) onto `o`. An empty Any leaves `o` as it is.
// InvalidArgument for another type or undecodable bytes.
Status ApplyOptionsAny(const std::string& type_url, const std::string& value, RuntimeOptions* o);
// Convenience: defaults overlaid by the Any.
StatusOr<RuntimeOptions> OptionsFromAny(const std::string& type_url, const std::string& value);

std::string OptionsToJson(const RuntimeOptions& o);
// Unknown or malformed input gives the defaults.
RuntimeOptions OptionsFromJson(const std::string& json);

}  // namespace berth::shim
