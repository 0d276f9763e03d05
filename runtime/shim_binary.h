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

#include <map>
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

// The shim binary of a runtime. `shims` maps runtime names to binaries (berthd's [runtimes]
// table; a bare name or an absolute path). A runtime not in it resolves as containerd does: an
// absolute path is used as is, "io.containerd.<name>.<ver>" runs "containerd-shim-<name>-<ver>".
// A bare binary name is looked up in PATH (`path`; empty and relative entries are skipped, so
// nothing is ever found relative to the working directory), then in the directory of `self_exe`
// (containerd's side-by-side rule: a shim installed beside the daemon; tests rely on it for the
// freshly built shim). NotFound naming the runtime and the binary when absent, InvalidArgument
// for a malformed name.
StatusOr<std::string> ResolveShimBinary(const std::string& runtime_name, const std::map<std::string, std::string>& shims,
                                        const std::string& self_exe, const std::string& path);
// The same, with $PATH (or the default PATH when unset).
StatusOr<std::string> ResolveShimBinary(const std::string& runtime_name, const std::map<std::string, std::string>& shims,
                                        const std::string& self_exe);

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
