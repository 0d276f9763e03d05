// `[cgroup] path` of the configuration: berthd moves itself into that cgroup at start, as
// containerd does (services/server apply). With the unified hierarchy (cgroup v2 on
// /sys/fs/cgroup) that is /sys/fs/cgroup/<path>; otherwise (v1, also the hybrid layout, as
// containerd's cgroups.Mode treats it) the same path in every mounted v1 hierarchy. Missing
// directories are created (cpuset levels get their parent's cpus and mems, which a v1 cpuset
// needs before it can hold a process). Shims started later inherit the cgroup.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/status.h"

namespace berth::daemon {

// Moves process `pid` (all its threads) into cgroup `path` ("/berth" or "berth"). The first
// failing hierarchy's error (its code from errno) is returned; InvalidArgument for a path with
// "..".
Status JoinCgroup(const std::string& path, pid_t pid);

}  // namespace berth::daemon
