// The kernel's OOM-killer preference of a process (/proc/<pid>/oom_score_adj, -1000..1000).
// containerd makes every shim slightly more killable than the daemon (the daemon's score plus
// one, at most 1000: pkg runtime/v2/shim AdjustOOMScore) so that under memory pressure the
// kernel picks a shim before the daemon that manages all of them. Raising a score needs no
// privilege; lowering one below what it was needs CAP_SYS_RESOURCE.
//
// Thread-safety: free functions over procfs, safe from any thread.
#pragma once

#include <sys/types.h>

#include "common/status.h"

namespace berth::runtime {

inline constexpr int kOomScoreAdjMax = 1000;

// The score of `pid` (0 = this process). NotFound when the process is gone.
StatusOr<int> ReadOomScoreAdj(pid_t pid);
// Sets the score of `pid`. InvalidArgument outside -1000..1000; PermissionDenied when lowering
// without CAP_SYS_RESOURCE; NotFound when the process is gone.
Status WriteOomScoreAdj(pid_t pid, int score);
// Sets `shim`'s score to this process's plus one (capped at 1000); a no-op when it already is.
Status AdjustShimOomScore(pid_t shim);

}  // namespace berth::runtime
