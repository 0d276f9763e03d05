// Making a container from run/create flags, and starting the task of one that exists (start,
// restart, and run after its create).
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "cmd/berth/container_flags.h"
#include "cmd/berth/containers.h"
#include "containerd/types/mount.pb.h"

namespace berth::cli {

struct CreatedContainer {
  cov1::Container container;
  std::vector<containerd::types::Mount> rootfs;  // the snapshot's mounts, for Tasks.Create
  std::string log_path;                           // where a detached task's output goes
};

// Everything `berth create` does: image (pulled per --pull, pull progress on `progress`),
// snapshot, spec, /etc files, labels and the container record, all removed again on failure.
// The --cidfile is written last. AlreadyExists when the name is taken.
StatusOr<CreatedContainer> CreateFromFlags(const Globals& g, const ContainerFlags& f, std::vector<std::string> args,
                                           std::ostream& progress);

// Everything `berth run` does after parsing its flags (run.cc): returns the exit code (the
// process's status, 125 for berth's failures; attached, the container is kept or removed as
// the flags say). Call before any gRPC channel exists: it takes over the terminating signals.
int RunContainer(const Globals& g, const ContainerFlags& f, std::vector<std::string> args);

// The rootfs mounts of an existing container's snapshot (Snapshots.Mounts).
StatusOr<std::vector<containerd::types::Mount>> SnapshotMounts(const Globals& g, const cov1::Container& c);

// Sets (or, with an empty value, removes) container labels with one Containers.Update.
Status UpdateLabels(const Globals& g, const std::string& id, const std::map<std::string, std::string>& labels);

// Creates and starts a task whose stdout and stderr are appended to the container's log file
// (a stopped task left from before is deleted first), then asks the restart monitor to keep it
// running when the container has a restart policy.
Status StartDetached(const Globals& g, const cov1::Container& c);

// After a task of `c` was started by us: restart.status=running for a container with a restart
// policy (so berthd's restart monitor takes over), explicitly-stopped cleared.
Status ArmRestart(const Globals& g, const cov1::Container& c);

// Before stopping or removing `c` on purpose: restart.status=stopped, explicitly-stopped=true,
// so the restart monitor leaves it down. Nothing for a container without a policy.
Status DisarmRestart(const Globals& g, const cov1::Container& c);

// `stop` of one container (by id or prefix; *id_out gets its id): sig (<= 0: the container's
// stop signal, else TERM), then SIGKILL after grace_seconds (< 0: its stop timeout, else 10);
// the task is then deleted and its exit kept. The restart monitor is told to leave it down.
Status StopContainer(const Globals& g, const std::string& arg, int sig, int grace_seconds, std::string* id_out);

}  // namespace berth::cli
