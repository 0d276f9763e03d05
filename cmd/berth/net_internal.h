// What networks.cc, net_runtime.cc and network_cmd.cc share (not for other callers).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cmd/berth/networks.h"
#include "common/digest.h"
#include "network/cni.h"

namespace berth::cli {

struct Cidr4 {
  uint32_t addr = 0;  // host order, masked to the prefix
  int prefix = 0;
};
// "10.1.2.0/24" (prefix 8..30). InvalidArgument otherwise (IPv6 named as unsupported).
StatusOr<Cidr4> ParseCidr4(const std::string& s);
std::string FormatIp4(uint32_t addr);

inline std::string Sha256Hex(std::string_view s) {
  Sha256 h;
  h.Update(s);
  return h.Current().hex();
}

std::string CacheDir(const Globals& g);  // Globals::cni_cache_dir or <root>/cni/cache
std::string IpamDir(const Globals& g);   // Globals::cni_ipam_dir or <root>/cni/ipam
network::Cni CniFor(const Globals& g);
// The network's CNI list as the plugins get it: host-local without a dataDir of its own keeps
// its leases in IpamDir(g) (so the conflist does not depend on berthd's root).
StatusOr<network::NetworkConfigList> ConfigOf(const Globals& g, const NetworkInfo& n);

// The CNI container id of container `id` in namespace `ns` ("<ns>.<id>": ids repeat across namespaces).
inline std::string CniId(const std::string& ns, const std::string& id) { return ns + "." + id; }

std::vector<NetworkAttachment> AttachmentsFromLabel(const std::string& label);
nlohmann::json AttachmentsToJson(const std::vector<NetworkAttachment>& nets);

// `berth internal oci-hook createRuntime|poststop`: the OCI state on stdin. Exit code.
int RunOciHook(const Globals& g, const std::string& phase);

}  // namespace berth::cli
