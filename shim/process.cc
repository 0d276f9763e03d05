#include "shim/process.h"

namespace berth::shim {

const char* ProcStateName(ProcState s) {
  switch (s) {
    case ProcState::kCreated: return "created";
    case ProcState::kRunning: return "running";
    case ProcState::kPaused: return "paused";
    case ProcState::kStopped: return "stopped";
    case ProcState::kDeleted: return "deleted";
  }
  return "unknown";
}

containerd::v1::types::Status ToProtoStatus(ProcState s) {
  switch (s) {
    case ProcState::kCreated: return containerd::v1::types::CREATED;
    case ProcState::kRunning: return containerd::v1::types::RUNNING;
    case ProcState::kPaused: return containerd::v1::types::PAUSED;
    case ProcState::kStopped:
    case ProcState::kDeleted: return containerd::v1::types::STOPPED;
  }
  return containerd::v1::types::UNKNOWN;
}

Status CheckTransition(const std::string& name, ProcState from, ProcState to) {
  using S = ProcState;
  bool ok = false;
  switch (from) {
    case S::kCreated: ok = to == S::kRunning || to == S::kStopped || to == S::kDeleted; break;
    case S::kRunning: ok = to == S::kPaused || to == S::kStopped; break;
    case S::kPaused: ok = to == S::kRunning || to == S::kStopped; break;
    case S::kStopped: ok = to == S::kDeleted; break;
    case S::kDeleted: ok = false; break;
  }
  if (ok) return absl::OkStatus();
  return absl::FailedPreconditionError(
      StrCat(name, " is ", ProcStateName(from), ": cannot move to ", ProcStateName(to)));
}

Status Process::SetState(ProcState to) {
  RETURN_IF_ERROR(CheckTransition(name(), state_, to));
  state_ = to;
  return absl::OkStatus();
}

}  // namespace berth::shim
