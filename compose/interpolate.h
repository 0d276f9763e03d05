// Variable interpolation in compose files and `.env` files, as the Compose Specification defines
// it: `$VAR` and `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset),
// `${VAR:?message}` / `${VAR?message}` (an error), `${VAR:+replacement}` / `${VAR+replacement}`,
// defaults that themselves hold variables, and `$$` for a literal `$`. An unset variable without
// a default interpolates to the empty string (compose warns; the caller is told through
// `missing`).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth::compose {

// Looks a variable up; nullopt when it is unset.
using Lookup = std::function<std::optional<std::string>(const std::string&)>;

// InvalidArgument for a malformed expression ("${", a bad name) or a `?` error (message:
// "required variable NAME is missing a value: <message>"). Names of variables used while unset
// are appended to `missing` when it is given.
StatusOr<std::string> Interpolate(std::string_view in, const Lookup& lookup,
                                  std::vector<std::string>* missing = nullptr);

// Parses a `.env` file: `KEY=VALUE` lines, `export KEY=VALUE`, comments (`#` at line start, or
// after a space in an unquoted value), single-quoted values verbatim, double-quoted values with
// \n \t \\ \" escapes and interpolation, unquoted values trimmed and interpolated; earlier keys
// and `lookup` are visible to later lines. InvalidArgument names the line.
StatusOr<std::vector<std::pair<std::string, std::string>>> ParseDotEnv(std::string_view text,
                                                                        const Lookup& lookup);

}  // namespace berth::compose
