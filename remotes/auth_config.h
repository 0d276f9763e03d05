// Registry credentials as docker keeps them: `$DOCKER_CONFIG/config.json` (default
// `~/.docker/config.json`), object "auths" mapping a server key to {"auth": base64("user:pass")}
// (also "username"/"password" and "identitytoken" when present). Every other key of the file
// (credsStore, proxies, ...) is kept as is when berth rewrites it; the file is written
// atomically with mode 0600, its directory created 0700.
//
// Server keys follow docker: Docker Hub is "https://index.docker.io/v1/"; any other registry is
// its "host[:port]". Lookups accept a key stored with a scheme or a path too
// ("https://127.0.0.1:5000/v2/" matches host "127.0.0.1:5000"), as docker's does.
//
// Pure functions over a JSON document plus Load/Save of the file; thread-compatible.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace berth::remotes {

inline constexpr char kDockerHubAuthKey[] = "https://index.docker.io/v1/";

struct AuthEntry {
  std::string username, password;
  std::string identity_token;  // "identitytoken": sent as the password of a token request
};

// "docker.io", "index.docker.io", "registry-1.docker.io" and "" -> kDockerHubAuthKey; a
// "scheme://host[:port]/path" -> "host[:port]"; anything else as given.
std::string AuthKeyFor(const std::string& server);

// The config file's path: $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json.
std::string DockerConfigPath();

std::string Base64Encode(const std::string& in);
// InvalidArgument on characters outside the (standard, padded or not) alphabet.
StatusOr<std::string> Base64Decode(const std::string& in);

class AuthConfig {
 public:
  // An absent file is an empty config; a file that is not a JSON object is InvalidArgument.
  static StatusOr<AuthConfig> Load(const std::string& path);
  static StatusOr<AuthConfig> Parse(const std::string& text);
  // Internal on write errors.
  Status Save(const std::string& path) const;

  // The credentials for `server` (any form AuthKeyFor accepts); nullopt when none is stored.
  // InvalidArgument when the stored "auth" is not base64 of "user:password".
  StatusOr<std::optional<AuthEntry>> Get(const std::string& server) const;
  void Set(const std::string& server, const AuthEntry& e);
  // Whether an entry was removed.
  bool Erase(const std::string& server);

  const nlohmann::json& json() const { return doc_; }

 private:
  // The key in "auths" that matches `server`, or "" when none does.
  std::string FindKey(const std::string& server) const;
  nlohmann::json doc_ = nlohmann::json::object();
};

}  // namespace berth::remotes
