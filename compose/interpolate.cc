#include "compose/interpolate.h"

#include <cctype>

namespace berth::compose {
namespace {

bool NameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool NameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The index of the '}' closing a "${" whose body starts at `i`, or npos.
size_t MatchingBrace(std::string_view s, size_t i) {
  int depth = 1;
  for (; i < s.size(); i++) {
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '$') {
      i++;
    } else if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
      depth++;
      i++;
    } else if (s[i] == '}') {
      if (--depth == 0) return i;
    }
  }
  return std::string_view::npos;
}

StatusOr<std::string> Braced(std::string_view body, const Lookup& lookup, std::vector<std::string>* missing) {
  size_t n = 0;
  if (body.empty() || !NameStart(body[0])) {
    return absl::InvalidArgumentError(StrCat("invalid interpolation format for \"${", body, "}\""));
  }
  while (n < body.size() && NameChar(body[n])) n++;
  std::string name(body.substr(0, n));
  std::string_view rest = body.substr(n);
  std::optional<std::string> v = lookup(name);
  if (rest.empty()) {
    if (!v && missing) missing->push_back(name);
    return v.value_or("");
  }
  bool colon = rest[0] == ':';
  if (colon) rest.remove_prefix(1);
  if (rest.empty()) return absl::InvalidArgumentError(StrCat("invalid interpolation format for \"${", body, "}\""));
  char op = rest[0];
  std::string_view arg = rest.substr(1);
  bool unset_or_empty = !v || (colon && v->empty());
  switch (op) {
    case '-':
      if (unset_or_empty) return Interpolate(arg, lookup, missing);
      return *v;
    case '?':
      if (unset_or_empty) {
        ASSIGN_OR_RETURN(std::string msg, Interpolate(arg, lookup, missing));
        return absl::InvalidArgumentError(StrCat("required variable ", name, " is missing a value: ", msg));
      }
      return *v;
    case '+':
      if (unset_or_empty) return std::string();
      return Interpolate(arg, lookup, missing);
    default:
      return absl::InvalidArgumentError(StrCat("invalid interpolation format for \"${", body, "}\""));
  }
}

}  // namespace

StatusOr<std::string> Interpolate(std::string_view in, const Lookup& lookup, std::vector<std::string>* missing) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); i++) {
    char c = in[i];
    if (c != '$' || i + 1 == in.size()) {
      out.push_back(c);
      continue;
    }
    char d = in[i + 1];
    if (d == '$') {
      out.push_back('$');
      i++;
    } else if (d == '{') {
      size_t end = MatchingBrace(in, i + 2);
      if (end == std::string_view::npos) {
        return absl::InvalidArgumentError(StrCat("invalid interpolation format for \"", in, "\": unclosed ${"));
      }
      ASSIGN_OR_RETURN(std::string v, Braced(in.substr(i + 2, end - i - 2), lookup, missing));
      out += v;
      i = end;
    } else if (NameStart(d)) {
      size_t j = i + 1;
      while (j < in.size() && NameChar(in[j])) j++;
      std::string name(in.substr(i + 1, j - i - 1));
      std::optional<std::string> v = lookup(name);
      if (!v && missing) missing->push_back(name);
      out += v.value_or("");
      i = j - 1;
    } else {
      out.push_back('$');
    }
  }
  return out;
}

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

StatusOr<std::vector<std::pair<std::string, std::string>>> ParseDotEnv(std::string_view text, const Lookup& lookup) {
  std::vector<std::pair<std::string, std::string>> out;
  auto seen = [&](const std::string& k) -> std::optional<std::string> {
    for (auto it = out.rbegin(); it != out.rend(); ++it) {
      if (it->first == k) return it->second;
    }
    return lookup(k);
  };
  size_t lineno = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    size_t next = nl + 1;
    lineno++;
    std::string_view t = Trim(line);
    if (t.empty() || t[0] == '#') {
      pos = next;
      continue;
    }
    if (t.substr(0, 7) == "export " || t.substr(0, 7) == "export\t") t = Trim(t.substr(7));
    size_t eq = t.find('=');
    std::string key(Trim(eq == std::string_view::npos ? t : t.substr(0, eq)));
    bool valid = !key.empty() && NameStart(key[0]);
    for (char ch : key) valid = valid && (NameChar(ch) || ch == '.' || ch == '-');
    if (!valid) return absl::InvalidArgumentError(StrCat("line ", lineno, ": invalid variable name \"", key, "\""));
    if (eq == std::string_view::npos) {
      // A bare name takes its value from the environment, or is skipped.
      if (auto v = lookup(key)) out.emplace_back(key, *v);
      pos = next;
      continue;
    }
    std::string_view raw = t.substr(eq + 1);
    while (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) raw.remove_prefix(1);
    std::string value;
    if (!raw.empty() && (raw[0] == '\'' || raw[0] == '"')) {
      char q = raw[0];
      // A quoted value may span lines.
      std::string_view all = text.substr(pos + (raw.data() - line.data()) + 1);
      size_t close = std::string_view::npos;
      for (size_t k = 0; k < all.size(); k++) {
        if (q == '"' && all[k] == '\\') {
          k++;
          continue;
        }
        if (all[k] == q) {
          close = k;
          break;
        }
      }
      if (close == std::string_view::npos) {
        return absl::InvalidArgumentError(StrCat("line ", lineno, ": unterminated quoted value for ", key));
      }
      std::string_view body = all.substr(0, close);
      for (char ch : body) lineno += ch == '\n';
      next = (all.data() - text.data()) + close + 1;
      size_t eol = text.find('\n', next);
      next = eol == std::string_view::npos ? text.size() + 1 : eol + 1;
      if (q == '\'') {
        value = std::string(body);
      } else {
        std::string unescaped;
        for (size_t k = 0; k < body.size(); k++) {
          if (body[k] == '\\' && k + 1 < body.size()) {
            char e = body[++k];
            unescaped.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e);
          } else {
            unescaped.push_back(body[k]);
          }
        }
        ASSIGN_OR_RETURN(value, Interpolate(unescaped, seen));
      }
    } else {
      size_t hash = raw.find(" #");
      if (hash != std::string_view::npos) raw = raw.substr(0, hash);
      auto v = Interpolate(Trim(raw), seen);
      if (!v.ok()) return Annotate(v.status(), StrCat("line ", lineno));
      value = *std::move(v);
    }
    out.emplace_back(key, value);
    pos = next;
  }
  return out;
}

}  // namespace berth::compose
