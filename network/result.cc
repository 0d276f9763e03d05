// CNI results: parsing every version libcni reads (0.1.0/0.2.0's ip4/ip6, 0.3.x/0.4.0 with
// ips[].version, 1.0.0 without) into the 1.0.0 shape, and converting a result document between
// versions for prevResult.
#include <arpa/inet.h>

#include <charconv>

#include "network/internal.h"

namespace berth::network {
namespace {

using nlohmann::json;

Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(StrCat("parse CNI result: ", what));
}

// Reads an optional string member; InvalidArgument when present with another type.
Status OptString(const json& obj, const char* key, std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status();
  if (!it->is_string()) return Bad(StrCat("'", key, "' is not a string"));
  *out = it->get<std::string>();
  return Status();
}

Status OptStrings(const json& obj, const char* key, std::vector<std::string>* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Status();
  if (!it->is_array()) return Bad(StrCat("'", key, "' is not an array"));
  for (const auto& v : *it) {
    if (!v.is_string()) return Bad(StrCat("'", key, "' holds a non-string"));
    out->push_back(v.get<std::string>());
  }
  return Status();
}

// An optional array of objects.
StatusOr<std::vector<json>> OptObjects(const json& obj, const char* key) {
  std::vector<json> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) return Bad(StrCat("'", key, "' is not an array"));
  for (const auto& v : *it) {
    if (!v.is_object()) return Bad(StrCat("'", key, "' holds a non-object"));
    out.push_back(v);
  }
  return out;
}

bool ParseIp(std::string_view s, int* family) {
  std::string z(s);
  unsigned char buf[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, z.c_str(), buf) == 1) {
    *family = 4;
    return true;
  }
  if (inet_pton(AF_INET6, z.c_str(), buf) == 1) {
    *family = 6;
    return true;
  }
  return false;
}

// "10.0.0.2/24" or "fd00::2/64"; returns the family (4 or 6) or 0 when malformed.
int CidrFamily(std::string_view cidr) {
  size_t slash = cidr.find('/');
  if (slash == std::string_view::npos) return 0;
  int family = 0;
  if (!ParseIp(cidr.substr(0, slash), &family)) return 0;
  std::string_view p = cidr.substr(slash + 1);
  int prefix = -1;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
  if (ec != std::errc() || end != p.data() + p.size() || prefix < 0) return 0;
  if (prefix > (family == 4 ? 32 : 128)) return 0;
  return family;
}

Status CheckCidr(const std::string& cidr, const char* what) {
  if (CidrFamily(cidr) == 0) return Bad(StrCat(what, " '", cidr, "' is not an address/prefix"));
  return Status();
}

Status CheckIp(const std::string& ip, const char* what) {
  int family = 0;
  if (!ip.empty() && !ParseIp(ip, &family)) return Bad(StrCat(what, " '", ip, "' is not an IP"));
  return Status();
}

Status ParseRoutes(const json& obj, std::vector<Route>* out) {
  ASSIGN_OR_RETURN(auto routes, OptObjects(obj, "routes"));
  for (const auto& r : routes) {
    Route route;
    RETURN_IF_ERROR(OptString(r, "dst", &route.dst));
    RETURN_IF_ERROR(OptString(r, "gw", &route.gw));
    RETURN_IF_ERROR(CheckCidr(route.dst, "route dst"));
    RETURN_IF_ERROR(CheckIp(route.gw, "route gw"));
    out->push_back(std::move(route));
  }
  return Status();
}

Status ParseDns(const json& obj, DNS* dns) {
  auto it = obj.find("dns");
  if (it == obj.end() || it->is_null()) return Status();
  if (!it->is_object()) return Bad("'dns' is not an object");
  RETURN_IF_ERROR(OptStrings(*it, "nameservers", &dns->nameservers));
  RETURN_IF_ERROR(OptString(*it, "domain", &dns->domain));
  RETURN_IF_ERROR(OptStrings(*it, "search", &dns->search));
  RETURN_IF_ERROR(OptStrings(*it, "options", &dns->options));
  return Status();
}

// 0.1.0/0.2.0: {"ip4": {"ip", "gateway", "routes"}, "ip6": {...}, "dns"}.
Status ParseLegacy(const json& j, Result* r) {
  for (const char* key : {"ip4", "ip6"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_object()) return Bad(StrCat("'", key, "' is not an object"));
    IPConfig ip;
    RETURN_IF_ERROR(OptString(*it, "ip", &ip.address));
    RETURN_IF_ERROR(OptString(*it, "gateway", &ip.gateway));
    RETURN_IF_ERROR(CheckCidr(ip.address, "ip"));
    RETURN_IF_ERROR(CheckIp(ip.gateway, "gateway"));
    r->ips.push_back(std::move(ip));
    RETURN_IF_ERROR(ParseRoutes(*it, &r->routes));
  }
  return ParseDns(j, &r->dns);
}

// 0.3.0 and later: interfaces, ips, routes, dns. 0.3.x/0.4.0 also carry ips[].version ("4" or
// "6"); like libcni, the address decides and a missing or stale version is not an error.
Status ParseCurrent(const json& j, Result* r) {
  ASSIGN_OR_RETURN(auto ifaces, OptObjects(j, "interfaces"));
  for (const auto& i : ifaces) {
    Interface iface;
    RETURN_IF_ERROR(OptString(i, "name", &iface.name));
    RETURN_IF_ERROR(OptString(i, "mac", &iface.mac));
    RETURN_IF_ERROR(OptString(i, "sandbox", &iface.sandbox));
    r->interfaces.push_back(std::move(iface));
  }
  ASSIGN_OR_RETURN(auto ips, OptObjects(j, "ips"));
  for (const auto& i : ips) {
    IPConfig ip;
    RETURN_IF_ERROR(OptString(i, "address", &ip.address));
    RETURN_IF_ERROR(OptString(i, "gateway", &ip.gateway));
    RETURN_IF_ERROR(CheckCidr(ip.address, "ip address"));
    RETURN_IF_ERROR(CheckIp(ip.gateway, "ip gateway"));
    if (auto it = i.find("interface"); it != i.end() && !it->is_null()) {
      if (!it->is_number_integer()) return Bad("ip 'interface' is not an integer");
      int idx = it->get<int>();
      if (idx < 0 || static_cast<size_t>(idx) >= r->interfaces.size()) {
        return Bad(StrCat("ip 'interface' ", idx, " is out of range"));
      }
      ip.interface = idx;
    }
    r->ips.push_back(std::move(ip));
  }
  RETURN_IF_ERROR(ParseRoutes(j, &r->routes));
  return ParseDns(j, &r->dns);
}

enum class Shape { kLegacy, kVersionedIps, kCurrent };

StatusOr<Shape> ShapeOf(std::string_view version) {
  ASSIGN_OR_RETURN(int vs030, internal::CompareVersions(version, "0.3.0"));
  if (vs030 < 0) return Shape::kLegacy;
  ASSIGN_OR_RETURN(int vs100, internal::CompareVersions(version, "1.0.0"));
  if (vs100 < 0) {
    ASSIGN_OR_RETURN(int vs050, internal::CompareVersions(version, "0.5.0"));
    if (vs050 >= 0) return Bad(StrCat("unsupported cniVersion '", version, "'"));
    return Shape::kVersionedIps;
  }
  ASSIGN_OR_RETURN(int vs200, internal::CompareVersions(version, "2.0.0"));
  if (vs200 >= 0) return Bad(StrCat("unsupported cniVersion '", version, "'"));
  return Shape::kCurrent;
}

StatusOr<int> ParseComponent(std::string_view s, std::string_view whole) {
  int v = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0) {
    return absl::InvalidArgumentError(StrCat("invalid CNI version '", whole, "'"));
  }
  return v;
}

StatusOr<std::vector<int>> SplitVersion(std::string_view v) {
  std::string_view whole = v;
  if (v.empty()) v = "0.1.0";
  std::vector<int> parts;
  while (true) {
    size_t dot = v.find('.');
    ASSIGN_OR_RETURN(int c, ParseComponent(v.substr(0, dot), whole));
    parts.push_back(c);
    if (dot == std::string_view::npos) break;
    v.remove_prefix(dot + 1);
  }
  if (parts.size() > 3)
    return absl::InvalidArgumentError(StrCat("invalid CNI version '", whole, "'"));
  parts.resize(3, 0);
  return parts;
}

}  // namespace

namespace internal {

StatusOr<int> CompareVersions(std::string_view a, std::string_view b) {
  ASSIGN_OR_RETURN(auto pa, SplitVersion(a));
  ASSIGN_OR_RETURN(auto pb, SplitVersion(b));
  if (pa < pb) return -1;
  if (pa > pb) return 1;
  return 0;
}

StatusOr<Result> ParseResult(std::string_view bytes, std::string_view default_version) {
  json j = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Bad("not JSON");
  if (!j.is_object()) return Bad("not a JSON object");
  Result r;
  RETURN_IF_ERROR(OptString(j, "cniVersion", &r.cni_version));
  if (r.cni_version.empty()) {
    // As libcni: a result without a version has the config's.
    r.cni_version = default_version.empty() ? "0.1.0" : std::string(default_version);
    j["cniVersion"] = r.cni_version;
  }
  ASSIGN_OR_RETURN(Shape shape, ShapeOf(r.cni_version));
  if (shape == Shape::kLegacy) {
    RETURN_IF_ERROR(ParseLegacy(j, &r));
  } else {
    RETURN_IF_ERROR(ParseCurrent(j, &r));
  }
  r.raw = std::move(j);
  return r;
}

StatusOr<nlohmann::json> ConvertResult(const nlohmann::json& raw, std::string_view version) {
  ASSIGN_OR_RETURN(Shape to, ShapeOf(version));
  if (to == Shape::kLegacy) {
    return absl::InvalidArgumentError(
        StrCat("cannot convert a CNI result to version '", version, "' (below 0.3.0)"));
  }
  ASSIGN_OR_RETURN(Result parsed, internal::ParseResult(raw.dump(), ""));
  ASSIGN_OR_RETURN(Shape from, ShapeOf(parsed.cni_version));
  json out;
  if (from == Shape::kLegacy) {
    // Rebuild from the parsed form: 0.2.0's ip4/ip6 become ips without interfaces.
    out = json::object();
    json ips = json::array();
    for (const auto& ip : parsed.ips) {
      json o = {{"address", ip.address}};
      if (!ip.gateway.empty()) o["gateway"] = ip.gateway;
      ips.push_back(std::move(o));
    }
    out["ips"] = std::move(ips);
    json routes = json::array();
    for (const auto& r : parsed.routes) {
      json o = {{"dst", r.dst}};
      if (!r.gw.empty()) o["gw"] = r.gw;
      routes.push_back(std::move(o));
    }
    if (!routes.empty()) out["routes"] = std::move(routes);
    if (auto it = raw.find("dns"); it != raw.end()) out["dns"] = *it;
  } else {
    out = parsed.raw;
  }
  out["cniVersion"] = std::string(version);
  if (auto it = out.find("ips"); it != out.end() && it->is_array()) {
    for (auto& ip : *it) {
      if (to == Shape::kCurrent) {
        ip.erase("version");
      } else {
        ip["version"] = std::to_string(CidrFamily(ip.value("address", "")));
      }
    }
  }
  return out;
}

}  // namespace internal

StatusOr<Result> ParseResult(std::string_view bytes) { return internal::ParseResult(bytes, ""); }

std::string Result::FirstAddress(const std::string& ifname, int family) const {
  auto bare = [](const std::string& cidr) { return cidr.substr(0, cidr.find('/')); };
  for (const auto& ip : ips) {
    if (!ip.interface || *ip.interface < 0 ||
        static_cast<size_t>(*ip.interface) >= interfaces.size() ||
        CidrFamily(ip.address) != family) {
      continue;
    }
    const Interface& iface = interfaces[*ip.interface];
    if (iface.name == ifname && !iface.sandbox.empty()) return bare(ip.address);
  }
  for (const auto& ip : ips) {
    if (CidrFamily(ip.address) == family) return bare(ip.address);
  }
  return "";
}

}  // namespace berth::network
