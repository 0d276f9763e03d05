// The tar extractor under diff::Apply: reads entries from libarchive and recreates them below
// a root directory with *at() system calls on directory fds resolved with openat2
// RESOLVE_IN_ROOT, so no entry can reach outside the root (see diff/apply.h for the rules).
// Internal to diff/.
#pragma once

#include <string>
#include <vector>

#include "diff/apply.h"

namespace berth::diff {

struct ExtractTarget {
  std::string root;
  WhiteoutMode mode = WhiteoutMode::kDelete;
  // For overlay targets: the lower layers, nearest first, consulted when a parent directory
  // missing from the upper layer has to be created (its owner and mode are copied from there).
  std::vector<std::string> lowerdirs;
};

// Extracts the plain tar stream `tar` into `target`. Counts entries against opts.max_entries.
Status Extract(Reader& tar, const ExtractTarget& target, const ApplyOptions& opts);

}  // namespace berth::diff
