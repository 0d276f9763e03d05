// CNI: attaching a network namespace to networks described by CNI configuration, by running
// the CNI plugins (Debian's containernetworking-plugins in /usr/lib/cni) the way libcni does.
//
// One library for both users of networking in berth: the CRI server (pods) and the berth CLI
// (containers on `berth0` and user networks). The CNI specification (v1.0.0, and the 0.3.x/0.4.0
// results older configs ask for) is the contract; libcni's behaviour is the reference for
// everything the spec leaves to the runtime:
//   - Config files in a directory: *.conf, *.conflist, *.json in lexical order; a single-plugin
//     .conf is wrapped into a list of one.
//   - ADD runs the list's plugins in order, each fed the previous one's result as prevResult
//     (converted to the list's cniVersion);
//     the final result is cached on disk under `cache_dir/results/<network>-<container>-<ifname>`
//     (libcni's layout and JSON: kind "cniCacheV1", containerId, config, ifName, networkName,
//     cniArgs, capabilityArgs, result), so that DEL and CHECK work after a restart or a crash.
//   - ADD of an attachment whose cache entry exists (added, not yet deleted) is AlreadyExists
//     and runs nothing.
//   - A failed ADD is undone before Add returns: the plugins that ran (the failing one included)
//     get DEL in reverse order, so nothing leaks; a later Del is harmless.
//   - DEL runs the plugins in reverse order with the cached result as prevResult (0.4.0 and
//     later, as libcni), tolerates a missing network namespace (a path that is gone or no longer
//     a namespace is passed as an empty CNI_NETNS) and a missing cache, and removes the cache
//     entry. DEL is idempotent: a second DEL succeeds. Every plugin runs even when one fails; the
//     first failure is returned and the cache entry kept, so the DEL can be retried. With the
//     namespace gone, Del also removes the bridge plugin's ipMasq rules (bridge <= 1.1 looks for
//     them inside the namespace and leaks them otherwise).
//   - DEL and CHECK complete the caller's capability arguments and CNI_ARGS with those the ADD
//     cached, so a teardown that no longer knows the port mappings still removes them.
//   - CHECK (CNI >= 0.4.0, unless the list sets disableCheck) runs the plugins in order with the
//     cached result.
//   - Capability arguments (portMappings, dns, ips, mac, bandwidth, ...) reach only plugins whose
//     `capabilities` enable them, under `runtimeConfig`.
// Plugins are executed with CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS and
// CNI_PATH set and the network config on stdin; a plugin's error JSON ({code,msg,details}) becomes
// the returned status's message. Thread-safe: calls for different (network, container, ifname)
// may run concurrently; the caller serialises calls for one attachment.
//
// Status codes: NotFound for a missing config directory entry, network or plugin binary, and
// for CHECK without a cached result; AlreadyExists for ADD of an attachment still cached;
// InvalidArgument for malformed configs or results and for container ids, network names or
// interface names libcni would refuse (ids and names match ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$,
// interface names are at most 15 bytes without '/', ':' or spaces); FailedPrecondition for CHECK
// on a list older than 0.4.0; Internal (with the plugin's message, "<msg>; <details> (code N)")
// when a plugin fails; DeadlineExceeded when a plugin outlives `plugin_timeout` (it and its
// process group are SIGKILLed).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "nlohmann/json.hpp"

namespace berth::network {

// One network: a conflist (or a .conf wrapped into a list of one).
struct NetworkConfigList {
  std::string name;
  std::string cni_version;  // the list's cniVersion, e.g. "1.0.0" or "0.4.0"
  bool disable_check = false;
  std::vector<nlohmann::json> plugins;  // each plugin's config object, as written
  nlohmann::json raw;                   // the whole list as written (for inspect and caches)
  std::string source;                   // the file it came from, empty when parsed from bytes
};

// Parses a .conflist (or, when `single_plugin` is true, a .conf) document. InvalidArgument
// (naming `source` when given) for bad JSON, a missing or invalid name, a plugin without a
// type, an empty plugin list or a malformed cniVersion/disableCheck.
StatusOr<NetworkConfigList> ParseConfigList(std::string_view bytes, bool single_plugin = false,
                                            std::string source = {});

// Every network in `dir` (lexical file order, as libcni's ConfFiles); files that do not parse are
// skipped with a warning in the log, as containerd does. An absent directory yields an empty list.
// .conflist files are lists; .conf and .json files single plugins. Several files may name the
// same network: all are returned, in file order (callers take the first, as containerd does).
StatusOr<std::vector<NetworkConfigList>> LoadConfigDir(const std::string& dir);

// A host port published into the namespace (portmap's `portMappings` capability).
struct PortMapping {
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  std::string protocol = "tcp";  // tcp | udp | sctp
  std::string host_ip;           // empty: every address
};

// What one namespace asks of one network.
struct Attachment {
  std::string container_id;  // CNI_CONTAINERID (pod sandbox id, or container id)
  std::string netns_path;    // CNI_NETNS; may be empty or gone for DEL
  std::string ifname = "eth0";
  std::vector<std::pair<std::string, std::string>> args;  // CNI_ARGS, e.g. K8S_POD_NAME
  std::vector<PortMapping> port_mappings;                 // capability "portMappings"
  // Other capability arguments by name (e.g. "dns", "ips", "mac", "bandwidth"), passed under
  // runtimeConfig to plugins that declare them.
  std::map<std::string, nlohmann::json> capability_args;
};

// A CNI result, converted to the 1.0.0 shape whatever version the plugin answered in.
struct Interface {
  std::string name;
  std::string mac;
  std::string sandbox;  // the netns path for interfaces inside it, empty for host-side ones
};
struct IPConfig {
  std::string address;  // CIDR, e.g. "10.88.0.5/16"
  std::string gateway;  // may be empty
  std::optional<int> interface;  // index into interfaces
};
struct Route {
  std::string dst;  // CIDR
  std::string gw;   // may be empty
};
struct DNS {
  std::vector<std::string> nameservers;
  std::string domain;
  std::vector<std::string> search;
  std::vector<std::string> options;
};
struct Result {
  std::string cni_version;
  std::vector<Interface> interfaces;
  std::vector<IPConfig> ips;
  std::vector<Route> routes;
  DNS dns;
  nlohmann::json raw;  // the result exactly as the last plugin printed it

  // The first address of the interface named `ifname` inside the sandbox (then any address),
  // without the prefix length; empty when there is none. Family: 4 or 6.
  std::string FirstAddress(const std::string& ifname, int family = 4) const;
};

// Parses a plugin's result document (0.3.0, 0.3.1, 0.4.0 or 1.0.0; also 0.1.0/0.2.0's ip4/ip6).
// InvalidArgument when it is not JSON, has an unsupported cniVersion, or holds malformed
// addresses or interface indexes.
StatusOr<Result> ParseResult(std::string_view bytes);

class Cni {
 public:
  struct Options {
    std::vector<std::string> plugin_dirs = {"/usr/lib/cni", "/opt/cni/bin"};  // CNI_PATH
    std::string cache_dir = "/var/lib/cni";  // libcni's default, shared with other runtimes
    std::chrono::milliseconds plugin_timeout{std::chrono::seconds(60)};
  };
  explicit Cni(Options options);

  StatusOr<Result> Add(const NetworkConfigList& net, const Attachment& a) const;
  Status Check(const NetworkConfigList& net, const Attachment& a) const;
  Status Del(const NetworkConfigList& net, const Attachment& a) const;

  // The result cached by the last successful ADD; NotFound when there is none.
  StatusOr<Result> CachedResult(const std::string& network, const std::string& container_id,
                                const std::string& ifname) const;

  // Every cached attachment (network, container id, ifname) — for teardown after a crash: a
  // caller DELs those whose owner no longer exists, from the cached config when the network's
  // config file is gone.
  struct CachedAttachment {
    std::string network;
    std::string container_id;
    std::string ifname;
    std::string netns_path;  // from the cache's CNI_NETNS record, may be empty
    NetworkConfigList config;  // the config the ADD ran with
    // Ready for Del(config, attachment): id, ifname, netns, CNI_ARGS and capability arguments
    // (port mappings decoded) as the ADD had them.
    Attachment attachment;
  };
  // Entries that do not parse (or are libcni's legacy result-only files) are skipped with a
  // warning. An absent cache directory yields an empty list.
  StatusOr<std::vector<CachedAttachment>> ListCached() const;

  const Options& options() const { return options_; }

 private:
  // Runs one plugin of `net` for `command`; its stdout on success.
  StatusOr<std::string> RunPlugin(const NetworkConfigList& net, const nlohmann::json& plugin,
                                  std::string_view command, const Attachment& a,
                                  const std::string& netns, const nlohmann::json* prev_result,
                                  const nlohmann::json& capability_args) const;

  Options options_;
};

// Persistent network namespaces, bind-mounted at `<dir>/<name>` (like `ip netns add`, and
// containerd's CRI under /var/run/netns): the namespace outlives every process in it until
// RemoveNetns unmounts and unlinks it. AlreadyExists when the path exists.
StatusOr<std::string> CreateNetns(const std::string& dir, const std::string& name);
// Unmounts (lazily) and removes a namespace made by CreateNetns; a missing path is OK.
Status RemoveNetns(const std::string& path);

}  // namespace berth::network
