// The shim v2 binary contract (containerd 1.6): finding the binary of a runtime, running its
// `start` action to launch a long-lived shim, and its `delete` action to clean up after a shim
// that died.
//
//   start:  <shim> -namespace <ns> -address <grpc sock> -publish-binary <berthd> -id <id> [-debug] start
//           cwd = bundle, env = ours + TTRPC_ADDRESS (+ GOMAXPROCS=2), own process group,
//           stdin = the encoded runc Options Any (may be empty); prints the ttrpc address.
//   delete: <shim> ... -id <id> -bundle <bundle> delete
//           prints an encoded containerd.task.v2.DeleteResponse.
//
// Thread-safety: free functions, safe from any thread (they fork and wait).
#pragma once

#include <string>

#include "common/status.h"
#include "runtime/bundle.h"

namespace berth::runtime {

struct ShimEnv {
  std::string grpc_address;   // berthd's gRPC socket path
  std::string ttrpc_address;  // berthd's ttrpc socket path (TTRPC_ADDRESS)
  std::string self_exe;       // berthd's own executable (-publish-binary; lookup fallback dir)
  bool debug = false;         // pass -debug to `start` (berthd logs at debug or trace), as containerd
};

// "io.containerd.<name>.<ver>" -> "containerd-shim-<name>-<ver>", looked up in $PATH and then in
// the directory of `self_exe`; an absolute path is used as is. NotFound when absent,
// InvalidArgument for a malformed name.
StatusOr<std::string> ResolveShimBinary(const std::string& runtime_name, const std::string& self_exe);

// Runs the start action and returns the address it printed (trimmed). Internal with the shim's
// combined output when it fails.
StatusOr<std::string> StartShim(const std::string& binary, const Bundle& b, const ShimEnv& env,
                                const std::string& options_any);

struct ShimDeleteResult {
  uint32_t pid = 0;
  uint32_t exit_status = 0;
  int64_t exited_at_ns = 0;
};

// Runs the delete action (bounded by a 10 s timeout).
StatusOr<ShimDeleteResult> RunShimDelete(const std::string& binary, const Bundle& b, const ShimEnv& env);

}  // namespace berth::runtime
