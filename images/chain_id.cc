#include "images/chain_id.h"

#include "common/digest.h"

namespace berth::images {

StatusOr<std::vector<std::string>> ChainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  out.reserve(diff_ids.size());
  for (const auto& id : diff_ids) {
    ASSIGN_OR_RETURN(Digest d, Digest::Parse(id));
    if (out.empty()) {
      out.push_back(d.str());
    } else {
      out.push_back(Sha256::Of(out.back() + " " + d.str()).str());
    }
  }
  return out;
}

}  // namespace berth::images
