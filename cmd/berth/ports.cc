// -p/-P parsing, host port assignment, docker's `port` lines, and /etc/hosts rendering (see
// networks.h). Pure except AssignHostPorts, which asks the kernel for free ports.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "cmd/berth/networks.h"
#include "common/unique_fd.h"

namespace berth::cli {
namespace {

using nlohmann::json;

// "80" or "8000-8010"; allow_empty: "" is {0, 0} (a host port to be chosen).
StatusOr<std::pair<uint16_t, uint16_t>> ParseRange(const std::string& s, bool allow_empty, const std::string& spec) {
  auto bad = [&] { return absl::InvalidArgumentError(StrCat("invalid port \"", s, "\" in -p ", spec)); };
  if (s.empty()) {
    if (allow_empty) return std::pair<uint16_t, uint16_t>{0, 0};
    return bad();
  }
  std::vector<std::string> parts = absl::StrSplit(s, '-');
  if (parts.size() > 2) return bad();
  uint32_t lo = 0, hi = 0;
  if (!absl::SimpleAtoi(parts[0], &lo) || lo == 0 || lo > 65535) return bad();
  hi = lo;
  if (parts.size() == 2 && (!absl::SimpleAtoi(parts[1], &hi) || hi < lo || hi > 65535)) return bad();
  return std::pair<uint16_t, uint16_t>{static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
}

bool ValidIp(const std::string& ip) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, ip.c_str(), buf) == 1 || inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

}  // namespace

StatusOr<std::vector<PortPublish>> ParsePublish(const std::string& spec) {
  std::string rest = spec, proto = "tcp";
  if (size_t slash = rest.rfind('/'); slash != std::string::npos) {
    proto = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (proto != "tcp" && proto != "udp" && proto != "sctp") {
      return absl::InvalidArgumentError(StrCat("invalid protocol \"", proto, "\" in -p ", spec, ": tcp, udp or sctp"));
    }
  }
  std::string ip, host, container;
  if (!rest.empty() && rest[0] == '[') {  // [v6]:host:container
    size_t close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return absl::InvalidArgumentError(StrCat("invalid -p ", spec, ": want [IP]:HOST_PORT:CONTAINER_PORT"));
    }
    ip = rest.substr(1, close - 1);
    std::vector<std::string> parts = absl::StrSplit(rest.substr(close + 2), ':');
    if (parts.size() != 2) return absl::InvalidArgumentError(StrCat("invalid -p ", spec));
    host = parts[0];
    container = parts[1];
  } else {
    std::vector<std::string> parts = absl::StrSplit(rest, ':');
    if (parts.size() == 1) {
      container = parts[0];
    } else if (parts.size() == 2) {
      host = parts[0];
      container = parts[1];
    } else if (parts.size() == 3) {
      ip = parts[0];
      host = parts[1];
      container = parts[2];
    } else {
      return absl::InvalidArgumentError(StrCat("invalid -p ", spec, ": an IPv6 address goes in brackets"));
    }
  }
  if (!ip.empty() && !ValidIp(ip)) {
    return absl::InvalidArgumentError(StrCat("invalid IP address \"", ip, "\" in -p ", spec));
  }
  ASSIGN_OR_RETURN(auto c, ParseRange(container, false, spec));
  ASSIGN_OR_RETURN(auto h, ParseRange(host, true, spec));
  const int n = c.second - c.first + 1;
  if (h.first != 0 && h.second - h.first + 1 != n) {
    return absl::InvalidArgumentError(StrCat("-p ", spec, ": the host and container port ranges differ in size"));
  }
  std::vector<PortPublish> out;
  for (int i = 0; i < n; ++i) {
    PortPublish p;
    p.host_ip = ip;
    p.container_port = static_cast<uint16_t>(c.first + i);
    p.host_port = h.first == 0 ? 0 : static_cast<uint16_t>(h.first + i);
    p.protocol = proto;
    out.push_back(p);
  }
  return out;
}

std::vector<PortPublish> ExposedPorts(const std::string& image_config_json) {
  std::vector<PortPublish> out;
  try {
    auto j = json::parse(image_config_json);
    if (!j.contains("config") || !j["config"].is_object() || !j["config"].contains("ExposedPorts") ||
        !j["config"]["ExposedPorts"].is_object()) {
      return out;
    }
    for (const auto& [key, _] : j["config"]["ExposedPorts"].items()) {
      auto ports = ParsePublish(key);  // "80/tcp", "53/udp"
      if (!ports.ok()) continue;
      out.insert(out.end(), ports->begin(), ports->end());
    }
  } catch (const json::exception&) {
  }
  return out;
}

std::string PortLine(const PortPublish& p) {
  std::string ip = p.host_ip.empty() ? "0.0.0.0" : p.host_ip;
  if (ip.find(':') != std::string::npos) ip = "[" + ip + "]";
  return StrCat(p.container_port, "/", p.protocol, " -> ", ip, ":", p.host_port);
}

json PortsToJson(const std::vector<PortPublish>& ports) {
  json out = json::array();
  for (const auto& p : ports) {
    out.push_back({{"HostIp", p.host_ip}, {"HostPort", p.host_port}, {"ContainerPort", p.container_port},
                   {"Protocol", p.protocol}});
  }
  return out;
}

std::vector<PortPublish> PortsFromJson(const std::string& label) {
  std::vector<PortPublish> out;
  try {
    for (const auto& j : json::parse(label)) {
      PortPublish p;
      p.host_ip = j.value("HostIp", "");
      p.host_port = j.value("HostPort", uint16_t{0});
      p.container_port = j.value("ContainerPort", uint16_t{0});
      p.protocol = j.value("Protocol", "tcp");
      out.push_back(p);
    }
  } catch (const json::exception&) {
  }
  return out;
}

Status AssignHostPorts(std::vector<PortPublish>& ports) {
  for (auto& p : ports) {
    if (p.host_port != 0) continue;
    int type = p.protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM;
    UniqueFd fd(socket(AF_INET, type | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return absl::InternalError("socket for a free port failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof a;
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return absl::InternalError("no free host port for -p/-P");
    }
    p.host_port = ntohs(a.sin_port);
  }
  return Status();
}

std::string RenderHosts(const std::vector<std::string>& extra, const std::vector<HostsEntry>& self,
                        const std::vector<HostsEntry>& peers) {
  std::string out =
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
  for (const auto& l : extra) out += l + "\n";
  auto line = [](const HostsEntry& e) {
    std::string s = e.ip + "\t";
    std::set<std::string> seen;
    bool first = true;
    for (const auto& n : e.names) {
      if (n.empty() || !seen.insert(n).second) continue;
      if (!first) s += " ";
      s += n;
      first = false;
    }
    return s + "\n";
  };
  for (const auto& e : self) {
    if (!e.ip.empty()) out += line(e);
  }
  std::vector<HostsEntry> sorted = peers;
  std::stable_sort(sorted.begin(), sorted.end(), [](const HostsEntry& a, const HostsEntry& b) { return a.ip < b.ip; });
  for (const auto& e : sorted) {
    if (!e.ip.empty()) out += line(e);
  }
  return out;
}

}  // namespace berth::cli
