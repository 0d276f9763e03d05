// Image references as ctr and Docker understand them, normalised the way containerd's
// reference/docker package does:
//   busybox                      -> docker.io/library/busybox:latest
//   user/app:1                   -> docker.io/user/app:1
//   127.0.0.1:5000/x/y@sha256:.. -> 127.0.0.1:5000/x/y@sha256:..
// A first component is a registry host when it contains '.' or ':' or is "localhost".
// The registry host for docker.io is registry-1.docker.io.
//
// Pure functions, thread-safe.
#pragma once

#include <string>

#include "common/status.h"

namespace berth::remotes {

struct Reference {
  std::string domain;      // "docker.io", "127.0.0.1:5000"
  std::string repository;  // path inside the registry: "library/busybox"
  std::string tag;         // "" when only a digest is given
  std::string digest;      // "" when not pinned

  // The normalised name: "<domain>/<repository>[:<tag>][@<digest>]".
  std::string String() const;
  // Host to talk to for this domain ("registry-1.docker.io" for docker.io).
  std::string RegistryHost() const;
  // "<tag>" or "<digest>" (the digest wins), as used in /v2/<repo>/manifests/<object>.
  std::string Object() const { return digest.empty() ? tag : digest; }
};

// InvalidArgument for an empty or malformed reference (upper-case repository, bad tag or
// digest). A missing tag (and digest) becomes "latest".
StatusOr<Reference> ParseReference(const std::string& ref);

}  // namespace berth::remotes
