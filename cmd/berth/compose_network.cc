// compose's networks on the berth CLI's (networks.h): a project's networks are berth networks
// named `<project>_<key>` with compose's labels, services join them under their service name and
// aliases, and published ports go through the same mappings as `berth run -p`.
#include <iostream>

#include "cmd/berth/compose_engine.h"
#include "cmd/berth/networks.h"

namespace berth::cli {

Status AddServiceNetworking(const compose::Project& p, const compose::Service& s, bool oneoff, ContainerFlags& f) {
  if (!s.network_mode.empty()) {
    if (s.network_mode != "host" && s.network_mode != "none") {
      return absl::InvalidArgumentError(
          StrCat("service ", s.name, ": network_mode \"", s.network_mode,
                 "\" is not supported by berth compose (use host, none, or networks:)"));
    }
    f.networks = {s.network_mode};
  } else {
    for (const auto& [key, sn] : s.networks) {
      auto it = p.networks.find(key);
      if (it == p.networks.end()) return absl::InvalidArgumentError(StrCat("service ", s.name, ": undefined network ", key));
      if (!sn.ipv4_address.empty()) {
        return absl::InvalidArgumentError(StrCat("service ", s.name, ": networks.", key,
                                                 ".ipv4_address: fixed addresses are not supported by berth compose"));
      }
      NetworkAttachment a;
      a.network = it->second.name;
      a.aliases.push_back(s.name);
      for (const auto& al : sn.aliases) {
        if (al != s.name) a.aliases.push_back(al);
      }
      f.network_attachments.push_back(std::move(a));
    }
  }
  if (oneoff) return Status();
  for (const auto& port : s.ports) {
    PortPublish pp;
    pp.host_ip = port.host_ip;
    pp.host_port = static_cast<uint16_t>(port.published);
    pp.container_port = static_cast<uint16_t>(port.target);
    pp.protocol = port.protocol;
    f.ports.push_back(pp);
  }
  return Status();
}

Status EnsureProjectNetworks(const Globals& g, const compose::Project& p, std::ostream& progress) {
  for (const auto& [key, n] : p.networks) {
    if (n.external) {
      auto got = GetNetwork(g, n.name);
      if (absl::IsNotFound(got.status())) {
        return absl::NotFoundError(
            StrCat("external network \"", n.name, "\" not found: create it with berth network create"));
      }
      RETURN_IF_ERROR(got.status());
      continue;
    }
    if (n.internal) {
      return absl::InvalidArgumentError(StrCat("network ", key, ": internal networks are not supported by berth compose"));
    }
    auto got = GetNetwork(g, n.name);
    if (got.ok()) continue;
    if (!absl::IsNotFound(got.status())) return got.status();
    std::map<std::string, std::string> labels = n.labels;
    labels[kComposeProject] = p.name;
    labels[kComposeNetwork] = key;
    NetworkOptions o;
    if (!n.driver.empty()) o.driver = n.driver;
    if (n.subnets.size() > 1) {
      return absl::InvalidArgumentError(StrCat("network ", key, ": one ipam.config entry at most is supported"));
    }
    if (!n.subnets.empty()) o.subnet = n.subnets[0];
    if (!n.gateways.empty()) o.gateway = n.gateways[0];
    RETURN_IF_ERROR(CreateNetwork(g, n.name, labels, o).status());
    progress << " Network " << n.name << "  Created\n";
  }
  return Status();
}

Status RemoveProjectNetworks(const Globals& g, const compose::Project& p, std::ostream& progress) {
  Status first;
  for (const auto& [key, n] : p.networks) {
    if (n.external) continue;
    auto got = GetNetwork(g, n.name);
    if (absl::IsNotFound(got.status())) continue;
    Status s = got.status();
    if (s.ok()) s = RemoveNetwork(g, n.name);
    if (s.ok()) {
      progress << " Network " << n.name << "  Removed\n";
    } else if (first.ok()) {
      first = s;
    }
  }
  return first;
}

}  // namespace berth::cli
