#include "common/identifiers.h"

#include <cctype>

namespace berth {
namespace {
bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool IsSep(char c) { return c == '.' || c == '_' || c == '-'; }
}  // namespace

Status ValidateIdentifier(std::string_view id, std::string_view what) {
  if (id.empty()) return absl::InvalidArgumentError(StrCat(what, " must not be empty"));
  if (id.size() > kMaxIdentifierLength) {
    return absl::InvalidArgumentError(StrCat(what, " \"", id, "\" greater than maximum length (",
                                                   kMaxIdentifierLength, " characters)"));
  }
  bool prev_sep = true;  // must start with an alphanumeric
  for (char c : id) {
    if (IsAlnum(c)) {
      prev_sep = false;
    } else if (IsSep(c) && !prev_sep) {
      prev_sep = true;
    } else {
      return absl::InvalidArgumentError(
          StrCat(what, " \"", id, "\" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$"));
    }
  }
  if (prev_sep) {
    return absl::InvalidArgumentError(
        StrCat(what, " \"", id, "\" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$"));
  }
  return Status();
}

}  // namespace berth
