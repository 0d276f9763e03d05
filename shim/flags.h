// Command line of containerd-shim-berth-v2, as containerd 1.6 invokes a shim v2 binary.
//
//   start:  -namespace NS -address ADDR -publish-binary BIN -id ID [-debug] start
//   delete: -namespace NS -address ADDR -publish-binary BIN -id ID -bundle DIR [-debug] delete
//   serve:  -namespace NS -id ID -address ADDR [-debug]        (re-exec'd by start, fd 3 = socket)
// Flags follow Go's flag package: "-f v", "-f=v", "--f v" and boolean "-debug". The action is
// the first non-flag argument. Also the socket address rule of shim v2. Pure functions.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace berth::shim {

struct Flags {
  std::string ns;              // -namespace
  std::string address;         // -address: the daemon's gRPC socket (only feeds the hash)
  std::string publish_binary;  // -publish-binary (vestigial in 1.6)
  std::string id;              // -id
  std::string bundle;          // -bundle (delete; defaults to the cwd)
  bool debug = false;          // -debug
  std::string action;          // "start", "delete" or "" (serve)
};

// InvalidArgument for an unknown flag, a missing value or an unknown action.
StatusOr<Flags> ParseFlags(const std::vector<std::string>& args);

// "unix:///run/containerd/s/<hex sha256 of "<address>/<ns>/<id>">" (Go filepath.Join semantics
// for the hashed string, so the address matches containerd-shim-runc-v2's for the same inputs).
std::string SocketAddress(const std::string& socket_root, const std::string& address,
                          const std::string& ns, const std::string& id);

// Go's filepath.Clean for absolute and relative slash paths.
std::string CleanPath(const std::string& path);

}  // namespace berth::shim
