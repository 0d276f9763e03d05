// Bundle: the on-disk directory of one task, shared by berthd and the task's shim.
//
//   <state>/io.containerd.runtime.v2.task/<ns>/<id>/
//     config.json        OCI spec (berthd)          rootfs/   mount point (berthd, mounted by the shim)
//     work -> <root>/io.containerd.runtime.v2.task/<ns>/<id>   (berthd)
//     log                FIFO the shim writes its log to; berthd keeps it open O_RDWR and drains it
//     shim-binary-path   absolute path of the shim binary (berthd)
//     address            ttrpc address of the shim (shim)
//     init.pid, log.json, options.json, runtime, exit status file (shim)
//
// All state needed to reconnect after a berthd restart lives here. Not thread-safe: one owner.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::runtime {

inline constexpr char kTaskPluginDir[] = "io.containerd.runtime.v2.task";

struct Bundle {
  std::string id;
  std::string ns;
  std::string path;  // the state directory above
  std::string work;  // the work directory under root

  std::string File(const std::string& name) const { return path + "/" + name; }
};

// Creates the bundle of task `id` in namespace `ns` with `spec` as config.json. The directory is
// built under a temporary name and renamed into place. When the spec maps the container's root
// to another host gid (user namespaces), the bundle is group-owned by that gid with mode 0710 so
// the remapped root can reach rootfs/. AlreadyExists when the bundle exists, InvalidArgument for
// a spec that is not JSON.
StatusOr<Bundle> CreateBundle(const std::string& root, const std::string& state, const std::string& ns,
                              const std::string& id, const std::string& spec);

// The host gid that container gid 0 maps to in `spec` (linux.gidMappings), 0 without a mapping.
// InvalidArgument when `spec` is not a JSON object.
StatusOr<uint32_t> RemappedRootGid(const std::string& spec);

// The bundle of an existing task (no I/O).
Bundle BundleAt(const std::string& root, const std::string& state, const std::string& ns, const std::string& id);

// Lists the bundles present under `state` as (namespace, id) pairs. Unreadable entries are skipped.
std::vector<Bundle> ListBundles(const std::string& root, const std::string& state);

// Unmounts rootfs (lazily, if still mounted) and removes the bundle and its work directory.
Status DeleteBundle(const Bundle& b);

// Creates the `log` FIFO if missing and opens it O_RDWR|O_NONBLOCK|O_CLOEXEC (so the shim's
// blocking write-only open succeeds and its writes never fail). Returns the fd.
StatusOr<int> OpenLogFifo(const Bundle& b);

}  // namespace berth::runtime
