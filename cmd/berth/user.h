// -u and the image's User as the OCI spec needs them: numeric ids. Names ("nobody",
// "www:staff") are looked up in the container's own /etc/passwd and /etc/group, read through a
// temporary mount of its snapshot, as docker and nerdctl do; the user's supplementary groups
// come from /etc/group then too.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "snapshotter/mount.h"

namespace berth::cli {

struct ResolvedUser {
  std::string ids;  // "uid:gid"
  std::vector<uint32_t> additional_gids;
};

// NotFound (a message naming the user and the file) when a name is not in the image.
// `mount_dir` is where the temporary mount point is made.
StatusOr<ResolvedUser> ResolveUser(const std::string& user, const std::vector<snapshotter::Mount>& rootfs,
                                   const std::string& mount_dir);

}  // namespace berth::cli
