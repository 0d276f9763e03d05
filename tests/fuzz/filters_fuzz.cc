// Fuzz target: containerd filter expressions (common/filters.h), sent by any client in List
// and Subscribe calls. The input is split at newlines into filter strings; each is parsed and
// the ORed set is matched against a fixed object (with labels), then each string is unquoted.
// Checks: nothing crashes or hangs (RE2 keeps regexps linear); a set with an empty string
// matches everything.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/filters.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= in.size() && parts.size() < 8) {
    size_t j = in.find('\n', i);
    if (j == std::string::npos) j = in.size();
    parts.push_back(in.substr(i, j - i));
    i = j + 1;
  }
  const std::map<std::string, std::string> labels = {
      {"containerd.io/gc.ref.content", "sha256:abc"}, {"a.b", "c"}, {"empty", ""}};
  berth::FilterAdaptor adaptor = [&](const berth::FieldPath& path) -> std::optional<std::string> {
    if (path.empty()) return std::nullopt;
    if (path[0] == "name") return std::string("docker.io/library/busybox:latest");
    if (path[0] == "topic") return std::string("/tasks/exit");
    if (path[0] == "id") return berth::NonEmptyField("");
    if (path[0] == "labels") return berth::LookupLabel(labels, path);
    return std::nullopt;
  };
  for (const auto& p : parts) {
    if (auto f = berth::Filter::Parse(p); f.ok()) (void)f->Match(adaptor);
    (void)berth::filters_internal::Unquote(p);
  }
  auto all = berth::Filter::ParseAll(parts);
  if (all.ok()) {
    bool m = all->Match(adaptor);
    for (const auto& p : parts) {
      if (p.empty()) FUZZ_CHECK(m && all->MatchesAll(), "a set with an empty filter must match everything");
    }
  }
  return 0;
}
