// Fuzz target: image references (remotes/reference.h) and platform strings (images/platform.h),
// both typed by users and found in index JSON. Checks: an accepted reference's normal form
// parses again to the same reference; an accepted platform formats to a string that parses
// back to the same (normalised) platform, and the matcher accepts it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "images/platform.h"
#include "remotes/reference.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  if (auto r = berth::remotes::ParseReference(in); r.ok()) {
    std::string s = r->String();
    (void)r->RegistryHost();
    (void)r->Object();
    auto again = berth::remotes::ParseReference(s);
    FUZZ_CHECK(again.ok(), "normal form " + s + " of " + in + " does not parse: " + again.status().ToString());
    FUZZ_CHECK(again->String() == s, "normal form not stable: " + s + " -> " + again->String());
  }
  if (auto p = berth::images::ParsePlatform(in); p.ok()) {
    berth::images::Platform n = berth::images::Normalize(*p);
    std::string s = berth::images::FormatPlatform(n);
    auto again = berth::images::ParsePlatform(s);
    FUZZ_CHECK(again.ok(), "formatted platform " + s + " does not parse: " + again.status().ToString());
    FUZZ_CHECK(berth::images::Normalize(*again) == n, "platform round trip changed " + s);
    berth::images::PlatformMatcher m(*p);
    FUZZ_CHECK(m.Match(n), "matcher for " + in + " refuses its own platform " + s);
    (void)m.Rank(n);
  }
  return 0;
}
