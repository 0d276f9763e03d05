#include "runtime/oom_score.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "common/fs.h"

namespace berth::runtime {
namespace {

std::string PathOf(pid_t pid) {
  return pid == 0 ? std::string("/proc/self/oom_score_adj") : StrCat("/proc/", pid, "/oom_score_adj");
}

}  // namespace

StatusOr<int> ReadOomScoreAdj(pid_t pid) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(PathOf(pid)));
  try {
    return std::stoi(text);
  } catch (const std::exception&) {
    return absl::InternalError(StrCat(PathOf(pid), ": not a number: \"", text, "\""));
  }
}

Status WriteOomScoreAdj(pid_t pid, int score) {
  if (score < -kOomScoreAdjMax || score > kOomScoreAdjMax) {
    return absl::InvalidArgumentError(StrCat("oom_score_adj ", score, " outside -1000..1000"));
  }
  return WriteFileInPlace(PathOf(pid), std::to_string(score));
}

Status AdjustShimOomScore(pid_t shim) {
  ASSIGN_OR_RETURN(int own, ReadOomScoreAdj(0));
  int want = std::min(own + 1, kOomScoreAdjMax);
  ASSIGN_OR_RETURN(int now, ReadOomScoreAdj(shim));
  if (now == want) return Status();
  return Annotate(WriteOomScoreAdj(shim, want), StrCat("set oom_score_adj of shim ", shim));
}

}  // namespace berth::runtime
