// OCI runtime spec generation for containers created by the `berth` CLI: containerd's
// oci.WithDefaultSpec defaults (namespaces, default capabilities, masked and read-only paths,
// default mounts, rlimits, cgroupsPath /<ns>/<id>) plus a default seccomp allow-list, with the
// process taken from the image config (Env, Entrypoint/Cmd, WorkingDir, User).
//
// Capability names come from libcap (cap_to_name), so only capabilities the host library knows
// are emitted; seccomp syscall names are checked against libseccomp's table for the native
// architecture and unknown ones are dropped. Pure functions, thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace berth::runtime {

// The parts of an OCI image config that shape the process.
struct ImageProcessConfig {
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::string user;  // "uid", "uid:gid", "root" (names other than root need the rootfs: unsupported)
};

struct SpecOptions {
  std::string ns;
  std::string id;
  ImageProcessConfig image;
  std::vector<std::string> args;       // replaces Entrypoint+Cmd entirely when not empty
  std::vector<std::string> extra_env;  // KEY=VALUE, override the image's
  bool terminal = false;
  std::string hostname;  // default: the id
};

// The spec as JSON. InvalidArgument when there is no command or the user cannot be resolved.
StatusOr<std::string> GenerateSpec(const SpecOptions& opts);

// containerd's default capability set, as names known to libcap ("CAP_CHOWN", ...).
std::vector<std::string> DefaultCapabilities();

// The names of the default seccomp allow-list that libseccomp resolves on this architecture.
std::vector<std::string> DefaultSeccompSyscalls();

}  // namespace berth::runtime
