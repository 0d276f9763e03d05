// What the CLI sends a registry, or berthd on its behalf, to be let in: credentials from docker's
// config.json (remotes/auth_config.h) and the CA to trust from `--tlscacert` or a certs.d
// directory laid out as docker's (/etc/docker/certs.d/<host[:port]>/*.crt).
//
// Credentials: $BERTH_REGISTRY_USER / $BERTH_REGISTRY_PASSWORD when set, else the config's
// entry for the host, else anonymous. CA: `tlscacert` when given, else every *.crt of
// <dir>/<host[:port]>/ for each dir of $BERTH_CERTS_DIR (':'-separated; default
// /etc/berth/certs.d:/etc/docker/certs.d), first directory that has one wins; else "" (the
// system bundle). The CA travels as PEM bytes so a berthd on the same host reads nothing the
// user did not point at.
#pragma once

#include <string>

#include "common/status.h"

namespace berth::cli {

struct RegistryAccess {
  std::string username, password;
  std::string ca_pem;
};

// `host` is the registry as it appears in a reference ("127.0.0.1:5000", "docker.io").
// InvalidArgument for an unreadable config or CA file.
StatusOr<RegistryAccess> AccessFor(const std::string& host, const std::string& tlscacert = "");

// The PEM CA for `host` from the certs.d directories ("" when none).
StatusOr<std::string> CertsDirCa(const std::string& host);

// An error a registry gave, with what to do next: Unauthenticated gets "run `berth login HOST`".
Status ExplainRegistryError(const Status& s, const std::string& host, const std::string& what);

}  // namespace berth::cli
