#include "daemon/daemon.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "common/fs.h"
#include "common/log.h"
#include "daemon/cgroup.h"
#include "daemon/publish.h"
#include "runtime/bundle.h"
#include "runtime/oom_score.h"
#include "daemon/gc_wiring.h"

namespace berth::daemon {
namespace {

// Ingests not written to for this long are removed at start-up (containerd expires them after 24h).
constexpr int64_t kStaleIngestAge = int64_t{24} * 3600 * 1000000000;
// How long, after a restart under running tasks, exits are held for clients that re-subscribe late
// (dockerd reconnects with gRPC's backoff: 1 s, 1.6 s, 2.6 s, ... after a long outage).
constexpr std::chrono::seconds kRestartEventHold{120};

// A random RFC 4122 version 4 UUID from the kernel's random source.
StatusOr<std::string> NewUuid() {
  unsigned char b[16];
  if (getentropy(b, sizeof b) != 0) return ErrnoStatus(errno, "getentropy");
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
           b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return std::string(out);
}

StatusOr<std::string> LoadOrCreateUuid(const std::string& root) {
  std::string dir = JoinPath(root, "io.containerd.grpc.v1.introspection");
  std::string path = JoinPath(dir, "uuid");
  auto existing = ReadFile(path);
  if (existing.ok() && existing->size() >= 36) return existing->substr(0, 36);
  if (!existing.ok() && !absl::IsNotFound(existing.status())) return existing.status();
  RETURN_IF_ERROR(MkdirAll(dir, 0711));
  ASSIGN_OR_RETURN(std::string uuid, NewUuid());
  RETURN_IF_ERROR(WriteFileAtomic(path, uuid, 0644));
  return uuid;
}

}  // namespace

StatusOr<std::unique_ptr<Daemon>> BuildDaemon(const Config& config) {
  auto d = std::make_unique<Daemon>();
  d->config = config;
  // Process settings first, as containerd's apply(): shims started later inherit both.
  if (config.oom_score != 0) {
    if (Status s = runtime::WriteOomScoreAdj(0, config.oom_score); !s.ok()) {
      BLOG(Error) << "set oom_score_adj to " << config.oom_score << ": " << s;
    }
  }
  if (!config.cgroup_path.empty()) {
    RETURN_IF_ERROR(Annotate(JoinCgroup(config.cgroup_path, ::getpid()), "cgroup.path"));
  }
  RETURN_IF_ERROR(MkdirAll(config.root, 0711));
  RETURN_IF_ERROR(MkdirAll(config.state, 0711));
  ASSIGN_OR_RETURN(d->uuid, LoadOrCreateUuid(config.root));

  unsigned threads = std::max(8u, 4 * std::thread::hardware_concurrency());
  d->pool = std::make_unique<boost::asio::thread_pool>(threads);
  d->pull_slots = std::make_unique<Slots>(static_cast<int>(config.max_concurrent_pulls));
  d->unpack_slots = std::make_unique<Slots>(static_cast<int>(config.max_concurrent_unpacks));

  std::string meta_dir = JoinPath(config.root, "io.containerd.metadata.v1.sqlite");
  RETURN_IF_ERROR(MkdirAll(meta_dir, 0711));
  ASSIGN_OR_RETURN(d->db, metadata::Db::Open(JoinPath(meta_dir, "meta.db")));
  d->namespaces = std::make_unique<metadata::NamespaceStore>(*d->db);
  d->events = std::make_unique<events::Exchange>();
  d->containers = std::make_unique<metadata::ContainerStore>(*d->db);

  d->ttrpc_events = std::make_unique<TtrpcEventsServer>(*d->events);
  RETURN_IF_ERROR(Annotate(d->ttrpc_events->Start(config.TtrpcAddress()), "ttrpc events server"));
  runtime::TaskManagerOptions topts;
  topts.root = config.root;
  topts.state = config.state;
  topts.env.grpc_address = config.grpc_address;
  topts.env.ttrpc_address = config.TtrpcAddress();
  topts.env.debug = log::GetLevel() <= log::Level::kDebug;
  topts.default_runtime = config.default_runtime;
  topts.runtime_shims = config.RuntimeShims();
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  topts.env.self_exe = n > 0 ? std::string(self, static_cast<size_t>(n)) : "berthd";
  events::Exchange* ex = d->events.get();
  boost::asio::thread_pool* pool = d->pool.get();
  d->tasks = std::make_unique<runtime::TaskManager>(
      std::move(topts),
      [ex](const std::string& ns, const std::string& topic, const google::protobuf::Message& ev) {
        PublishEvent(*ex, ns, topic, ev);
      },
      [pool](std::function<void()> fn) { boost::asio::post(*pool, std::move(fn)); });
  // Restarted under running tasks: exits that happened while berthd was down reach berthd now
  // (shims' retried forwards, dead shims cleaned up below), usually before clients whose event
  // stream broke have re-subscribed; hold them for those clients (events/exchange.h, Hold).
  if (!runtime::ListBundles(config.root, config.state).empty()) {
    d->events->Hold({"/tasks/exit", "/tasks/oom", "/tasks/delete"},
                    std::chrono::steady_clock::now() + kRestartEventHold);
  }
  d->tasks->LoadExisting();
  d->images = std::make_unique<metadata::ImageStore>(*d->db);
  d->leases = std::make_unique<metadata::LeaseStore>(*d->db);
  d->gc = std::make_unique<metadata::GarbageCollector>(*d->db, metadata::GarbageCollector::Backends{});
  ASSIGN_OR_RETURN(d->local_content,
                   content::LocalStore::Open(JoinPath(config.root, "io.containerd.content.v1.content")));
  d->content = std::make_unique<metadata::ContentStore>(*d->db, *d->local_content);
  if (auto cleaned = d->content->CleanupIngests(kStaleIngestAge); !cleaned.ok()) {
    BLOG(Warn) << "clean stale ingests: " << cleaned.status();
  }

  d->plugins = {
      {"io.containerd.grpc.v1", "version", {}},
      {"io.containerd.grpc.v1", "namespaces", {"io.containerd.metadata.v1"}},
      {"io.containerd.grpc.v1", "introspection", {}},
      {"io.containerd.grpc.v1", "healthcheck", {}},
      {"io.containerd.metadata.v1", "sqlite", {}},
      {"io.containerd.grpc.v1", "containers", {"io.containerd.metadata.v1"}},
      {"io.containerd.grpc.v1", "events", {}},
      {"io.containerd.grpc.v1", "tasks", {"io.containerd.runtime.v2"}},
      {"io.containerd.runtime.v2", "task", {"io.containerd.metadata.v1"}},
      {"io.containerd.runtime.v1", "linux", {"io.containerd.metadata.v1"}},
      {"io.containerd.grpc.v1", "images", {"io.containerd.metadata.v1"}},
      {"io.containerd.grpc.v1", "leases", {"io.containerd.metadata.v1"}},
      {"io.containerd.gc.v1", "scheduler", {"io.containerd.metadata.v1"}},
  };
  WireGarbageCollector(*d);
  d->gc_stopper.gc = d->gc.get();
  d->plugins.push_back({"io.containerd.content.v1", "content", {}});
  d->plugins.push_back({"io.containerd.grpc.v1", "content", {"io.containerd.content.v1", "io.containerd.metadata.v1"}});
  RETURN_IF_ERROR(BuildSnapshotters(*d));
  d->auto_remove = std::make_unique<AutoRemover>(*d);
  d->plugins.push_back({"io.containerd.internal.v1", "restart", {"io.containerd.event.v1", "io.containerd.service.v1"}});
  d->restart_backend = NewDaemonRestartBackend(*d);
  d->restart_monitor = std::make_unique<RestartMonitor>(*d->restart_backend, std::chrono::milliseconds(config.restart_monitor_interval_ms));
  return d;
}

}  // namespace berth::daemon
