// berth-cni-tool: drives network/ (the CNI library) from the shell for the integration tests, as
// the cnitool does for libcni. Every subcommand goes through berth::network; none runs a plugin
// itself.
//
//   berth-cni-tool netns-add DIR NAME          prints the namespace's path
//   berth-cni-tool netns-rm PATH
//   berth-cni-tool [opts] add CONF --netns P --id ID [--ifname IF] [-p [ip:]host:ctr[/proto]]...
//                                                  prints the result (1.0.0 shape) as JSON, or
//                                                  with --print-ip only the first IPv4 address
//   berth-cni-tool [opts] check|del CONF --netns P --id ID [--ifname IF] [-p ...]
//   berth-cni-tool [opts] cached NETWORK ID [IF]   prints the cached result's first IPv4 address
//   berth-cni-tool [opts] ls-cache                 one line per attachment: network id ifname netns
//   berth-cni-tool [opts] del-cached [--id ID]     DEL of every cached attachment (or ID's) from
//                                                  the cached config and arguments
// opts: --cache-dir D, --plugin-dir D (repeatable), --timeout-ms N.
#include <iostream>

#include "CLI/CLI.hpp"
#include "common/fs.h"
#include "network/cni.h"

namespace {

using berth::network::Attachment;
using berth::network::NetworkConfigList;
using berth::network::PortMapping;
using berth::network::Result;

int Fail(const berth::Status& s) {
  std::cerr << "berth-cni-tool: " << s.message() << " [" << absl::StatusCodeToString(s.code())
            << "]\n";
  return 1;
}

berth::StatusOr<NetworkConfigList> LoadConf(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, berth::ReadFile(path));
  bool single = path.size() < 9 || path.substr(path.size() - 9) != ".conflist";
  return berth::network::ParseConfigList(bytes, single, path);
}

// [ip:]host:container[/proto]
berth::StatusOr<PortMapping> ParsePort(std::string s) {
  PortMapping pm;
  if (size_t slash = s.find('/'); slash != std::string::npos) {
    pm.protocol = s.substr(slash + 1);
    s.resize(slash);
  }
  size_t last = s.rfind(':');
  if (last == std::string::npos) return absl::InvalidArgumentError("bad port mapping " + s);
  std::string host = s.substr(0, last);
  if (size_t c = host.rfind(':'); c != std::string::npos) {
    pm.host_ip = host.substr(0, c);
    host = host.substr(c + 1);
  }
  try {
    pm.host_port = static_cast<uint16_t>(std::stoi(host));
    pm.container_port = static_cast<uint16_t>(std::stoi(s.substr(last + 1)));
  } catch (const std::exception&) {
    return absl::InvalidArgumentError("bad port mapping " + s);
  }
  return pm;
}

nlohmann::json ToJson(const Result& r) {
  nlohmann::json j = {{"cniVersion", r.cni_version},
                      {"interfaces", nlohmann::json::array()},
                      {"ips", nlohmann::json::array()},
                      {"routes", nlohmann::json::array()}};
  for (const auto& i : r.interfaces) {
    j["interfaces"].push_back({{"name", i.name}, {"mac", i.mac}, {"sandbox", i.sandbox}});
  }
  for (const auto& ip : r.ips) {
    nlohmann::json o = {{"address", ip.address}, {"gateway", ip.gateway}};
    if (ip.interface) o["interface"] = *ip.interface;
    j["ips"].push_back(std::move(o));
  }
  for (const auto& rt : r.routes) j["routes"].push_back({{"dst", rt.dst}, {"gw", rt.gw}});
  j["dns"] = {{"nameservers", r.dns.nameservers},
              {"domain", r.dns.domain},
              {"search", r.dns.search},
              {"options", r.dns.options}};
  j["raw"] = r.raw;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"berth-cni-tool: drive berth's CNI library (network/) from tests"};
  app.require_subcommand(1);
  berth::network::Cni::Options opts;
  std::vector<std::string> plugin_dirs;
  int64_t timeout_ms = 0;
  app.add_option("--cache-dir", opts.cache_dir, "libcni-style cache directory");
  app.add_option("--plugin-dir", plugin_dirs, "CNI_PATH directories (repeatable)");
  app.add_option("--timeout-ms", timeout_ms, "plugin timeout");

  std::string dir, name, path;
  auto* netns_add = app.add_subcommand("netns-add", "create a persistent network namespace");
  netns_add->add_option("dir", dir)->required();
  netns_add->add_option("name", name)->required();
  auto* netns_rm = app.add_subcommand("netns-rm", "remove a persistent network namespace");
  netns_rm->add_option("path", path)->required();

  std::string conf, id, ifname = "eth0";
  Attachment a;
  std::vector<std::string> ports, args;
  bool print_ip = false;
  auto attach_opts = [&](CLI::App* c) {
    c->add_option("conf", conf, ".conf or .conflist file")->required();
    c->add_option("--netns", a.netns_path, "network namespace path");
    c->add_option("--id", id, "container id")->required();
    c->add_option("--ifname", ifname, "interface name");
    c->add_option("-p,--publish", ports, "[ip:]hostport:containerport[/proto]");
    c->add_option("--arg", args, "CNI_ARGS entry K=V");
  };
  auto* add = app.add_subcommand("add", "ADD a namespace to a network");
  attach_opts(add);
  add->add_flag("--print-ip", print_ip, "print only the first IPv4 address");
  auto* check = app.add_subcommand("check", "CHECK an attachment");
  attach_opts(check);
  auto* del = app.add_subcommand("del", "DEL an attachment");
  attach_opts(del);
  std::string network;
  auto* cached = app.add_subcommand("cached", "print a cached result's first IPv4 address");
  cached->add_option("network", network)->required();
  cached->add_option("id", id)->required();
  cached->add_option("ifname", ifname);
  auto* ls = app.add_subcommand("ls-cache", "list cached attachments");
  auto* del_cached = app.add_subcommand("del-cached", "DEL cached attachments from the cache");
  del_cached->add_option("--id", id, "only this container id");
  CLI11_PARSE(app, argc, argv);

  if (!plugin_dirs.empty()) opts.plugin_dirs = plugin_dirs;
  if (timeout_ms > 0) opts.plugin_timeout = std::chrono::milliseconds(timeout_ms);
  berth::network::Cni cni(opts);

  if (netns_add->parsed()) {
    auto p = berth::network::CreateNetns(dir, name);
    if (!p.ok()) return Fail(p.status());
    std::cout << *p << "\n";
    return 0;
  }
  if (netns_rm->parsed()) {
    berth::Status s = berth::network::RemoveNetns(path);
    return s.ok() ? 0 : Fail(s);
  }
  if (add->parsed() || check->parsed() || del->parsed()) {
    auto net = LoadConf(conf);
    if (!net.ok()) return Fail(net.status());
    a.container_id = id;
    a.ifname = ifname;
    for (const auto& p : ports) {
      auto pm = ParsePort(p);
      if (!pm.ok()) return Fail(pm.status());
      a.port_mappings.push_back(*pm);
    }
    for (const auto& kv : args) {
      size_t eq = kv.find('=');
      a.args.emplace_back(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
    }
    if (add->parsed()) {
      auto r = cni.Add(*net, a);
      if (!r.ok()) return Fail(r.status());
      if (print_ip) {
        std::cout << r->FirstAddress(ifname) << "\n";
      } else {
        std::cout << ToJson(*r).dump(2) << "\n";
      }
      return 0;
    }
    berth::Status s = check->parsed() ? cni.Check(*net, a) : cni.Del(*net, a);
    return s.ok() ? 0 : Fail(s);
  }
  if (cached->parsed()) {
    auto r = cni.CachedResult(network, id, ifname);
    if (!r.ok()) return Fail(r.status());
    std::cout << r->FirstAddress(ifname) << "\n";
    return 0;
  }
  auto list = cni.ListCached();
  if (!list.ok()) return Fail(list.status());
  if (ls->parsed()) {
    for (const auto& c : *list) {
      std::cout << c.network << " " << c.container_id << " " << c.ifname << " "
                << (c.netns_path.empty() ? "-" : c.netns_path) << "\n";
    }
    return 0;
  }
  if (del_cached->parsed()) {
    int rc = 0;
    for (const auto& c : *list) {
      if (!id.empty() && c.container_id != id) continue;
      berth::Status s = cni.Del(c.config, c.attachment);
      if (!s.ok()) {
        rc = Fail(s);
        continue;
      }
      std::cout << "deleted " << c.network << " " << c.container_id << " " << c.ifname << "\n";
    }
    return rc;
  }
  return 0;
}
