// The normalised model written back out: `berth compose config` prints RenderYaml, and each
// container carries ConfigHash of its service (label com.docker.compose.config-hash) so that a
// second `up` recreates exactly the services whose definition changed.
#pragma once

#include <string>

#include "compose/model.h"

namespace berth::compose {

// The whole project as YAML in canonical form: long syntaxes, sorted keys, durations as Go
// durations ("30s"), every path absolute.
std::string RenderYaml(const Project& p);

// One service in canonical form (the fragment RenderYaml prints under services.NAME).
std::string RenderServiceYaml(const Service& s);

// sha256 hex of RenderServiceYaml(s) with replicas left out (scaling is not a change).
std::string ConfigHash(const Service& s);

// "1m30s", "10s", "500ms", "0s" — Go's time.Duration format.
std::string FormatDuration(int64_t ns);

}  // namespace berth::compose
