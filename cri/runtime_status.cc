#include "cri/runtime_status.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "network/cni.h"

namespace berth::cri {

std::vector<std::string> CniConfigFiles(const std::string& conf_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(conf_dir, ec)) {
    auto ext = e.path().extension().string();
    if ((ext == ".conf" || ext == ".conflist" || ext == ".json") && e.is_regular_file(ec)) {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Condition> RuntimeConditions(const std::string& conf_dir) {
  std::vector<Condition> out;
  out.push_back({"RuntimeReady", true, "", ""});
  // Ready when CNI loads at least one network from the directory (files that do not parse are
  // skipped, as containerd skips them).
  auto nets = network::LoadConfigDir(conf_dir);
  if (!nets.ok() || nets->empty()) {
    out.push_back({"NetworkReady", false, "NetworkPluginNotReady",
                   "Network plugin returns error: cni plugin not initialized (no network config found in " +
                       conf_dir + ")"});
  } else {
    out.push_back({"NetworkReady", true, "", ""});
  }
  return out;
}

}  // namespace berth::cri
