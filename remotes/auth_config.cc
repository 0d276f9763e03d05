#include "remotes/auth_config.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/fs.h"

namespace berth::remotes {
namespace {

const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string AuthKeyFor(const std::string& server) {
  std::string s = server;
  if (auto p = s.find("://"); p != std::string::npos) s = s.substr(p + 3);
  if (auto p = s.find('/'); p != std::string::npos) s = s.substr(0, p);
  std::string l = Lower(s);
  if (l.empty() || l == "docker.io" || l == "index.docker.io" || l == "registry-1.docker.io") {
    return kDockerHubAuthKey;
  }
  return s;
}

std::string DockerConfigPath() {
  if (const char* d = std::getenv("DOCKER_CONFIG"); d != nullptr && *d != '\0') {
    return std::string(d) + "/config.json";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr && *home != '\0' ? home : "/root") + "/.docker/config.json";
}

std::string Base64Encode(const std::string& in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], kAlphabet[v & 63]};
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

StatusOr<std::string> Base64Decode(const std::string& in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char ch : in) {
    if (ch == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return absl::InvalidArgumentError("base64: data after padding");
    const char* p = std::strchr(kAlphabet, ch);
    if (ch == '\0' || p == nullptr) return absl::InvalidArgumentError("base64: invalid character");
    acc = (acc << 6) | static_cast<uint32_t>(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (pad > 2 || bits >= 6) return absl::InvalidArgumentError("base64: truncated input");
  return out;
}

StatusOr<AuthConfig> AuthConfig::Parse(const std::string& text) {
  AuthConfig c;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return c;
  try {
    c.doc_ = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(StrCat("docker config: ", e.what()));
  }
  if (!c.doc_.is_object()) return absl::InvalidArgumentError("docker config: not a JSON object");
  if (c.doc_.contains("auths") && !c.doc_["auths"].is_object()) {
    return absl::InvalidArgumentError("docker config: \"auths\" is not an object");
  }
  return c;
}

StatusOr<AuthConfig> AuthConfig::Load(const std::string& path) {
  std::ifstream f(path);
  if (!f) {
    if (errno == ENOENT) return AuthConfig();
    return absl::InternalError(StrCat("open ", path, ": ", std::strerror(errno)));
  }
  std::stringstream ss;
  ss << f.rdbuf();
  auto c = Parse(ss.str());
  if (!c.ok()) return absl::InvalidArgumentError(StrCat(path, ": ", c.status().message()));
  return c;
}

Status AuthConfig::Save(const std::string& path) const {
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::InternalError(StrCat("mkdir ", dir, ": ", std::strerror(errno)));
    }
  }
  return WriteFileAtomic(path, doc_.dump(1, '\t') + "\n", 0600);
}

std::string AuthConfig::FindKey(const std::string& server) const {
  if (!doc_.contains("auths")) return "";
  const auto& auths = doc_["auths"];
  std::string want = AuthKeyFor(server);
  if (auths.contains(want)) return want;
  for (auto it = auths.begin(); it != auths.end(); ++it) {
    if (AuthKeyFor(it.key()) == want) return it.key();
  }
  return "";
}

StatusOr<std::optional<AuthEntry>> AuthConfig::Get(const std::string& server) const {
  std::string key = FindKey(server);
  if (key.empty()) return std::optional<AuthEntry>();
  const auto& j = doc_["auths"][key];
  if (!j.is_object()) return absl::InvalidArgumentError(StrCat("docker config: auths[\"", key, "\"] is not an object"));
  AuthEntry e;
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : ""; };
  std::string auth = str("auth");
  if (!auth.empty()) {
    auto dec = Base64Decode(auth);
    if (!dec.ok()) return absl::InvalidArgumentError(StrCat("docker config: auth for ", key, ": ", dec.status().message()));
    auto colon = dec->find(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(StrCat("docker config: auth for ", key, " is not user:password"));
    }
    e.username = dec->substr(0, colon);
    e.password = dec->substr(colon + 1);
  } else {
    e.username = str("username");
    e.password = str("password");
  }
  e.identity_token = str("identitytoken");
  if (e.username.empty() && e.password.empty() && e.identity_token.empty()) return std::optional<AuthEntry>();
  return std::optional<AuthEntry>(e);
}

void AuthConfig::Set(const std::string& server, const AuthEntry& e) {
  std::string key = FindKey(server);
  if (key.empty()) key = AuthKeyFor(server);
  if (!doc_.contains("auths") || !doc_["auths"].is_object()) doc_["auths"] = nlohmann::json::object();
  nlohmann::json entry = nlohmann::json::object();
  entry["auth"] = Base64Encode(e.username + ":" + e.password);
  if (!e.identity_token.empty()) entry["identitytoken"] = e.identity_token;
  doc_["auths"][key] = entry;
}

bool AuthConfig::Erase(const std::string& server) {
  std::string key = FindKey(server);
  if (key.empty()) return false;
  doc_["auths"].erase(key);
  return true;
}

}  // namespace berth::remotes
