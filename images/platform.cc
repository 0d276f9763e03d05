#include "images/platform.h"

#include <algorithm>
#include <cctype>

namespace berth::images {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool IsKnownOs(const std::string& s) {
  static const char* kOs[] = {"linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris",
                              "illumos", "android", "aix", "plan9", "dragonfly", "js", "ios", "zos"};
  return std::any_of(std::begin(kOs), std::end(kOs), [&](const char* o) { return s == o; });
}

}  // namespace

Platform DefaultPlatform() {
  Platform p;
  p.os = "linux";
#if defined(__x86_64__)
  p.architecture = "amd64";
#elif defined(__aarch64__)
  p.architecture = "arm64";
#elif defined(__arm__)
  p.architecture = "arm";
  p.variant = "v7";
#elif defined(__i386__)
  p.architecture = "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  p.architecture = "ppc64le";
#elif defined(__s390x__)
  p.architecture = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  p.architecture = "riscv64";
#else
  p.architecture = "amd64";
#endif
  return p;
}

Platform Normalize(Platform p) {
  p.os = Lower(p.os);
  if (p.os == "macos") p.os = "darwin";
  std::string arch = Lower(p.architecture), variant = Lower(p.variant);
  if (arch == "i386") {
    arch = "386", variant = "";
  } else if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
    arch = "amd64";
    if (variant == "v1") variant = "";
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant == "8" || variant == "v8") variant = "";
  } else if (arch == "armhf") {
    arch = "arm", variant = "v7";
  } else if (arch == "armel") {
    arch = "arm", variant = "v6";
  } else if (arch == "arm") {
    if (variant.empty() || variant == "7") variant = "v7";
    else if (variant == "5" || variant == "6" || variant == "8") variant = "v" + variant;
  }
  p.architecture = arch;
  p.variant = variant;
  return p;
}

StatusOr<Platform> ParsePlatform(const std::string& spec) {
  auto bad = [&](const char* why) {
    return absl::InvalidArgumentError(StrCat("invalid platform \"", spec, "\": ", why));
  };
  if (spec.empty()) return bad("empty");
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = spec.find('/', start);
    parts.push_back(spec.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  for (const auto& p : parts) {
    if (p.empty()) return bad("empty component");
    for (char c : p) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
        return bad("invalid character");
      }
    }
  }
  Platform p;
  if (parts.size() == 1) {
    std::string one = Lower(parts[0]);
    if (IsKnownOs(one)) {
      p = DefaultPlatform();
      p.os = one;
      if (one != "linux") p.variant.clear();
    } else {
      p.os = "linux";
      p.architecture = one;
    }
  } else if (parts.size() == 2) {
    p.os = parts[0], p.architecture = parts[1];
  } else if (parts.size() == 3) {
    p.os = parts[0], p.architecture = parts[1], p.variant = parts[2];
  } else {
    return bad("too many components");
  }
  return Normalize(p);
}

std::string FormatPlatform(const Platform& p) {
  std::string s = p.os + "/" + p.architecture;
  if (!p.variant.empty()) s += "/" + p.variant;
  return s;
}

PlatformMatcher::PlatformMatcher(Platform want) {
  want = Normalize(want);
  accepted_.push_back(want);
  // An ARM CPU runs older ARM variants; amd64 and arm64 could run 386/arm, but containerd's
  // Only() keeps those out unless asked, and so do we.
  if (want.architecture == "arm") {
    static const char* kOrder[] = {"v8", "v7", "v6", "v5"};
    bool below = false;
    for (const char* v : kOrder) {
      if (below) {
        Platform p = want;
        p.variant = v;
        accepted_.push_back(p);
      }
      if (want.variant == v) below = true;
    }
  }
}

bool PlatformMatcher::Match(const Platform& candidate) const { return Rank(candidate) >= 0; }

int PlatformMatcher::Rank(const Platform& candidate) const {
  Platform c = Normalize(candidate);
  for (size_t i = 0; i < accepted_.size(); ++i) {
    if (c == accepted_[i]) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace berth::images
