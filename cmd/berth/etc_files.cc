// /etc/hosts, /etc/resolv.conf and /etc/hostname for a container (see spec_build.h), as docker
// writes them: the files live in the container's directory and are bind-mounted over the image's.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cmd/berth/spec_build.h"
#include "common/fs.h"

namespace berth::cli {
namespace {

bool IsLoopbackServer(const std::string& ip) { return ip.rfind("127.", 0) == 0 || ip == "::1"; }

// The host's resolv.conf less loopback name servers (unreachable from a container's network
// namespace), or docker's public defaults when none are left.
std::string HostResolvConf() {
  std::ifstream in("/etc/resolv.conf");
  std::string line, out;
  int servers = 0;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    words >> key >> value;
    if (key == "nameserver") {
      if (IsLoopbackServer(value)) continue;
      ++servers;
    }
    out += line + "\n";
  }
  if (servers == 0) out += "nameserver 8.8.8.8\nnameserver 8.8.4.4\n";
  return out;
}

}  // namespace

StatusOr<std::vector<std::string>> AddHostLines(const ContainerFlags& f) {
  std::vector<std::string> out;
  for (const auto& h : f.add_hosts) {
    // HOST:IP (docker) or HOST=IP (docker 25+); the IP may itself hold colons (IPv6).
    size_t sep = h.find_first_of(":=");
    if (sep == std::string::npos || sep == 0 || sep + 1 == h.size()) {
      return absl::InvalidArgumentError(StrCat("invalid --add-host \"", h, "\": want HOST:IP"));
    }
    std::string ip = h.substr(sep + 1);
    if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    out.push_back(StrCat(ip, "\t", h.substr(0, sep)));
  }
  return out;
}

Status WriteEtcFiles(const ContainerFlags& f, const std::string& dir, const std::string& hostname, bool host_network) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(StrCat("create ", dir, ": ", ec.message()));

  std::string hosts =
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
  if (host_network) {
    auto host = ReadFile("/etc/hosts");
    if (host.ok()) hosts = *host;
    if (!hosts.empty() && hosts.back() != '\n') hosts += "\n";
  }
  ASSIGN_OR_RETURN(auto extra, AddHostLines(f));
  for (const auto& l : extra) hosts += l + "\n";
  RETURN_IF_ERROR(WriteFileAtomic(dir + "/hosts", hosts, 0644));

  std::string resolv;
  if (f.dns.empty() && f.dns_search.empty() && f.dns_options.empty()) {
    resolv = HostResolvConf();
  } else {
    for (const auto& s : f.dns) resolv += "nameserver " + s + "\n";
    if (f.dns.empty()) {
      std::istringstream host(HostResolvConf());
      std::string line;
      while (std::getline(host, line)) {
        if (line.rfind("nameserver", 0) == 0) resolv += line + "\n";
      }
    }
    if (!f.dns_search.empty()) {
      resolv += "search";
      for (const auto& s : f.dns_search) resolv += " " + s;
      resolv += "\n";
    }
    if (!f.dns_options.empty()) {
      resolv += "options";
      for (const auto& s : f.dns_options) resolv += " " + s;
      resolv += "\n";
    }
  }
  RETURN_IF_ERROR(WriteFileAtomic(dir + "/resolv.conf", resolv, 0644));
  return WriteFileAtomic(dir + "/hostname", hostname + "\n", 0644);
}

}  // namespace berth::cli
