// Daemon is berthd's composition root: it builds every core part in dependency order from the
// Config, and the gRPC service adapters receive it by reference. It holds no logic of its own.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string>
#include <vector>

#include "content/local_store.h"
#include "daemon/config.h"
#include "events/exchange.h"
#include "metadata/db.h"
#include "metadata/content.h"
#include "metadata/namespaces.h"
#include "metadata/gc.h"
#include "metadata/images.h"
#include "metadata/leases.h"

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
  std::unique_ptr<metadata::Db> db;
  std::unique_ptr<metadata::NamespaceStore> namespaces;
  std::unique_ptr<events::Exchange> events;
  std::unique_ptr<metadata::ImageStore> images;
  std::unique_ptr<metadata::LeaseStore> leases;
  // Garbage collector; its Backends (blob and snapshot removal) are set once those stores exist.
  std::unique_ptr<metadata::GarbageCollector> gc;
  // Blobs on disk (<root>/io.containerd.content.v1.content) and their namespaced view.
  std::unique_ptr<content::LocalStore> local_content;
  std::unique_ptr<metadata::ContentStore> content;

  std::vector<PluginInfo> plugins;
};

// Creates the root and state directories, opens the metadata database and builds every core
// part. The caller holds the root lock already.
StatusOr<std::unique_ptr<Daemon>> BuildDaemon(const Config& config);

}  // namespace berth::daemon
