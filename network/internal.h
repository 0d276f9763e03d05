// Internals of network/ shared between its files and its unit tests; not for other folders
// (they use network/cni.h).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "network/cni.h"

namespace berth::network::internal {

// --- versions (result.cc) ---

// Compares two CNI versions "a.b.c" numerically; an empty version counts as "0.1.0", as the
// spec says. InvalidArgument when either does not parse.
StatusOr<int> CompareVersions(std::string_view a, std::string_view b);

// ParseResult, with the version a result without cniVersion is taken to have (libcni's
// fixupResultVersion: the config's version).
StatusOr<Result> ParseResult(std::string_view bytes, std::string_view default_version);

// The result document `raw` re-expressed in `version` (0.3.0, 0.3.1, 0.4.0 or 1.0.0): cniVersion
// set, ips[].version added (0.3.x/0.4.0) or dropped (1.0.0), everything else kept.
// InvalidArgument for a version we cannot express (below 0.3.0) or a malformed result.
StatusOr<nlohmann::json> ConvertResult(const nlohmann::json& raw, std::string_view version);

// --- plugin configs (config.cc) ---

// libcni's validation of the names that reach plugins and cache paths: container ids and
// network names match ^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$, interface names are 1-15 bytes without
// '/', ':' or whitespace and are not "." or "..". InvalidArgument otherwise.
Status ValidateContainerId(std::string_view id);
Status ValidateNetworkName(std::string_view name);
Status ValidateInterfaceName(std::string_view ifname);

// The capability arguments of an attachment by name: "portMappings" from `port_mappings` (when
// there are any) plus `capability_args`.
nlohmann::json CapabilityArgs(const Attachment& a);

// The config one plugin of `net` receives on stdin (libcni's buildOneConfig): the plugin's
// object with the list's name and cniVersion injected, `prev_result` (converted to the list's
// version) as prevResult when given, and runtimeConfig holding only the capability arguments the
// plugin's `capabilities` enable (absent when there are none).
StatusOr<nlohmann::json> BuildPluginConfig(const NetworkConfigList& net,
                                           const nlohmann::json& plugin,
                                           const nlohmann::json* prev_result,
                                           const nlohmann::json& capability_args);

// --- running a plugin (exec.cc) ---

// The executable for plugin `type` in the first of `dirs` that has it. InvalidArgument for a type
// with a '/', NotFound naming the plugin and the directories when none has it.
StatusOr<std::string> FindPlugin(std::string_view type, const std::vector<std::string>& dirs);

struct PluginRequest {
  std::string path;     // the plugin executable
  std::string command;  // ADD | DEL | CHECK | VERSION
  std::string container_id;
  std::string netns;
  std::string ifname;
  std::string args;  // CNI_ARGS, "K=V;K=V"
  std::string cni_path;
  std::string stdin_data;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

// What a finished child left: its wait status and captured output (each capped at 4 MiB).
struct ProcessResult {
  int wstatus = 0;
  std::string out;
  std::string err;
};

// Runs `path` with `argv` and `env` (nothing inherited), stdin from `stdin_data`, stdout and
// stderr captured, in its own process group, which is SIGKILLed (and the child reaped) when it
// outlives `timeout`: DeadlineExceeded then. NotFound/PermissionDenied when it cannot be run.
StatusOr<ProcessResult> RunProcess(const std::string& path, const std::vector<std::string>& argv,
                                   const std::vector<std::string>& env, std::string_view stdin_data,
                                   std::chrono::milliseconds timeout);

// Runs one plugin: the calling process's environment (minus any CNI_* variables, plus a default
// PATH when it has none) plus the
// request's CNI_* variables, stdin from `stdin_data`, stdout and stderr captured, in its own
// process group, which is SIGKILLed when it outlives `timeout`. Returns stdout when the plugin
// exits 0. A plugin failing with an error document ({code,msg,details}) gives Internal with
// "<msg>; <details> (code N)"; without one, Internal with its stderr or exit status.
// DeadlineExceeded when killed for the timeout; NotFound/PermissionDenied when it cannot run.
StatusOr<std::string> ExecPlugin(const PluginRequest& req);

// --- plugin quirks (quirks.cc) ---

// The bridge plugin (up to containernetworking-plugins 1.1) finds the addresses whose ipMasq
// rules it must remove inside the namespace, so a DEL after the namespace is gone leaves them
// (nat POSTROUTING "-s <ip> -j CNI-<hash>" and the chain). This removes them from the cached
// result's addresses with iptables/ip6tables, as the plugin would have; best effort (a rule
// or chain already gone is fine), failures logged.
void TeardownBridgeIpMasq(const std::string& network, const std::string& container_id,
                          const Result& cached, std::chrono::milliseconds timeout);

// --- the result cache (cache.cc) ---

// libcni's cache file: <cache_dir>/results/<network>-<container_id>-<ifname>.
std::string CachePath(const std::string& cache_dir, const std::string& network,
                      const std::string& container_id, const std::string& ifname);

// One cache record (libcni's cachedInfo, kind "cniCacheV1", plus berth's "netns").
struct CacheEntry {
  std::string container_id;
  std::string ifname;
  std::string network;
  std::string config;  // the list's bytes as the ADD used them (base64 "config" in the file)
  std::vector<std::pair<std::string, std::string>> cni_args;
  nlohmann::json capability_args = nlohmann::json::object();
  nlohmann::json result;  // the final result as the last plugin printed it; null if none
  std::string netns;
};

// Writes the entry atomically (0600, directories 0700).
Status WriteCache(const std::string& cache_dir, const CacheEntry& e);
// Reads one entry. NotFound when there is none; a legacy file holding only a result is read as
// an entry with just `result` set. InvalidArgument when it does not parse.
StatusOr<CacheEntry> ReadCache(const std::string& path);
// Removes it; a missing file is OK.
Status RemoveCache(const std::string& cache_dir, const std::string& network,
                   const std::string& container_id, const std::string& ifname);

std::string Base64Encode(std::string_view in);
StatusOr<std::string> Base64Decode(std::string_view in);

}  // namespace berth::network::internal
