// libcni's result cache: one JSON file per attachment under <cache_dir>/results, readable by
// libcni (and so by containerd, cri-o and the cnitool) and by us after a restart.
#include <unistd.h>

#include <cerrno>

#include "common/fs.h"
#include "network/internal.h"

namespace berth::network::internal {
namespace {

using nlohmann::json;

constexpr char kCacheKind[] = "cniCacheV1";
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

// Go's encoding/json writes []byte as standard base64 with padding.
std::string Base64Encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

StatusOr<std::string> Base64Decode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : in) {
    if (c == '=') {
      pad++;
      continue;
    }
    int v = Sextet(c);
    if (v < 0 || pad > 0) return absl::InvalidArgumentError("invalid base64");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (pad > 2 || (in.size() % 4) != 0) return absl::InvalidArgumentError("invalid base64");
  return out;
}

std::string CachePath(const std::string& cache_dir, const std::string& network,
                      const std::string& container_id, const std::string& ifname) {
  return JoinPath(JoinPath(cache_dir, "results"), StrCat(network, "-", container_id, "-", ifname));
}

Status WriteCache(const std::string& cache_dir, const CacheEntry& e) {
  json j = {{"kind", kCacheKind},
            {"containerId", e.container_id},
            {"config", Base64Encode(e.config)},
            {"ifName", e.ifname},
            {"networkName", e.network}};
  if (!e.cni_args.empty()) {
    json args = json::array();
    for (const auto& [k, v] : e.cni_args) args.push_back({k, v});
    j["cniArgs"] = std::move(args);
  }
  if (e.capability_args.is_object() && !e.capability_args.empty()) {
    j["capabilityArgs"] = e.capability_args;
  }
  if (!e.result.is_null()) j["result"] = e.result;
  // berth's addition (libcni ignores unknown keys): the namespace, for teardown after a crash.
  if (!e.netns.empty()) j["netns"] = e.netns;
  std::string dir = JoinPath(cache_dir, "results");
  RETURN_IF_ERROR(MkdirAll(dir, 0700));
  return Annotate(
      WriteFileAtomic(CachePath(cache_dir, e.network, e.container_id, e.ifname), j.dump(), 0600),
      "write CNI cache");
}

StatusOr<CacheEntry> ReadCache(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(StrCat("CNI cache ", path, ": ", why));
  };
  json j = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  CacheEntry e;
  if (j.value("kind", json()) != kCacheKind) {
    // libcni's legacy layout: the file is the result itself.
    e.result = std::move(j);
    return e;
  }
  auto str = [&](const char* key, std::string* out) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return Status();
    if (!it->is_string()) return bad(StrCat("'", key, "' is not a string"));
    *out = it->get<std::string>();
    return Status();
  };
  std::string config64;
  RETURN_IF_ERROR(str("containerId", &e.container_id));
  RETURN_IF_ERROR(str("ifName", &e.ifname));
  RETURN_IF_ERROR(str("networkName", &e.network));
  RETURN_IF_ERROR(str("netns", &e.netns));
  RETURN_IF_ERROR(str("config", &config64));
  auto config = Base64Decode(config64);
  if (!config.ok()) return bad("'config' is not base64");
  e.config = *std::move(config);
  if (auto it = j.find("cniArgs"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return bad("'cniArgs' is not an array");
    for (const auto& kv : *it) {
      if (!kv.is_array() || kv.size() != 2 || !kv[0].is_string() || !kv[1].is_string()) {
        return bad("'cniArgs' holds something other than [key, value] pairs");
      }
      e.cni_args.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
    }
  }
  if (auto it = j.find("capabilityArgs"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return bad("'capabilityArgs' is not an object");
    e.capability_args = *it;
  }
  if (auto it = j.find("result"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return bad("'result' is not an object");
    e.result = *it;
  }
  return e;
}

Status RemoveCache(const std::string& cache_dir, const std::string& network,
                   const std::string& container_id, const std::string& ifname) {
  std::string path = CachePath(cache_dir, network, container_id, ifname);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, StrCat("remove CNI cache ", path));
  }
  return Status();
}

}  // namespace berth::network::internal
