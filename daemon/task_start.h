// Creating and starting a container's task: shared by the Tasks service (Create, Start) and the
// restart monitor, so both build the shim's request the same way.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "metadata/containers.h"
#include "runtime/task_manager.h"

namespace berth::daemon {

// The task manager's parameters for container `c` of `ns`: id, runtime, spec, and the
// container's runtime options (when it has any). Rootfs, stdio and terminal are the caller's.
runtime::CreateTaskParams ContainerTaskParams(const std::string& ns, const metadata::Container& c);

// Starts process `exec_id` ("" = the init) of a created task through its shim; returns its pid.
// The shim's error (its code) otherwise.
StatusOr<uint32_t> StartTaskProcess(runtime::Task& t, const std::string& exec_id);

}  // namespace berth::daemon
