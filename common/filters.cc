#include "common/filters.h"

#include <re2/re2.h>

#include "common/log.h"

namespace berth {
namespace filters_internal {
namespace {

constexpr int32_t kRuneError = 0xFFFD;
constexpr int32_t kMaxRune = 0x10FFFF;

// Go's utf8.DecodeRuneInString: {kRuneError, 1} for an invalid sequence, {kRuneError, 0} for "".
std::pair<int32_t, size_t> DecodeRune(std::string_view s) {
  if (s.empty()) return {kRuneError, 0};
  auto b = [&s](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  if (c < 0x80) return {c, 1};
  size_t n;
  int32_t r;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, r = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, r = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, r = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return {kRuneError, 1};
  }
  if (s.size() < n) return {kRuneError, 1};
  for (size_t i = 1; i < n; ++i) {
    unsigned char x = b(i);
    if (x < (i == 1 ? lo : 0x80) || x > (i == 1 ? hi : 0xBF)) return {kRuneError, 1};
    r = (r << 6) | (x & 0x3F);
  }
  return {r, n};
}

// Go's utf8.EncodeRune: invalid code points (surrogates, > U+10FFFF) become U+FFFD.
void AppendRune(std::string* out, int32_t r) {
  if (r < 0 || r > kMaxRune || (r >= 0xD800 && r <= 0xDFFF)) r = kRuneError;
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (r >> 6)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (r >> 12)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (r >> 18)));
    out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

// Go's unicode.IsSpace.
bool IsSpace(int32_t r) {
  switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

// Go's IsLetter || IsDigit || IsNumber || IsGraphic || IsPunct, i.e. any printable character.
// Outside Latin-1 this treats every code point as printable except the format (Cf) and
// private-use ones; unassigned code points count as printable here (Go says not).
bool IsPrintable(int32_t r) {
  if (r < 0) return false;
  if (r < 0x20 || (r >= 0x7F && r <= 0x9F) || r == 0xAD) return false;
  if (r <= 0xFF) return true;
  if ((r >= 0x600 && r <= 0x605) || r == 0x61C || r == 0x6DD || r == 0x70F || r == 0x8E2 || r == 0x180E ||
      (r >= 0x200B && r <= 0x200F) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2060 && r <= 0x206F) ||
      r == 0xFEFF || (r >= 0xFFF9 && r <= 0xFFFB) || (r >= 0xE000 && r <= 0xF8FF) || r >= 0xF0000 ||
      (r >= 0xE0000 && r <= 0xE007F)) {
    return false;
  }
  return true;
}

bool IsFieldRune(int32_t r) {
  return r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9');
}
bool IsOperatorRune(int32_t r) { return r == '=' || r == '!' || r == '~'; }
bool IsQuoteRune(int32_t r) { return r == '/' || r == '|' || r == '"'; }
bool IsSeparatorRune(int32_t r) { return r == ',' || r == '.'; }
bool IsValueRune(int32_t r) { return r != ',' && !IsSpace(r) && IsPrintable(r); }

int DigitVal(int32_t ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return 16;
}

}  // namespace

int32_t Scanner::Next() {
  if (pos_ >= in_.size()) return kTokEOF;
  pos_ = ppos_;
  auto [r, w] = DecodeRune(in_.substr(ppos_));
  ppos_ += w;
  if (r == kRuneError) {
    if (w > 0) {
      Error("rune error");
      return kTokIllegal;
    }
    return kTokEOF;
  }
  if (r == 0) {
    Error("unexpected null");
    return kTokIllegal;
  }
  return r;
}

int32_t Scanner::Peek() {
  size_t pos = pos_, ppos = ppos_;
  int32_t ch = Next();
  pos_ = pos;
  ppos_ = ppos;
  return ch;
}

void Scanner::Error(const char* msg) {
  if (err_.empty()) err_ = msg;
}

Token Scanner::Scan() {
  int32_t ch = Next();
  size_t pos = pos_;
  auto text = [&] { return in_.substr(pos, ppos_ - pos); };
  for (;;) {
    if (ch == kTokEOF || ch == kTokIllegal) break;
    if (IsQuoteRune(ch)) {
      bool ok = ScanQuoted(ch);
      return {pos, ok ? kTokQuoted : kTokIllegal, text()};
    }
    if (IsSeparatorRune(ch)) {
      value_ = false;
      return {pos, kTokSeparator, text()};
    }
    if (IsOperatorRune(ch)) {
      while (IsOperatorRune(Peek())) Next();
      value_ = true;
      return {pos, kTokOperator, text()};
    }
    if (IsSpace(ch)) {
      ch = Next();
      pos = pos_;
      continue;
    }
    if (value_) {
      while (IsValueRune(Peek())) Next();
      value_ = false;
      return {pos, kTokValue, text()};
    }
    if (IsFieldRune(ch)) {
      while (IsFieldRune(Peek())) Next();
      return {pos, kTokField, text()};
    }
    break;
  }
  return {pos_, ch, {}};
}

bool Scanner::ScanQuoted(int32_t quote) {
  bool illegal = false;
  int32_t ch = Next();
  while (ch != quote) {
    if (ch == '\n' || ch < 0) {
      Error("quoted literal not terminated");
      return false;
    }
    if (ch == '\\') {
      bool legal = false;
      ch = ScanEscape(quote, &legal);
      if (!legal) illegal = true;
    } else {
      ch = Next();
    }
  }
  return !illegal;
}

int32_t Scanner::ScanEscape(int32_t quote, bool* legal) {
  int32_t ch = Next();
  switch (ch) {
    case 'a': case 'b': case 'f': case 'n': case 'r': case 't': case 'v': case '\\':
      *legal = true;
      return Next();
    case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
      return ScanDigits(ch, 8, 3, legal);
    case 'x':
      return ScanDigits(Next(), 16, 2, legal);
    case 'u':
      return ScanDigits(Next(), 16, 4, legal);
    case 'U':
      return ScanDigits(Next(), 16, 8, legal);
    default:
      if (ch == quote) {
        *legal = true;
        return Next();
      }
      Error("illegal escape sequence");
      *legal = false;
      return ch;
  }
}

int32_t Scanner::ScanDigits(int32_t ch, int base, int n, bool* legal) {
  while (n > 0 && DigitVal(ch) < base) {
    ch = Next();
    --n;
  }
  if (n > 0) {
    Error("illegal numeric escape sequence");
    *legal = false;
    return ch;
  }
  *legal = true;
  return ch;
}

std::optional<std::string> Unquote(std::string_view s) {
  if (s.size() < 2) return std::nullopt;
  char quote = s.front();
  if (quote != s.back()) return std::nullopt;
  s = s.substr(1, s.size() - 2);
  if (quote == '`') {
    if (s.find('`') != std::string_view::npos) return std::nullopt;
    std::string out;
    for (char c : s) {
      if (c != '\r') out.push_back(c);
    }
    return out;
  }
  if (quote != '"' && quote != '\'' && quote != '|' && quote != '/') return std::nullopt;
  if (s.find('\n') != std::string_view::npos) return std::nullopt;
  if (s.find('\\') == std::string_view::npos && s.find(quote) == std::string_view::npos) {
    if (quote != '\'') return std::string(s);
    auto [r, size] = DecodeRune(s);
    if (size == s.size() && (r != kRuneError || size != 1)) return std::string(s);
  }
  std::string out;
  auto hex = [](char c) { return DigitVal(static_cast<unsigned char>(c)); };
  while (!s.empty()) {
    char c = s[0];
    if (c == quote) return std::nullopt;
    if (static_cast<unsigned char>(c) >= 0x80) {
      auto [r, size] = DecodeRune(s);
      AppendRune(&out, r);
      s.remove_prefix(size);
    } else if (c != '\\') {
      out.push_back(c);
      s.remove_prefix(1);
    } else {
      if (s.size() <= 1) return std::nullopt;
      char e = s[1];
      s.remove_prefix(2);
      switch (e) {
        case 'a': out.push_back('\a'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'v': out.push_back('\v'); break;
        case 'x': case 'u': case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (s.size() < n) return std::nullopt;
          int64_t v = 0;
          for (size_t j = 0; j < n; ++j) {
            int d = hex(s[j]);
            if (d >= 16) return std::nullopt;
            v = (v << 4) | d;
          }
          s.remove_prefix(n);
          if (e == 'x') {
            out.push_back(static_cast<char>(v));  // a single byte, possibly not UTF-8
          } else {
            if (v > kMaxRune) return std::nullopt;
            AppendRune(&out, static_cast<int32_t>(v));
          }
          break;
        }
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
          if (s.size() < 2) return std::nullopt;
          int v = e - '0';
          for (size_t j = 0; j < 2; ++j) {
            int x = s[j] - '0';
            if (x < 0 || x > 7) return std::nullopt;
            v = (v << 3) | x;
          }
          s.remove_prefix(2);
          if (v > 255) return std::nullopt;
          out.push_back(static_cast<char>(v));
          break;
        }
        case '\\': out.push_back('\\'); break;
        case '\'': case '"': case '|': case '/':
          if (e != quote) return std::nullopt;
          out.push_back(e);
          break;
        default:
          return std::nullopt;
      }
    }
    if (quote == '\'' && !s.empty()) return std::nullopt;  // a single character
  }
  return out;
}

}  // namespace filters_internal

namespace {

using namespace filters_internal;

// Go's string(rune): U+FFFD for anything that is not a valid code point.
std::string RuneString(int32_t r) {
  std::string out;
  AppendRune(&out, r);
  return out;
}

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in), sc_(in) {}

  StatusOr<std::vector<Filter::Selector>> Selectors() {
    std::vector<Filter::Selector> out;
    ASSIGN_OR_RETURN(Filter::Selector first, Selector());
    out.push_back(std::move(first));
    for (;;) {
      int32_t tok = sc_.Peek();
      if (tok == ',') {
        Token t = sc_.Scan();
        if (t.tok != kTokSeparator) return Error(t.pos, "expected a separator");
        ASSIGN_OR_RETURN(Filter::Selector s, Selector());
        out.push_back(std::move(s));
      } else if (tok == kTokEOF) {
        return out;
      } else {
        return Error(sc_.ppos(), StrCat("unexpected input: ", RuneString(tok)));
      }
    }
  }

 private:
  Status Error(size_t pos, std::string_view msg) const {
    std::string where;
    if (pos < in_.size()) {
      where = StrCat(in_.substr(0, pos), " >|", in_.substr(pos, 1), "|< ", in_.substr(pos + 1));
    } else {
      where = std::string(in_);
    }
    return absl::InvalidArgumentError(StrCat("filters: parse error: [", where, "]: ", msg));
  }

  StatusOr<Filter::Selector> Selector() {
    Filter::Selector sel;
    ASSIGN_OR_RETURN(sel.path, Path());
    int32_t next = sc_.Peek();
    if (next == ',' || next == kTokSeparator || next == kTokEOF) return sel;  // presence
    ASSIGN_OR_RETURN(sel.op, Operator());
    ASSIGN_OR_RETURN(sel.value, Value(sel.op == Filter::Op::kMatches));
    if (sel.op == Filter::Op::kMatches) {
      RE2::Options opts;
      opts.set_log_errors(false);
      auto re = std::make_shared<RE2>(sel.value, opts);
      if (re->ok()) {
        sel.re = std::move(re);
      } else {
        BLOG(Warn) << "filters: error compiling regexp \"" << sel.value << "\": " << re->error()
                   << " (the selector matches nothing)";
      }
    }
    return sel;
  }

  StatusOr<FieldPath> Path() {
    FieldPath out;
    ASSIGN_OR_RETURN(std::string f, Field());
    out.push_back(std::move(f));
    while (sc_.Peek() == '.') {
      Token t = sc_.Scan();
      if (t.tok != kTokSeparator) return Error(t.pos, "expected a field separator (`.`)");
      ASSIGN_OR_RETURN(std::string next, Field());
      out.push_back(std::move(next));
    }
    return out;
  }

  StatusOr<std::string> Field() {
    Token t = sc_.Scan();
    switch (t.tok) {
      case kTokField:
        return std::string(t.text);
      case kTokQuoted:
        return Unquoted(t, false);
      case kTokIllegal:
        return Error(t.pos, sc_.err());
      default:
        return Error(t.pos, "expected field or quoted");
    }
  }

  StatusOr<Filter::Op> Operator() {
    Token t = sc_.Scan();
    switch (t.tok) {
      case kTokOperator:
        if (t.text == "==") return Filter::Op::kEqual;
        if (t.text == "!=") return Filter::Op::kNotEqual;
        if (t.text == "~=") return Filter::Op::kMatches;
        return Error(t.pos, StrCat("unsupported operator \"", t.text, "\""));
      case kTokIllegal:
        return Error(t.pos, sc_.err());
      default:
        return Error(t.pos, "expected an operator (\"==\"|\"!=\"|\"~=\")");
    }
  }

  StatusOr<std::string> Value(bool allow_alt_quotes) {
    Token t = sc_.Scan();
    switch (t.tok) {
      case kTokValue:
      case kTokField:
        return std::string(t.text);
      case kTokQuoted:
        return Unquoted(t, allow_alt_quotes);
      case kTokIllegal:
        return Error(t.pos, sc_.err());
      default:
        return Error(t.pos, "expected value or quoted");
    }
  }

  StatusOr<std::string> Unquoted(const Token& t, bool allow_alts) {
    if (!allow_alts && t.text[0] != '\'' && t.text[0] != '"') return Error(t.pos, "invalid quote encountered");
    std::optional<std::string> s = Unquote(t.text);
    if (!s) return Error(t.pos, "unquoting failed: quote syntax error");
    return *std::move(s);
  }

  std::string_view in_;
  Scanner sc_;
};

bool MatchSelector(const Filter::Selector& sel, const FilterAdaptor& adaptor) {
  std::optional<std::string> v = adaptor(sel.path);
  switch (sel.op) {
    case Filter::Op::kPresent:
      return v.has_value();
    case Filter::Op::kEqual:
      return v.has_value() && *v == sel.value;
    case Filter::Op::kNotEqual:
      return v.value_or("") != sel.value;
    case Filter::Op::kMatches:
      return sel.re != nullptr && RE2::PartialMatch(v.value_or(""), *sel.re);
  }
  return false;
}

}  // namespace

StatusOr<Filter> Filter::Parse(std::string_view s) {
  Filter f;
  if (s.empty()) return f;
  Parser p(s);
  ASSIGN_OR_RETURN(std::vector<Selector> all, p.Selectors());
  f.any_.push_back(std::move(all));
  return f;
}

StatusOr<Filter> Filter::ParseAll(const std::vector<std::string>& filters) {
  Filter out;
  for (const auto& s : filters) {
    auto f = Parse(s);
    if (!f.ok()) return absl::InvalidArgumentError(StrCat(f.status().message(), ": invalid argument"));
    if (f->any_.empty()) {
      out.any_.emplace_back();  // "" matches everything
    } else {
      out.any_.push_back(std::move(f->any_.front()));
    }
  }
  return out;
}

bool Filter::MatchesAll() const {
  if (any_.empty()) return true;
  for (const auto& all : any_) {
    if (all.empty()) return true;
  }
  return false;
}

bool Filter::Match(const FilterAdaptor& adaptor) const {
  if (any_.empty()) return true;
  for (const auto& all : any_) {
    bool ok = true;
    for (const auto& sel : all) {
      if (!MatchSelector(sel, adaptor)) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

std::optional<std::string> LookupLabel(const std::map<std::string, std::string>& labels, const FieldPath& path) {
  if (labels.empty()) return std::nullopt;
  std::string key;
  for (size_t i = 1; i < path.size(); ++i) {
    if (i > 1) key += '.';
    key += path[i];
  }
  auto it = labels.find(key);
  if (it == labels.end()) return std::nullopt;
  return it->second;
}

}  // namespace berth
