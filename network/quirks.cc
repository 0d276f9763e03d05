// Compensation for plugin behaviour that would leak host state; each one names the plugin and
// the versions it is for.
#include <openssl/evp.h>
#include <sys/wait.h>

#include <cstdlib>

#include "common/log.h"
#include "network/internal.h"

extern char** environ;

namespace berth::network::internal {
namespace {

// The plugins' utils.FormatChainName: "CNI-" + the first 24 hex digits of sha512(name + id).
std::string ChainName(const std::string& network, const std::string& container_id) {
  std::string in = network + container_id;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), md, &len, EVP_sha512(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len && hex.size() < 24; i++) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 15]);
  }
  return "CNI-" + hex.substr(0, 24);
}

std::vector<std::string> PathDirs() {
  const char* p = std::getenv("PATH");
  std::string path = p != nullptr && *p != '\0'
                         ? p
                         : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::vector<std::string> dirs;
  size_t start = 0;
  while (start <= path.size()) {
    size_t colon = path.find(':', start);
    if (colon == std::string::npos) colon = path.size();
    dirs.push_back(path.substr(start, colon - start));
    start = colon + 1;
  }
  return dirs;
}

// Runs iptables; true when it exited 0.
bool Iptables(const std::string& binary, std::vector<std::string> args,
              std::chrono::milliseconds timeout, std::string* err) {
  args.insert(args.begin(), {binary, "-w"});
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; e++) env.emplace_back(*e);
  auto r = RunProcess(binary, args, env, "", timeout);
  if (!r.ok()) {
    *err = std::string(r.status().message());
    return false;
  }
  *err = r->err;
  return WIFEXITED(r->wstatus) && WEXITSTATUS(r->wstatus) == 0;
}

}  // namespace

void TeardownBridgeIpMasq(const std::string& network, const std::string& container_id,
                          const Result& cached, std::chrono::milliseconds timeout) {
  const std::string chain = ChainName(network, container_id);
  const std::string comment = StrCat("name: \"", network, "\" id: \"", container_id, "\"");
  bool v4 = false, v6 = false;
  for (const auto& ip : cached.ips) (ip.address.find(':') == std::string::npos ? v4 : v6) = true;
  for (bool six : {false, true}) {
    if (!(six ? v6 : v4)) continue;
    auto binary = FindPlugin(six ? "ip6tables" : "iptables", PathDirs());
    if (!binary.ok()) {
      BLOG(Warn) << "cannot remove bridge ipMasq rules of " << container_id << ": "
                 << binary.status().message();
      continue;
    }
    std::string err;
    for (const auto& ip : cached.ips) {
      if ((ip.address.find(':') != std::string::npos) != six) continue;
      std::string bare = ip.address.substr(0, ip.address.find('/'));
      // The plugin's rule has "-s <ip>" (older releases "-s <ip/prefix>"); a missing rule is fine.
      for (const std::string& src : {bare, ip.address}) {
        Iptables(*binary,
                 {"-t", "nat", "-D", "POSTROUTING", "-s", src, "-j", chain, "-m", "comment",
                  "--comment", comment},
                 timeout, &err);
      }
    }
    if (Iptables(*binary, {"-t", "nat", "-F", chain}, timeout, &err)) {
      if (!Iptables(*binary, {"-t", "nat", "-X", chain}, timeout, &err)) {
        BLOG(Warn) << "removing bridge ipMasq chain " << chain << " of " << container_id << ": "
                   << err;
      } else {
        BLOG(Info) << "removed bridge ipMasq chain " << chain << " of " << container_id
                   << " (its namespace was gone)";
      }
    }
  }
}

}  // namespace berth::network::internal
