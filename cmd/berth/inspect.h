// What inspect needs from a container's cgroup while its task is still there.
#pragma once

#include "cmd/berth/containers.h"

namespace berth::cli {

// Whether the kernel's OOM killer killed a process of the container (oom_kill in the cgroup's
// memory.events, or memory.oom_control on cgroup v1). False when the cgroup is gone.
bool IsOomKilled(const Globals& g, const cov1::Container& c);



}  // namespace berth::cli
