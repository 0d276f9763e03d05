// Container networking for the berth CLI (and `berth compose`), on the CNI library (network/cni.h)
// and Debian's plugins, as nerdctl does it on containerd:
//
// Networks are CNI conflists in Globals::cni_conf_dir (default /etc/berth/cni/net.d; --cni-netconfpath,
// env BERTH_CNI_NETCONFPATH), one file `berth-<name>.conflist` each, with berth's own top-level keys
// beside the CNI ones (plugins ignore them, as nerdctl's "nerdctlID"/"nerdctlLabels"):
//   "berthID": 64 hex digits, "berthLabels": {"k": "v"}.
// A bridge network is bridge (isGateway, ipMasq, hairpinMode; host-local IPAM, its dataDir
// Globals::cni_ipam_dir, set when the list is used, not in the file) + portmap (capability portMappings, snat) + firewall. The default network
// `bridge` (device berth0, 10.213.0.0/24) is written on first use; user networks get device
// br-<id[:12]> and, without --subnet, the first free 10.213.N.0/24 (N >= 1).
//
// Attachment happens in OCI hooks that runc runs, so that it follows the task wherever it is
// made or deleted (berth start, berthd's restart monitor, cleanup after a crash):
//   createRuntime: `berth --root R -n NS --cni-... internal oci-hook createRuntime` reads the OCI
//     state on stdin, CNI ADDs /proc/<pid>/ns/net to each network of the spec's
//     "berth/networks" annotation (eth0, eth1, ...; the "berth/ports" mappings go to the first),
//     records the addresses and rewrites /etc/hosts of every container sharing a network.
//   poststop: CNI DEL of the same attachments (from the CNI cache; the namespace is gone by then)
//     and the hosts files rewritten without the container.
// `berth rm` runs the same teardown again (DEL is idempotent), for a task whose shim died.
//
// Status codes: NotFound for an unknown network; AlreadyExists for CreateNetwork of a taken
// name; InvalidArgument for bad names, subnets, gateways, drivers and -p specs; FailedPrecondition
// for RemoveNetwork of a network containers use (the message names them) or of bridge/host/none.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cmd/berth/commands.h"
#include "cmd/berth/container_flags.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace berth::cli {

inline constexpr char kDefaultNetwork[] = "bridge";
inline constexpr char kDefaultBridge[] = "berth0";
inline constexpr char kDefaultSubnet[] = "10.213.0.0/24";
// Container labels (and spec annotations the hooks read).
inline constexpr char kLabelNetworks[] = "berth/networks";  // JSON [{"name": N, "aliases": [..]}]
inline constexpr char kLabelPorts[] = "berth/ports";        // JSON [{"HostIp","HostPort","ContainerPort","Protocol"}]

struct NetworkOptions {
  std::string driver = "bridge";  // only bridge is supported
  std::string subnet;             // CIDR; empty: the first free 10.213.N.0/24
  std::string gateway;            // empty: the subnet's first address
  std::string ip_range;           // CIDR inside subnet the addresses come from; empty: all of it
};

struct NetworkInfo {
  std::string name, id, driver, bridge, subnet, gateway, ip_range;
  std::map<std::string, std::string> labels;
  std::string file;  // the conflist's path
  int64_t created = 0;  // file mtime, unix seconds
  nlohmann::json conflist;
};

// Writes a new network. AlreadyExists when the name (or, for bridge, the subnet) is taken.
StatusOr<NetworkInfo> CreateNetwork(const Globals& g, const std::string& name,
                                    const std::map<std::string, std::string>& labels, const NetworkOptions& o = {});
// The network when it exists (its labels and options are not compared), else CreateNetwork.
StatusOr<NetworkInfo> EnsureNetwork(const Globals& g, const std::string& name,
                                    const std::map<std::string, std::string>& labels, const NetworkOptions& o = {});
// One network by name, id or unique id prefix; `bridge` is written when missing. NotFound otherwise.
StatusOr<NetworkInfo> GetNetwork(const Globals& g, const std::string& name_or_id);
// Every berth network (bridge first, written when missing), then by name.
StatusOr<std::vector<NetworkInfo>> ListNetworks(const Globals& g);
// Containers (of every namespace, "ns/id" outside g.ns) whose berth/networks label names `name`.
StatusOr<std::vector<std::string>> ContainersOnNetwork(const Globals& g, const std::string& name);
// Removes the conflist and the bridge device (when down to no ports); FailedPrecondition while
// ContainersOnNetwork is not empty or for bridge/host/none.
Status RemoveNetwork(const Globals& g, const std::string& name);

// --- ports.cc ---
// Parses one -p value: [[HOST_IP:]HOST_PORT[-END]:]CONTAINER_PORT[-END][/tcp|udp|sctp] (a range
// maps port by port; HOST_IP may be [v6]). host_port 0: chosen when the container is made.
StatusOr<std::vector<PortPublish>> ParsePublish(const std::string& spec);
// The image config's ExposedPorts ("80/tcp") as PortPublish with host_port 0, for -P.
std::vector<PortPublish> ExposedPorts(const std::string& image_config_json);
// docker's `port` lines: "80/tcp -> 0.0.0.0:8080".
std::string PortLine(const PortPublish& p);
nlohmann::json PortsToJson(const std::vector<PortPublish>& ports);
std::vector<PortPublish> PortsFromJson(const std::string& label);

// --- hosts ---
// A container's entries in peers' /etc/hosts: its address on a network and its names there
// (hostname, container name, aliases).
struct HostsEntry {
  std::string ip;
  std::vector<std::string> names;
};
// /etc/hosts of a container: the localhost lines, `extra` (--add-host, as "IP\tNAME"), its own
// entries, then its peers' (sorted by IP, names deduplicated).
std::string RenderHosts(const std::vector<std::string>& extra, const std::vector<HostsEntry>& self,
                        const std::vector<HostsEntry>& peers);

// --- run/create plumbing ---
// The networks of a container from its flags: --network values (or network_attachments, or
// `bridge`) with --network-alias on each user network. "host" and "none" stand alone.
// InvalidArgument for host/none mixed with others, aliases on bridge/host/none, or -p without a
// network that can publish.
StatusOr<std::vector<NetworkAttachment>> ResolveAttachments(const ContainerFlags& f);
// Host ports for mappings whose host_port is 0 (a free port from the kernel).
Status AssignHostPorts(std::vector<PortPublish>& ports);
// Every port a container publishes: -p values, then `ports`, then with -P the image's EXPOSE
// ports not published already; host ports assigned. Empty for host and none networks.
StatusOr<std::vector<PortPublish>> ResolvePorts(const ContainerFlags& f, const std::vector<NetworkAttachment>& nets,
                                                const std::string& image_config_json);
// Records, in the container's directory (network.json), what its peers' /etc/hosts need: its
// host name, its name, its networks and aliases, and the --add-host lines of its own hosts file.
Status WriteHostsRecord(const Globals& g, const std::string& id, const std::string& hostname,
                        const std::vector<std::string>& extra, const std::vector<NetworkAttachment>& nets);
// Applies the attachments to `spec`: hooks and annotations for CNI networks; no network
// namespace for host. `self_exe` is the berth binary the hooks run.
Status ApplyNetworkSpec(const Globals& g, const std::string& self_exe, const std::vector<NetworkAttachment>& nets,
                        const std::vector<PortPublish>& ports, nlohmann::json& spec);
// CNI DEL of every attachment cached for container `id` (namespace g.ns), and its entries
// dropped from its peers' /etc/hosts. Idempotent.
Status TeardownContainerNetwork(const Globals& g, const std::string& id);

// --- inspect ---
// docker's network inspect object (IPAM config, containers attached now with their addresses).
nlohmann::json NetworkInspectJson(const Globals& g, const NetworkInfo& n);
// A container's docker NetworkSettings (Networks with addresses while attached, Ports, IPAddress)
// and HostConfig NetworkMode/PortBindings, from its berth/networks and berth/ports labels and the
// CNI cache; `networks_label` empty: a container berth did not attach.
struct ContainerNetworkJson {
  nlohmann::json settings;
  std::string network_mode;
  nlohmann::json port_bindings;
};
ContainerNetworkJson ContainerNetworkInspect(const Globals& g, const std::string& id, const std::string& networks_label,
                                             const std::string& ports_label);

void SetupNetwork(CLI::App& app, Globals& g);
// `internal oci-hook PHASE` under the hidden `internal` subcommand.
void AddOciHookCommand(CLI::App* internal, Globals& g);
void SetupPort(CLI::App& app, Globals& g);

}  // namespace berth::cli
