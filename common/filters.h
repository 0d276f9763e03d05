// containerd's filter syntax, used by every List call and by Events/Subscribe:
//
//   filters  := filter ("," filter)*          (a comma ANDs selectors)
//   filter   := fieldpath [op value]          (no op: the field must be present)
//   fieldpath:= field ("." field)*            (a field may be quoted: labels."a.b")
//   op       := "==" | "!=" | "~="            (~= is a regular expression match)
//   value    := quoted string | bare run of characters up to "," or space
//
// Several filter strings are ORed; an empty list or an empty string matches everything.
// Objects are matched through an Adaptor that returns the value at a field path, or nullopt
// when the field is absent.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth {

using FieldPath = std::vector<std::string>;
using FilterAdaptor = std::function<std::optional<std::string>(const FieldPath&)>;

class Filter {
 public:
  // InvalidArgument (with the position) for a malformed string.
  static StatusOr<Filter> Parse(std::string_view s);
  // ORs several strings.
  static StatusOr<Filter> ParseAll(const std::vector<std::string>& filters);

  bool Match(const FilterAdaptor& adaptor) const;
  bool MatchesAll() const { return alternatives_.empty(); }

 private:
  enum class Op { kPresent, kEqual, kNotEqual, kMatches };
  struct Selector {
    FieldPath path;
    Op op = Op::kPresent;
    std::string value;
    std::shared_ptr<std::regex> re;
  };
  // Outer vector ORed, inner ANDed. Empty outer = match all.
  std::vector<std::vector<Selector>> alternatives_;
};

// Convenience for the common "labels.<key>" lookup.
inline std::optional<std::string> LookupLabel(const std::map<std::string, std::string>& labels,
                                              const FieldPath& path) {
  if (path.size() < 2) return std::nullopt;
  std::string key = path[1];
  for (size_t i = 2; i < path.size(); ++i) key += "." + path[i];
  auto it = labels.find(key);
  if (it == labels.end()) return std::nullopt;
  return it->second;
}

}  // namespace berth
