// Platforms (os/arch/variant) and containerd's matching rules (platforms.Normalize, Only):
// architectures and variants are normalised ("x86_64" -> amd64, "aarch64" -> arm64, arm64 "v8"
// -> "", "armhf" -> arm/v7, arm with no variant -> v7), then a candidate matches when its
// os, arch and variant equal the wanted ones; a wanted arm variant also accepts older ones
// (arm/v7 runs v6 and v5 images, as containerd's Only does), preferred in that order.
//
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace berth::images {

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string os_version;
  std::vector<std::string> os_features;
  bool operator==(const Platform& o) const {
    return os == o.os && architecture == o.architecture && variant == o.variant;
  }
};

// The platform berthd runs on (linux/amd64 on x86-64).
Platform DefaultPlatform();

// Parses "os[/arch[/variant]]" or "arch" alone ("amd64" -> linux/amd64). InvalidArgument
// for an empty or malformed specifier.
StatusOr<Platform> ParsePlatform(const std::string& spec);

// "os/arch[/variant]".
std::string FormatPlatform(const Platform& p);

Platform Normalize(Platform p);

// A matcher for `want`: Match() says whether a candidate is acceptable, Rank() orders
// acceptable candidates (lower is better).
class PlatformMatcher {
 public:
  explicit PlatformMatcher(Platform want);
  bool Match(const Platform& candidate) const;
  int Rank(const Platform& candidate) const;

 private:
  std::vector<Platform> accepted_;  // in preference order
};

}  // namespace berth::images
