// Shared between the compose loader's parts (loader.cc, convert.cc); not an interface.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "compose/loader.h"

namespace berth::compose::internal {

// "file:line" of a node (just "file" when the node carries no position).
std::string Where(const std::string& file, const YAML::Node& n);
// InvalidArgument "file:line: path: what".
Status Invalid(const std::string& file, const YAML::Node& n, std::string_view path, std::string_view what);

struct ConvertContext {
  std::vector<std::string> files;  // in merge order; positions are reported against the first
  std::string dir;                 // the project directory
  Lookup env;                      // process environment, then .env
  const LoadOptions& options;
};

// The merged document to the normalised model: short syntaxes expanded, references checked,
// profiles applied, the project named.
StatusOr<Project> Convert(const YAML::Node& doc, const ConvertContext& ctx);

}  // namespace berth::compose::internal
