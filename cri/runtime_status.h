// CRI Version and Status answers, as containerd 1.6's CRI plugin gives them.
#pragma once

#include <string>
#include <vector>

namespace berth::cri {

inline constexpr char kRuntimeName[] = "berth";
inline constexpr char kRuntimeApiVersion[] = "v1";
// The CRI's "version of the kubelet runtime API" (containerd answers the same constant).
inline constexpr char kKubeApiVersion[] = "0.1.0";

struct Condition {
  std::string type;  // "RuntimeReady" | "NetworkReady"
  bool status = false;
  std::string reason;
  std::string message;
};

// The network config files of `conf_dir` CNI would load (*.conf, *.conflist, *.json, lexical
// order); empty when the directory is missing.
std::vector<std::string> CniConfigFiles(const std::string& conf_dir);

// RuntimeReady (always true: berthd answering means the runtime is up) and NetworkReady (false,
// reason NetworkPluginNotReady, when network::LoadConfigDir finds no valid network in `conf_dir`).
std::vector<Condition> RuntimeConditions(const std::string& conf_dir);

}  // namespace berth::cri
