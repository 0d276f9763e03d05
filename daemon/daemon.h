// Daemon is berthd's composition root: it builds every core part in dependency order from the
// Config, and the gRPC service adapters receive it by reference. It holds no logic of its own.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/slots.h"
#include "content/local_store.h"
#include "daemon/auto_remove.h"
#include "daemon/config.h"
#include "daemon/restart_monitor.h"
#include "daemon/ttrpc_events.h"
#include "diff/apply.h"
#include "events/exchange.h"
#include "metadata/containers.h"
#include "metadata/db.h"
#include "metadata/content.h"
#include "metadata/namespaces.h"
#include "runtime/task_manager.h"
#include "metadata/gc.h"
#include "metadata/images.h"
#include "metadata/leases.h"
#include "metadata/snapshots.h"
#include "snapshotter/snapshotter.h"

namespace berth::daemon {

// One row of Introspection/Plugins.
struct PluginInfo {
  std::string type;  // e.g. "io.containerd.grpc.v1"
  std::string id;    // e.g. "content"
  std::vector<std::string> requires_;
};

struct Daemon {
  Config config;
  std::string uuid;  // persisted under <root>/io.containerd.grpc.v1.introspection/uuid

  // Pool for blocking work done on behalf of RPCs (SQLite, file I/O, shim calls).
  std::unique_ptr<boost::asio::thread_pool> pool;
  // Bounds (config): pulls berthd runs at once (RunPull holds one), layers applied at once
  // (Diff.Apply and pulls' unpacks hold one each).
  std::unique_ptr<Slots> pull_slots;
  std::unique_ptr<Slots> unpack_slots;
  std::unique_ptr<metadata::Db> db;
  std::unique_ptr<metadata::NamespaceStore> namespaces;
  std::unique_ptr<events::Exchange> events;
  std::unique_ptr<metadata::ContainerStore> containers;
  // ttrpc endpoint for shims' Events/Forward; then the task manager (reconnects shims at start).
  std::unique_ptr<TtrpcEventsServer> ttrpc_events;
  std::unique_ptr<runtime::TaskManager> tasks;
  std::unique_ptr<metadata::ImageStore> images;
  std::unique_ptr<metadata::LeaseStore> leases;
  // Garbage collector; its Backends (blob and snapshot removal) are set once those stores exist.
  std::unique_ptr<metadata::GarbageCollector> gc;
  // Blobs on disk (<root>/io.containerd.content.v1.content) and their namespaced view.
  std::unique_ptr<content::LocalStore> local_content;
  std::unique_ptr<metadata::ContentStore> content;

  // Snapshotter backends by name ("overlayfs", "native") and the namespaced stores over them.
  std::map<std::string, std::unique_ptr<snapshotter::Snapshotter>> snapshotter_backends;
  std::map<std::string, std::unique_ptr<metadata::SnapshotStore>> snapshotters;
  // Where Diff/Apply reads layer blobs from, and where it makes temporary mount points.
  diff::BlobOpener open_blob;
  std::string diff_temp_dir;

  std::vector<PluginInfo> plugins;

  // Removes containers labelled berth/auto-remove=true when they exit; after the stores it uses,
  // so destroyed (unsubscribed) before them.
  std::unique_ptr<AutoRemover> auto_remove;
  // Keeps containers labelled containerd.io/restart.status in that state; stopped before the
  // stores it uses go away.
  std::unique_ptr<RestartBackend> restart_backend;
  std::unique_ptr<RestartMonitor> restart_monitor;

  // Last member, so destroyed first: stops the collector before the stores it uses go away.
  struct GcStopper {
    metadata::GarbageCollector* gc = nullptr;
    ~GcStopper() {
      if (gc) gc->Stop();
    }
  } gc_stopper;
};

// Creates the root and state directories, opens the metadata database and builds every core
// part. The caller holds the root lock already.
StatusOr<std::unique_ptr<Daemon>> BuildDaemon(const Config& config);

// Loads the snapshotters (overlayfs when the kernel has it, native always), cleans up after a
// crash, and sets up Diff/Apply's blob source (daemon/snapshotters.cc).
Status BuildSnapshotters(Daemon& d);

}  // namespace berth::daemon
