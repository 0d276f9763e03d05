// Identifier validation, as containerd's pkg/identifiers: every name that becomes part of a path
// (namespace, container id, exec id, snapshot key directory, lease id) passes through here.
#pragma once

#include <string_view>

#include "common/status.h"

namespace berth {

inline constexpr size_t kMaxIdentifierLength = 76;

// OK when `id` matches ^[A-Za-z0-9]+([._-][A-Za-z0-9]+)*$ and is at most 76 characters;
// otherwise InvalidArgument naming `what` and the identifier.
Status ValidateIdentifier(std::string_view id, std::string_view what = "identifier");

}  // namespace berth
