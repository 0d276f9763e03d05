// Small value parsers of the compose loader: command words, durations, byte sizes.
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "compose/loader.h"

namespace berth::compose {

StatusOr<std::vector<std::string>> SplitCommand(std::string_view s) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  for (size_t i = 0; i < s.size(); i++) {
    char c = s[i];
    if (c == '\'') {
      size_t end = s.find('\'', i + 1);
      if (end == std::string_view::npos) return absl::InvalidArgumentError(StrCat("unterminated quote in \"", s, "\""));
      cur.append(s.substr(i + 1, end - i - 1));
      in_word = true;
      i = end;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < s.size() && s[j] != '"'; j++) {
        if (s[j] == '\\' && j + 1 < s.size() && (s[j + 1] == '"' || s[j + 1] == '\\' || s[j + 1] == '$' || s[j + 1] == '`')) j++;
        cur.push_back(s[j]);
      }
      if (j >= s.size()) return absl::InvalidArgumentError(StrCat("unterminated quote in \"", s, "\""));
      in_word = true;
      i = j;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur.push_back(s[++i]);
      in_word = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur.push_back(c);
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(cur));
  return words;
}

StatusOr<int64_t> ParseDuration(std::string_view s) {
  auto bad = [&] { return absl::InvalidArgumentError(StrCat("invalid duration \"", s, "\"")); };
  if (s.empty()) return bad();
  std::string str(s);
  char* end = nullptr;
  // A bare number: seconds.
  double bare = std::strtod(str.c_str(), &end);
  if (end && *end == '\0') {
    if (bare < 0 || !std::isfinite(bare)) return bad();
    return static_cast<int64_t>(bare * 1e9);
  }
  double total = 0;
  size_t i = 0;
  while (i < str.size()) {
    const char* p = str.c_str() + i;
    double v = std::strtod(p, &end);
    if (end == p || v < 0) return bad();
    i = end - str.c_str();
    size_t u = i;
    while (i < str.size() && std::isalpha(static_cast<unsigned char>(str[i]))) i++;
    std::string unit = str.substr(u, i - u);
    double scale;
    if (unit == "h") scale = 3600e9;
    else if (unit == "m") scale = 60e9;
    else if (unit == "s") scale = 1e9;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "us" || unit == "µs") scale = 1e3;
    else if (unit == "ns") scale = 1;
    else return bad();
    total += v * scale;
  }
  if (!std::isfinite(total) || total > 9.2e18) return bad();
  return static_cast<int64_t>(total);
}

StatusOr<int64_t> ParseBytes(std::string_view s) {
  auto bad = [&] { return absl::InvalidArgumentError(StrCat("invalid size \"", s, "\"")); };
  std::string str(s);
  char* end = nullptr;
  double v = std::strtod(str.c_str(), &end);
  if (end == str.c_str() || v < 0 || !std::isfinite(v)) return bad();
  std::string unit;
  for (const char* p = end; *p; p++) unit.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(*p))));
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  if (!unit.empty() && unit.back() == 'b' && unit.size() > 1) unit.pop_back();  // "mb" -> "m"
  if (unit == "ib") return bad();
  if (unit.size() == 2 && unit[1] == 'i') unit.pop_back();  // "mi" -> "m"
  double scale;
  if (unit.empty() || unit == "b") scale = 1;
  else if (unit == "k") scale = 1024.0;
  else if (unit == "m") scale = 1024.0 * 1024;
  else if (unit == "g") scale = 1024.0 * 1024 * 1024;
  else if (unit == "t") scale = 1024.0 * 1024 * 1024 * 1024;
  else return bad();
  double bytes = v * scale;
  if (bytes > 9.2e18) return bad();
  return static_cast<int64_t>(bytes);
}

}  // namespace berth::compose
