// -v, --mount, --tmpfs and the image's VOLUMEs as OCI mounts, docker's rules:
//   -v /host:/ctr[:ro|rw][,propagation]   bind; the host directory is made when missing
//   -v NAME:/ctr[:ro][,nocopy]             named volume, created on first use
//   -v /ctr                                anonymous volume
//   --mount type=bind,source=/h,target=/c[,readonly][,bind-propagation=rshared]  (source must exist)
//   --mount type=volume,source=NAME,target=/c[,readonly][,volume-nocopy]
//   --mount type=tmpfs,target=/c[,tmpfs-size=64m][,tmpfs-mode=1777]
//   --tmpfs /c[:size=64m,mode=1777,...]
// A volume mounted for the first time while empty gets what the image has at that path (docker's
// copy-up). Anonymous volumes' names go to the container's berth/anonymous-volumes label, so
// rm -v and --rm remove them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cmd/berth/container_flags.h"
#include "cmd/berth/commands.h"
#include "common/status.h"
#include "snapshotter/mount.h"

namespace berth::cli {

inline constexpr char kLabelAnonymousVolumes[] = "berth/anonymous-volumes";  // comma-separated names

struct ResolvedMounts {
  nlohmann::json oci = nlohmann::json::array();
  std::vector<std::string> anonymous;  // volumes made for this container
};

// `rootfs` is the container's snapshot (for copy-up), mounted under `scratch_dir` when needed.
StatusOr<ResolvedMounts> ResolveMounts(const Globals& g, const ContainerFlags& f, const std::string& image_config_json,
                                       const std::vector<snapshotter::Mount>& rootfs, const std::string& scratch_dir);

}  // namespace berth::cli
