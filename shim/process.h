// One process of the shim's container: the init process (exec id "") or an exec.
//
// State machine (rejecting anything else with FailedPrecondition):
//   created -> running (Start) -> stopped (exit reaped)  -> deleted (Delete)
//   created -> stopped (killed before start)   created -> deleted (Delete of a never-started task)
//   running <-> paused (Pause/Resume)          paused -> stopped (killed while paused)
// The exit becomes visible (state stopped, Wait answered, /tasks/exit sent) only after the
// process's output has been flushed to the client (see ProcessIO::WhenDrained). Loop thread
// only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "containerd/types/task/task.pb.h"
#include "shim/io.h"
#include "ttrpc/server.h"

namespace berth::shim {

enum class ProcState { kCreated, kRunning, kPaused, kStopped, kDeleted };

const char* ProcStateName(ProcState s);
containerd::v1::types::Status ToProtoStatus(ProcState s);

// OK when `from` -> `to` is an edge of the state machine above; FailedPrecondition naming the
// process and both states otherwise.
Status CheckTransition(const std::string& name, ProcState from, ProcState to);

class Process {
 public:
  Process(std::string exec_id, StdioConfig stdio) : exec_id_(std::move(exec_id)), stdio_(std::move(stdio)) {}

  const std::string& exec_id() const { return exec_id_; }
  bool is_init() const { return exec_id_.empty(); }
  std::string name() const { return is_init() ? "init process" : StrCat("exec \"", exec_id_, "\""); }
  const StdioConfig& stdio() const { return stdio_; }

  ProcState state() const { return state_; }
  // Moves to `to` if allowed (see CheckTransition).
  Status SetState(ProcState to);

  int pid = 0;
  uint32_t exit_status = 0;
  int64_t exited_at_ns = 0;  // wall clock, 0 until exited
  bool exit_pending = false;  // reaped, waiting for its output to drain
  // An asynchronous runc call is under way for it. An exit reaped while starting is reported
  // only after the start answered (so /tasks/start precedes /tasks/exit).
  bool starting = false, deleting = false, pausing = false;
  bool report_after_start = false;
  // Start failed: its exit is recorded (Wait, State, Delete) but never published.
  bool start_failed = false;
  std::string spec_path;      // exec: process.json for runc exec --process
  std::unique_ptr<ProcessIO> io;
  std::vector<ttrpc::Responder> waiters;

 private:
  std::string exec_id_;
  StdioConfig stdio_;
  ProcState state_ = ProcState::kCreated;
};

}  // namespace berth::shim
