#include "common/filters.h"

#include <cctype>

namespace berth {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(
        StrCat("parse error: filter \"", s_, "\" at position ", pos_, ": ", what));
  }
  void SkipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= s_.size();
  }
  bool Consume(std::string_view tok) {
    SkipSpace();
    if (s_.substr(pos_, tok.size()) == tok) {
      pos_ += tok.size();
      return true;
    }
    return false;
  }
  char Peek() {
    SkipSpace();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }

  // A Go-style quoted string: "..." with backslash escapes, or `...` raw.
  StatusOr<std::string> Quoted() {
    char q = s_[pos_++];
    std::string out;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == q) return out;
      if (c == '\\' && q != '`' && pos_ < s_.size()) {
        char e = s_[pos_++];
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case '\\': out += '\\'; break;
          case '"': out += '"'; break;
          case '\'': out += '\''; break;
          default: out += '\\'; out += e; break;
        }
        continue;
      }
      out += c;
    }
    return Error("unterminated quoted string");
  }

  StatusOr<std::string> Field() {
    char c = Peek();
    if (c == '"' || c == '`') return Quoted();
    size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_' ||
                                s_[pos_] == '-' || s_[pos_] == '/')) {
      ++pos_;
    }
    if (pos_ == start) return Error("expected field name");
    return std::string(s_.substr(start, pos_ - start));
  }

  StatusOr<std::string> Value() {
    char c = Peek();
    if (c == '"' || c == '`') return Quoted();
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ',' && !std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ == start) return Error("expected value");
    return std::string(s_.substr(start, pos_ - start));
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<Filter> Filter::Parse(std::string_view s) { return ParseAll({std::string(s)}); }

StatusOr<Filter> Filter::ParseAll(const std::vector<std::string>& filters) {
  Filter f;
  for (const auto& text : filters) {
    Parser p(text);
    if (p.AtEnd()) {  // an empty string matches everything
      f.alternatives_.clear();
      return f;
    }
    std::vector<Selector> conj;
    for (;;) {
      Selector sel;
      for (;;) {
        ASSIGN_OR_RETURN(std::string field, p.Field());
        sel.path.push_back(std::move(field));
        if (!p.Consume(".")) break;
      }
      if (p.Consume("==")) {
        sel.op = Op::kEqual;
      } else if (p.Consume("!=")) {
        sel.op = Op::kNotEqual;
      } else if (p.Consume("~=")) {
        sel.op = Op::kMatches;
      }
      if (sel.op != Op::kPresent) {
        ASSIGN_OR_RETURN(sel.value, p.Value());
        if (sel.op == Op::kMatches) {
          try {
            sel.re = std::make_shared<std::regex>(sel.value, std::regex::ECMAScript);
          } catch (const std::regex_error& e) {
            return p.Error(StrCat("invalid regular expression \"", sel.value, "\""));
          }
        }
      }
      conj.push_back(std::move(sel));
      if (p.AtEnd()) break;
      if (!p.Consume(",")) return p.Error("expected \",\" or end of filter");
    }
    f.alternatives_.push_back(std::move(conj));
  }
  return f;
}

bool Filter::Match(const FilterAdaptor& adaptor) const {
  if (alternatives_.empty()) return true;
  for (const auto& conj : alternatives_) {
    bool all = true;
    for (const auto& sel : conj) {
      std::optional<std::string> v = adaptor(sel.path);
      bool ok = false;
      switch (sel.op) {
        case Op::kPresent: ok = v.has_value(); break;
        case Op::kEqual: ok = v.has_value() && *v == sel.value; break;
        case Op::kNotEqual: ok = !v.has_value() || *v != sel.value; break;
        case Op::kMatches: ok = v.has_value() && std::regex_search(*v, *sel.re); break;
      }
      if (!ok) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

}  // namespace berth
