#include "cmd/berth/units.h"

#include <sys/resource.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

namespace berth::cli {

StatusOr<int64_t> ParseBytes(const std::string& s) {
  auto bad = [&] { return absl::InvalidArgumentError(StrCat("invalid size \"", s, "\": want a number and a unit (64m)")); };
  if (s.empty()) return bad();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end == s.c_str() || v < 0 || !std::isfinite(v)) return bad();
  std::string unit;
  for (const char* p = end; *p; ++p) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
  if (unit.size() > 1 && (unit.ends_with("ib"))) unit.resize(unit.size() - 2);
  else if (unit.size() > 1 && unit.back() == 'b') unit.pop_back();
  static const std::map<std::string, double> kUnits = {
      {"", 1}, {"b", 1}, {"k", 1024.0}, {"m", 1024.0 * 1024}, {"g", 1024.0 * 1024 * 1024},
      {"t", 1024.0 * 1024 * 1024 * 1024}, {"p", 1024.0 * 1024 * 1024 * 1024 * 1024}};
  auto u = kUnits.find(unit);
  if (u == kUnits.end()) return bad();
  double bytes = v * u->second;
  if (bytes > 9.2e18) return bad();
  return static_cast<int64_t>(bytes);
}

StatusOr<int64_t> ParseNanoCpus(const std::string& s) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || errno != 0 || *end != '\0' || !(v > 0) || v > 1e6) {
    return absl::InvalidArgumentError(StrCat("invalid --cpus \"", s, "\": want a positive number (1.5)"));
  }
  return static_cast<int64_t>(std::llround(v * 1e9));
}

namespace {

bool ParseLimit(const std::string& s, uint64_t* out) {
  if (s == "-1" || s == "unlimited") {
    *out = RLIM_INFINITY;
    return true;
  }
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 19) return false;
  *out = std::stoull(s);
  return true;
}

}  // namespace

StatusOr<Ulimit> ParseUlimit(const std::string& s) {
  static const std::map<std::string, std::string> kNames = {
      {"as", "RLIMIT_AS"},         {"core", "RLIMIT_CORE"},       {"cpu", "RLIMIT_CPU"},
      {"data", "RLIMIT_DATA"},     {"fsize", "RLIMIT_FSIZE"},     {"locks", "RLIMIT_LOCKS"},
      {"memlock", "RLIMIT_MEMLOCK"}, {"msgqueue", "RLIMIT_MSGQUEUE"}, {"nice", "RLIMIT_NICE"},
      {"nofile", "RLIMIT_NOFILE"}, {"nproc", "RLIMIT_NPROC"},     {"rss", "RLIMIT_RSS"},
      {"rtprio", "RLIMIT_RTPRIO"}, {"rttime", "RLIMIT_RTTIME"},   {"sigpending", "RLIMIT_SIGPENDING"},
      {"stack", "RLIMIT_STACK"}};
  size_t eq = s.find('=');
  auto name = kNames.find(s.substr(0, eq));
  if (eq == std::string::npos || name == kNames.end()) {
    return absl::InvalidArgumentError(StrCat("invalid --ulimit \"", s, "\": want NAME=SOFT[:HARD] with NAME one of ",
                                             "nofile, nproc, core, memlock, stack, cpu, fsize, ..."));
  }
  std::string v = s.substr(eq + 1);
  size_t colon = v.find(':');
  Ulimit u;
  u.type = name->second;
  if (!ParseLimit(v.substr(0, colon), &u.soft) ||
      !ParseLimit(colon == std::string::npos ? v : v.substr(colon + 1), &u.hard)) {
    return absl::InvalidArgumentError(StrCat("invalid --ulimit \"", s, "\": limits are numbers or -1"));
  }
  if (u.soft > u.hard) {
    return absl::InvalidArgumentError(StrCat("invalid --ulimit \"", s, "\": soft limit is above the hard limit"));
  }
  return u;
}

std::string RestartPolicy::Label() const {
  if (name == "on-failure" && max_retries > 0) return StrCat("on-failure:", max_retries);
  return name;
}

StatusOr<RestartPolicy> ParseRestartPolicy(const std::string& s) {
  RestartPolicy p;
  size_t colon = s.find(':');
  p.name = s.substr(0, colon);
  std::string arg = colon == std::string::npos ? "" : s.substr(colon + 1);
  if (p.name == "on-failure" && !arg.empty()) {
    if (arg.find_first_not_of("0123456789") != std::string::npos || arg.size() > 6) {
      return absl::InvalidArgumentError(StrCat("invalid --restart \"", s, "\": the maximum retry count is a number"));
    }
    p.max_retries = std::stoi(arg);
    return p;
  }
  if (colon == std::string::npos && (p.name == "no" || p.name == "always" || p.name == "unless-stopped" ||
                                     p.name == "on-failure")) {
    return p;
  }
  return absl::InvalidArgumentError(
      StrCat("invalid --restart \"", s, "\": want no, always, on-failure[:MAX] or unless-stopped"));
}

StatusOr<std::vector<std::string>> ReadKeyValueFile(const std::string& path, bool expand_bare) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(StrCat("open ", path, ": ", strerror(errno)));
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    if (line.find('=') != std::string::npos) {
      out.push_back(line);
      continue;
    }
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (!expand_bare) {
      out.push_back(line + "=");
    } else if (const char* v = std::getenv(line.c_str())) {
      out.push_back(line + "=" + v);
    }
  }
  return out;
}

}  // namespace berth::cli
