// berth compose's engine: a compose project (compose/model.h) made real on berthd with the berth
// CLI's own pieces (create.h, volumes.h, networks.h), and found again through compose's labels.
//
// Every object carries docker compose's labels, so `up` reconciles with what is there and so
// docker compose's tools read them alike:
//   containers  com.docker.compose.project, .service, .container-number, .oneoff ("True" for
//               `compose run`), .config-hash (compose::ConfigHash of the service),
//               .project.working_dir, .project.config_files
//   networks    com.docker.compose.project, com.docker.compose.network (the key in the file)
//   volumes     com.docker.compose.project, com.docker.compose.volume (the key in the file)
// Container names are `<project>-<service>-<n>` (container_name when set), `run` containers
// `<project>-<service>-run-<12 hex>`; they are also the containers' ids.
#pragma once

#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "cmd/berth/container_flags.h"
#include "cmd/berth/containers.h"
#include "compose/model.h"

namespace berth::cli {

inline constexpr char kComposeProject[] = "com.docker.compose.project";
inline constexpr char kComposeService[] = "com.docker.compose.service";
inline constexpr char kComposeNumber[] = "com.docker.compose.container-number";
inline constexpr char kComposeOneoff[] = "com.docker.compose.oneoff";
inline constexpr char kComposeConfigHash[] = "com.docker.compose.config-hash";
inline constexpr char kComposeWorkingDir[] = "com.docker.compose.project.working_dir";
inline constexpr char kComposeConfigFiles[] = "com.docker.compose.project.config_files";
inline constexpr char kComposeNetwork[] = "com.docker.compose.network";
inline constexpr char kComposeVolume[] = "com.docker.compose.volume";

// The project's containers (Containers.List on the project label), sorted by service and
// number; `run` containers only with `oneoff`.
StatusOr<std::vector<cov1::Container>> ProjectContainers(const Globals& g, const std::string& project, bool oneoff);
std::string ServiceOf(const cov1::Container& c);
int NumberOf(const cov1::Container& c);

// The services to act on, dependencies before dependents: `selected` (all when empty) and, with
// `with_deps`, everything they depend on. InvalidArgument for an unknown service.
StatusOr<std::vector<std::string>> ServiceOrder(const compose::Project& p, const std::vector<std::string>& selected,
                                                bool with_deps);

// The run flags and command that make replica `number` of service `s` (labels included);
// `oneoff` for `compose run` (no ports, no restart policy, a run name).
struct ServiceRun {
  ContainerFlags flags;
  std::vector<std::string> args;  // the command; empty: the image's
};
StatusOr<ServiceRun> ServiceToRun(const compose::Project& p, const compose::Service& s, int number, bool oneoff);
std::string ContainerName(const compose::Project& p, const compose::Service& s, int number);

// The service's networking as run flags: network_mode, its networks (engine names) with the
// aliases containers are found by (the service's name, the container's, the file's aliases),
// published ports (not for `run` unless `service_ports`). In compose_network.cc.
Status AddServiceNetworking(const compose::Project& p, const compose::Service& s, bool oneoff, ContainerFlags& f);
// The project's non-external networks made with compose's labels (external ones must exist);
// Remove takes them away again (those not in use; NotFound ignored).
Status EnsureProjectNetworks(const Globals& g, const compose::Project& p, std::ostream& progress);
Status RemoveProjectNetworks(const Globals& g, const compose::Project& p, std::ostream& progress);

// Networks and volumes of the project that are not external: made (or kept) with compose's
// labels; external ones must exist (NotFound names them).
Status EnsureProjectResources(const Globals& g, const compose::Project& p, std::ostream& progress);

struct UpOptions {
  std::vector<std::string> services;
  bool detach = false, force_recreate = false, no_recreate = false, no_deps = false, remove_orphans = false;
  bool no_start = false;
  int timeout = -1;  // stop timeout for recreation; < 0: the container's
};
// `compose up`: returns the exit code. Attached, follows the containers' logs until they have
// all exited or SIGINT/SIGTERM arrives (then stops them). Call before any gRPC channel exists
// when attached (it blocks SIGINT/SIGTERM for its log loop).
int ComposeUp(const Globals& g, const compose::Project& p, const UpOptions& o);

struct DownOptions {
  bool volumes = false, remove_orphans = false;
  int timeout = -1;
};
int ComposeDown(const Globals& g, const compose::Project& p, const DownOptions& o);

// Waits for what `s` depends on (service_started / service_healthy /
// service_completed_successfully); FailedPrecondition naming the dependency when it cannot be met.
Status WaitForDependencies(const Globals& g, const compose::Project& p, const compose::Service& s);

// Copies the containers' log files to stdout, each line prefixed "NAME  | " (coloured when
// `color`); with `follow`, until every container has exited for good, or until *stop becomes
// true (checked every 100 ms) when given. `tail` >= 0: only the last N lines of what exists.
struct LogSource {
  std::string name;
  std::string id;
  std::string path;
};
Status FollowLogs(const Globals& g, const std::vector<LogSource>& sources, bool follow, bool color, bool prefix,
                  int tail, const std::function<bool()>& stop = nullptr);

}  // namespace berth::cli
