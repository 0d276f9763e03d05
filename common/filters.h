// containerd's filter syntax (its `filters` package), used by every List call and by
// Events/Subscribe:
//
//   selectors := selector ("," selector)*        (a comma ANDs selectors)
//   selector  := fieldpath [operator value]      (no operator: the field must be present)
//   fieldpath := field ("." field)*
//   field     := "…" | [A-Za-z0-9_]+             (labels."containerd.io/x" needs the quotes)
//   operator  := "==" | "!=" | "~="              (~= is a regular expression, found anywhere)
//   value     := quoted | a run of characters up to "," or white space, not starting with one
//                of . , / | " = ! ~ (quote such a value: name~=|.*|)
//   quoted    := "…" always; /…/ and |…| too after ~= (Go string escapes: \n \t \\ \" \xNN …,
//                and \/ or \| inside /…/ or |…|)
//
// White space is skipped before a token but not after a value: "name==x " is a parse error, as
// in containerd. Several filter strings are ORed; no strings, or an empty string among them,
// match everything.
//
// Matching mirrors containerd: an Adaptor returns the value at a field path, or nullopt when the
// field is absent. "==" needs the field present and equal; "!=" and "~=" compare an absent field
// as "" (so "labels.x!=y" matches objects without label x, and "f~=^$" matches absent f). The
// regular expression is RE2 syntax (Go's regexp); one that does not compile never matches and
// is not a parse error (containerd compiles it only when matching).
//
// Parse errors are InvalidArgument "filters: parse error: [<before> >|<char>|< <after>]: <msg>".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace re2 {
class RE2;
}

namespace berth {

using FieldPath = std::vector<std::string>;
using FilterAdaptor = std::function<std::optional<std::string>(const FieldPath&)>;

class Filter {
 public:
  // Matches everything.
  Filter() = default;

  // One filter string ("" matches everything). InvalidArgument for a malformed string.
  static StatusOr<Filter> Parse(std::string_view s);
  // ORs several strings; none matches everything. InvalidArgument (message suffixed
  // ": invalid argument", as containerd's ParseAll) for the first malformed string.
  static StatusOr<Filter> ParseAll(const std::vector<std::string>& filters);

  bool Match(const FilterAdaptor& adaptor) const;
  bool MatchesAll() const;

  enum class Op { kPresent, kEqual, kNotEqual, kMatches };
  struct Selector {
    FieldPath path;
    Op op = Op::kPresent;
    std::string value;
    std::shared_ptr<const re2::RE2> re;  // kMatches only; null when the pattern is invalid
  };

 private:
  // ORed conjunctions; an empty conjunction matches everything, as do no conjunctions at all.
  std::vector<std::vector<Selector>> any_;
};

// Adaptor helpers with containerd's presence rules.

// A string field: present only when non-empty (containerd's `return v, len(v) > 0`).
inline std::optional<std::string> NonEmptyField(const std::string& v) {
  if (v.empty()) return std::nullopt;
  return v;
}

// A map field at path[0] (labels, annotations): absent when the map is empty, otherwise the
// entry whose key is path[1:] joined with "." (containerd's checkMap).
std::optional<std::string> LookupLabel(const std::map<std::string, std::string>& labels, const FieldPath& path);

// The scanner, exposed for its unit test. Tokens are containerd's: negative constants, or a
// positive Unicode code point for a character that starts no token.
namespace filters_internal {

inline constexpr int32_t kTokEOF = -1;
inline constexpr int32_t kTokQuoted = -2;
inline constexpr int32_t kTokValue = -3;
inline constexpr int32_t kTokField = -4;
inline constexpr int32_t kTokSeparator = -5;
inline constexpr int32_t kTokOperator = -6;
inline constexpr int32_t kTokIllegal = -7;

struct Token {
  size_t pos = 0;  // byte offset of the token's first character
  int32_t tok = kTokEOF;
  std::string_view text;
};

class Scanner {
 public:
  explicit Scanner(std::string_view input) : in_(input) {}
  Token Scan();
  // The next character (or kTokEOF / kTokIllegal) without consuming it.
  int32_t Peek();
  // The first error met (sticky), for kTokIllegal tokens.
  const std::string& err() const { return err_; }
  // End of the last consumed character.
  size_t ppos() const { return ppos_; }

 private:
  int32_t Next();
  void Error(const char* msg);
  bool ScanQuoted(int32_t quote);
  int32_t ScanEscape(int32_t quote, bool* legal);
  int32_t ScanDigits(int32_t ch, int base, int n, bool* legal);

  std::string_view in_;
  size_t pos_ = 0;   // start of the current character
  size_t ppos_ = 0;  // end of the current character
  bool value_ = false;
  std::string err_;
};

// Go's strconv.Unquote as containerd extends it ("…", /…/, |…| and `…`); nullopt on a syntax
// error.
std::optional<std::string> Unquote(std::string_view s);

}  // namespace filters_internal
}  // namespace berth
