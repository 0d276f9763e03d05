#include "cmd/berth/registry_auth.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "remotes/auth_config.h"

namespace berth::cli {
namespace {

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path);
  if (!f) return absl::InvalidArgumentError(StrCat("read ", path, ": cannot open"));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    std::string part = s.substr(start, p == std::string::npos ? std::string::npos : p - start);
    if (!part.empty()) out.push_back(part);
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

}  // namespace

StatusOr<std::string> CertsDirCa(const std::string& host) {
  const char* env = std::getenv("BERTH_CERTS_DIR");
  std::string dirs = env != nullptr && *env != '\0' ? env : "/etc/berth/certs.d:/etc/docker/certs.d";
  for (const auto& base : Split(dirs, ':')) {
    std::string dir = base + "/" + host;
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) continue;
    std::vector<std::string> crts;
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 4 && n.compare(n.size() - 4, 4, ".crt") == 0) crts.push_back(n);
    }
    closedir(d);
    std::sort(crts.begin(), crts.end());
    std::string pem;
    for (const auto& n : crts) {
      ASSIGN_OR_RETURN(std::string one, ReadFile(dir + "/" + n));
      pem += one;
      if (!pem.empty() && pem.back() != '\n') pem += '\n';
    }
    if (!pem.empty()) return pem;
  }
  return std::string();
}

StatusOr<RegistryAccess> AccessFor(const std::string& host, const std::string& tlscacert) {
  RegistryAccess a;
  const char* u = std::getenv("BERTH_REGISTRY_USER");
  const char* p = std::getenv("BERTH_REGISTRY_PASSWORD");
  if (u != nullptr || p != nullptr) {
    a.username = u != nullptr ? u : "";
    a.password = p != nullptr ? p : "";
  } else {
    ASSIGN_OR_RETURN(remotes::AuthConfig cfg, remotes::AuthConfig::Load(remotes::DockerConfigPath()));
    ASSIGN_OR_RETURN(auto e, cfg.Get(host));
    if (e) {
      a.username = e->username;
      a.password = e->identity_token.empty() ? e->password : e->identity_token;
    }
  }
  if (!tlscacert.empty()) {
    ASSIGN_OR_RETURN(a.ca_pem, ReadFile(tlscacert));
  } else {
    ASSIGN_OR_RETURN(a.ca_pem, CertsDirCa(host));
  }
  return a;
}

Status ExplainRegistryError(const Status& s, const std::string& host, const std::string& what) {
  if (absl::IsUnauthenticated(s) || absl::IsPermissionDenied(s)) {
    return Status(s.code(), StrCat(what, " denied: ", s.message(), "; run `berth login ", host,
                                   "` with an account that may access it"));
  }
  if (absl::IsUnavailable(s) && s.message().find("SSL") != std::string::npos) {
    return Status(s.code(), StrCat(what, ": ", s.message(), "; give the registry's CA with --tlscacert or put it in /etc/docker/certs.d/",
                                   host, "/ca.crt"));
  }
  return s;
}

}  // namespace berth::cli
