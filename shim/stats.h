// Task metrics for Stats: read straight from the cgroup files of the container's init process
// (/proc/<pid>/cgroup), as io.containerd.cgroups.v1.Metrics on a v1 hierarchy or
// io.containerd.cgroups.v2.Metrics on the unified one, packed into an Any with the bare type
// URL containerd expects. Missing controllers are left unset. Stateless.
#pragma once

#include "common/status.h"
#include "google/protobuf/any.pb.h"

namespace berth::shim {

// NotFound when the process is gone; IO errors of /proc as ErrnoStatus.
Status CollectCgroupStats(int pid, google::protobuf::Any* out);

}  // namespace berth::shim
