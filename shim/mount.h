// Mounting the task's rootfs: the CreateTaskRequest carries the snapshotter's mounts
// (containerd.types.Mount: overlay or bind, mount(8)-style options), mounted in order onto
// <bundle>/rootfs. On failure the mounts done so far are undone in reverse order.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace berth::shim {

struct MountSpec {
  std::string type, source;
  std::vector<std::string> options;
};

// Mounts every spec onto `target` (all on the same target, like containerd's mount.All).
// InvalidArgument for unsupported option syntax, mount(2) errors as ErrnoStatus.
Status MountAll(const std::vector<MountSpec>& mounts, const std::string& target);

// Unmounts everything mounted on `target` (repeatedly, lazily as a last resort) until nothing
// is left. A target that is not a mount point is OK.
Status UnmountAll(const std::string& target);

// Splits mount(8) options into mount flags and the data string ("ro,nodev,lowerdir=x" ->
// MS_RDONLY|MS_NODEV, "lowerdir=x"). Exposed for tests.
void ParseMountOptions(const std::vector<std::string>& options, unsigned long* flags,
                       std::string* data, bool* propagation_private);

}  // namespace berth::shim
