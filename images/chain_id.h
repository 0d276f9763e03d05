// Chain IDs (OCI image spec, "Layer ChainID"): the identity of a stack of layers, used as the
// committed snapshot name for it. chainID(L0) = diffID(L0); chainID(L0..Ln) =
// sha256("<chainID(L0..Ln-1)> <diffID(Ln)>") over the "sha256:<hex>" strings.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace berth::images {

// The chain ID of every prefix of `diff_ids` (same length). InvalidArgument for a bad digest.
StatusOr<std::vector<std::string>> ChainIds(const std::vector<std::string>& diff_ids);

}  // namespace berth::images
