// Container health checks, as docker runs them: a probe command executed in the container every
// `interval` (killed after `timeout`), the status "starting" until the first success, "healthy"
// after one, "unhealthy" after `retries` failures in a row (failures during `start_period` do not
// count). The configuration lives in a container label (so `berth ps`, `inspect` and compose read
// it back), the status in two more, updated by a monitor process that runs detached from the
// command that started the container and ends when the container is deleted:
//   berth.health.config   JSON {"test": [...], "interval": ns, "timeout": ns, "start_period": ns, "retries": n}
//   berth.health.status   starting | healthy | unhealthy
//   berth.health.streak   failures in a row
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <google/protobuf/map.h>

#include "cmd/berth/commands.h"
#include "common/status.h"

namespace berth::cli {

inline constexpr char kLabelHealthConfig[] = "berth.health.config";
inline constexpr char kLabelHealthStatus[] = "berth.health.status";
inline constexpr char kLabelHealthStreak[] = "berth.health.streak";

struct HealthConfig {
  std::vector<std::string> test;  // ["CMD", args...] | ["CMD-SHELL", command] | ["NONE"]
  int64_t interval_ns = 30'000'000'000;
  int64_t timeout_ns = 30'000'000'000;
  int64_t start_period_ns = 0;
  int retries = 3;
  std::string ToJson() const;
  static StatusOr<HealthConfig> FromJson(const std::string& json);
};

struct ProbeResult {
  int exit_code = -1;      // -1 when the probe timed out or could not run
  std::string output;      // the first 4 KiB of stdout and stderr
};

// One probe: the test run as an exec in the running container, waited for up to timeout.
StatusOr<ProbeResult> Probe(const Globals& g, const std::string& id, const HealthConfig& h);

// The monitor loop for container `id` (reads its config label); returns when the container is
// gone. Exit code 0.
int RunHealthMonitor(const Globals& g, const std::string& id);

// Starts `berth internal health-monitor ID` in a session of its own (it outlives the caller).
Status SpawnHealthMonitor(const Globals& g, const std::string& id);

// The status shown by `ps` after "Up ...": "(healthy)", "(unhealthy)", "(health: starting)", or ""
// for a container without a health check.
std::string HealthSuffix(const google::protobuf::Map<std::string, std::string>& labels);

void SetupInternal(CLI::App& app, Globals& g);

}  // namespace berth::cli
