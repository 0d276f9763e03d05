// berth network create|ls|inspect|rm|prune, and berth port (networks.h keeps the networks).
//   create [--subnet CIDR] [--gateway IP] [--ip-range CIDR] [-l K=V]... [-d bridge] NAME
//   ls [-q] [--format F]        NETWORK ID, NAME, DRIVER, SCOPE as docker; host and none included
//   inspect NAME...             docker's JSON array (IPAM config, containers with their addresses)
//   rm NAME...                  refuses networks containers use
//   prune [-f]                  removes user networks no container uses
//   port CONTAINER [PORT[/PROTO]]   docker's "80/tcp -> 0.0.0.0:8080" lines
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "cmd/berth/containers.h"
#include "cmd/berth/format.h"
#include "cmd/berth/net_internal.h"

namespace berth::cli {
namespace {

using nlohmann::json;

std::string Rfc3339(int64_t t) {
  time_t tt = t;
  tm tmv{};
  localtime_r(&tt, &tmv);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tmv);
  std::string s = buf;
  if (s.size() > 5) s.insert(s.size() - 2, ":");
  return s;
}

}  // namespace

json NetworkInspectJson(const Globals& g, const NetworkInfo& n) {
  json containers = json::object();
  auto cni = CniFor(g);
  if (auto cached = cni.ListCached(); cached.ok()) {
    for (const auto& c : *cached) {
      if (c.network != n.name) continue;
      auto r = cni.CachedResult(c.network, c.container_id, c.ifname);
      std::string ip, mac;
      if (r.ok()) {
        for (const auto& i : r->ips) {
          if (i.address.find(':') == std::string::npos) {
            ip = i.address;
            break;
          }
        }
        for (const auto& i : r->interfaces) {
          if (i.name == c.ifname && !i.sandbox.empty()) mac = i.mac;
        }
      }
      std::string name = c.container_id;
      if (size_t dot = name.find('.'); dot != std::string::npos) name = name.substr(dot + 1);
      containers[name] = {{"Name", name}, {"IPv4Address", ip}, {"MacAddress", mac}, {"IPv6Address", ""}};
    }
  }
  json cfg = {{"Subnet", n.subnet}, {"Gateway", n.gateway}};
  if (!n.ip_range.empty()) cfg["IPRange"] = n.ip_range;
  return {{"Name", n.name},
          {"Id", n.id},
          {"Created", Rfc3339(n.created)},
          {"Scope", "local"},
          {"Driver", n.driver},
          {"EnableIPv6", false},
          {"IPAM", {{"Driver", "default"}, {"Options", json::object()}, {"Config", json::array({cfg})}}},
          {"Internal", false},
          {"Attachable", false},
          {"Ingress", false},
          {"Containers", containers},
          {"Options", {{"com.docker.network.bridge.name", n.bridge}}},
          {"Labels", n.labels},
          {"ConfigFile", n.file}};
}

ContainerNetworkJson ContainerNetworkInspect(const Globals& g, const std::string& id, const std::string& networks_label,
                                             const std::string& ports_label) {
  ContainerNetworkJson out;
  out.settings = {{"Networks", json::object()}, {"Ports", json::object()}, {"IPAddress", ""}, {"Gateway", ""},
                  {"MacAddress", ""}, {"IPPrefixLen", 0}};
  out.network_mode = networks_label.empty() ? "none" : "bridge";
  out.port_bindings = json::object();
  for (const auto& p : PortsFromJson(ports_label)) {
    json b = {{"HostIp", p.host_ip.empty() ? "0.0.0.0" : p.host_ip}, {"HostPort", std::to_string(p.host_port)}};
    std::string key = StrCat(p.container_port, "/", p.protocol);
    out.settings["Ports"][key].push_back(b);
    out.port_bindings[key].push_back(b);
  }
  auto nets = AttachmentsFromLabel(networks_label);
  if (!nets.empty()) out.network_mode = nets[0].network;
  auto cni = CniFor(g);
  int index = 0;
  bool first = true;
  for (const auto& a : nets) {
    if (a.network == "host" || a.network == "none") continue;
    std::string ifname = StrCat("eth", index++);
    json e = {{"Aliases", a.aliases}, {"NetworkID", ""}, {"IPAddress", ""}, {"IPPrefixLen", 0},
              {"Gateway", ""}, {"MacAddress", ""}};
    if (auto info = GetNetwork(g, a.network); info.ok()) e["NetworkID"] = info->id;
    if (auto r = cni.CachedResult(a.network, CniId(g.ns, id), ifname); r.ok()) {
      for (const auto& ip : r->ips) {
        if (ip.address.find(':') != std::string::npos) continue;
        size_t slash = ip.address.find('/');
        e["IPAddress"] = ip.address.substr(0, slash);
        if (slash != std::string::npos) e["IPPrefixLen"] = atoi(ip.address.c_str() + slash + 1);
        e["Gateway"] = ip.gateway;
        break;
      }
      for (const auto& i : r->interfaces) {
        if (i.name == ifname && !i.sandbox.empty()) e["MacAddress"] = i.mac;
      }
    }
    if (first) {
      for (const char* k : {"IPAddress", "IPPrefixLen", "Gateway", "MacAddress"}) out.settings[k] = e[k];
      first = false;
    }
    out.settings["Networks"][a.network] = e;
  }
  return out;
}

namespace {

std::map<std::string, std::string> ParseLabels(const std::vector<std::string>& kvs) {
  std::map<std::string, std::string> l;
  for (const auto& kv : kvs) {
    size_t eq = kv.find('=');
    l[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
  return l;
}

std::string LabelsText(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

}  // namespace

void SetupNetwork(CLI::App& app, Globals& g) {
  auto* net = app.add_subcommand("network", "manage networks (CNI bridge networks)");
  net->require_subcommand(1);

  auto* create = net->add_subcommand("create", "create a bridge network");
  static std::string name;
  static std::vector<std::string> labels;
  static NetworkOptions opts;
  create->add_option("-d,--driver", opts.driver, "driver (bridge)")->capture_default_str();
  create->add_option("--subnet", opts.subnet, "IPv4 subnet in CIDR form (default: a free 10.213.N.0/24)");
  create->add_option("--gateway", opts.gateway, "gateway address (default: the subnet's first)");
  create->add_option("--ip-range", opts.ip_range, "allocate container addresses from this CIDR only");
  create->add_option("-l,--label", labels, "set a label (KEY=VALUE)")->allow_extra_args(false);
  create->add_option("name", name, "network name")->required();
  create->callback([&g] {
    auto n = CreateNetwork(g, name, ParseLabels(labels), opts);
    if (!n.ok()) return void(g.exit_code = Fail(n.status(), 1));
    std::cout << n->id << "\n";
  });

  auto* ls = net->add_subcommand("ls", "list networks");
  static bool quiet = false;
  static std::string format;
  ls->alias("list");
  ls->add_flag("-q,--quiet", quiet, "print only network ids");
  ls->add_option("--format", format, "Go template ({{.Name}}, {{.ID}}, {{json .}}, table ...) or json");
  ls->callback([&g] {
    auto nets = ListNetworks(g);
    if (!nets.ok()) return void(g.exit_code = Fail(nets.status(), 1));
    std::vector<json> rows;
    for (const auto& n : *nets) {
      rows.push_back({{"ID", n.id.substr(0, 12)}, {"Name", n.name}, {"Driver", n.driver}, {"Scope", "local"},
                      {"Labels", LabelsText(n.labels)}, {"Subnet", n.subnet}, {"CreatedAt", Rfc3339(n.created)}});
    }
    for (const char* special : {"host", "none"}) {
      rows.push_back({{"ID", ""}, {"Name", special}, {"Driver", special}, {"Scope", "local"}, {"Labels", ""},
                      {"Subnet", ""}, {"CreatedAt", ""}});
    }
    if (quiet) {
      for (const auto& r : rows) {
        if (!r["ID"].get<std::string>().empty()) std::cout << r["ID"].get<std::string>() << "\n";
      }
      return;
    }
    if (format.empty()) {
      std::vector<std::vector<std::string>> table;
      for (const auto& r : rows) table.push_back({r["ID"], r["Name"], r["Driver"], r["Scope"]});
      PrintTable({"NETWORK ID", "NAME", "DRIVER", "SCOPE"}, table);
      return;
    }
    auto t = Template::Parse(format == "json" ? "{{json .}}" : format, {{"ID", "NETWORK ID"}});
    if (!t.ok()) return void(g.exit_code = Fail(t.status(), 1));
    if (Status s = PrintFormatted(*t, rows); !s.ok()) g.exit_code = Fail(s, 1);
  });

  auto* inspect = net->add_subcommand("inspect", "print networks as JSON");
  static std::vector<std::string> inspect_names;
  static std::string inspect_format;
  inspect->add_option("-f,--format", inspect_format, "Go template applied to each network");
  inspect->add_option("name", inspect_names, "network names or ids")->required();
  inspect->callback([&g] {
    json arr = json::array();
    for (const auto& n : inspect_names) {
      auto info = GetNetwork(g, n);
      if (!info.ok()) {
        std::cerr << "berth: " << info.status().message() << "\n";
        g.exit_code = 1;
        continue;
      }
      arr.push_back(NetworkInspectJson(g, *info));
    }
    if (inspect_format.empty()) {
      std::cout << arr.dump(4) << "\n";
      return;
    }
    auto t = Template::Parse(inspect_format);
    if (!t.ok()) return void(g.exit_code = Fail(t.status(), 1));
    if (Status s = PrintFormatted(*t, {arr.begin(), arr.end()}); !s.ok()) g.exit_code = Fail(s, 1);
  });

  auto* rm = net->add_subcommand("rm", "remove networks that no container uses");
  static std::vector<std::string> rm_names;
  rm->alias("remove");
  rm->add_option("name", rm_names, "network names or ids")->required();
  rm->callback([&g] {
    for (const auto& n : rm_names) {
      Status s = RemoveNetwork(g, n);
      if (s.ok()) {
        std::cout << n << "\n";
      } else {
        std::cerr << "berth: " << s.message() << "\n";
        g.exit_code = 1;
      }
    }
  });

  auto* prune = net->add_subcommand("prune", "remove every user network no container uses");
  static bool force = false;
  prune->add_flag("-f,--force", force, "do not ask (berth never asks: accepted for docker's sake)");
  prune->callback([&g] {
    auto nets = ListNetworks(g);
    if (!nets.ok()) return void(g.exit_code = Fail(nets.status(), 1));
    std::cout << "Deleted Networks:\n";
    for (const auto& n : *nets) {
      if (n.name == kDefaultNetwork) continue;
      auto users = ContainersOnNetwork(g, n.name);
      if (!users.ok()) return void(g.exit_code = Fail(users.status(), 1));
      if (!users->empty()) continue;
      Status s = RemoveNetwork(g, n.name);
      if (s.ok()) {
        std::cout << n.name << "\n";
      } else {
        std::cerr << "berth: " << s.message() << "\n";
        g.exit_code = 1;
      }
    }
  });
}

void SetupPort(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("port", "list a container's published ports");
  static std::string container, port;
  c->add_option("container", container, "container name or id")->required();
  c->add_option("port", port, "only this container port (80 or 80/tcp)");
  c->callback([&g] {
    auto ct = FindContainer(g, container);
    if (!ct.ok()) return void(g.exit_code = Fail(ct.status(), 1));
    auto it = ct->labels().find(kLabelPorts);
    std::vector<PortPublish> ports = it == ct->labels().end() ? std::vector<PortPublish>{} : PortsFromJson(it->second);
    std::string want_port = port, want_proto;
    if (size_t slash = port.find('/'); slash != std::string::npos) {
      want_port = port.substr(0, slash);
      want_proto = port.substr(slash + 1);
    }
    bool any = false;
    for (const auto& p : ports) {
      if (!want_port.empty() && std::to_string(p.container_port) != want_port) continue;
      if (!want_proto.empty() && p.protocol != want_proto) continue;
      any = true;
      std::cout << (want_port.empty() ? PortLine(p) : PortLine(p).substr(PortLine(p).find("-> ") + 3)) << "\n";
    }
    if (!port.empty() && !any) {
      std::cerr << "berth: no public port '" << port << "' published for " << ct->id() << "\n";
      g.exit_code = 1;
    }
  });
}

}  // namespace berth::cli
