#include "daemon/gc_wiring.h"

#include "containerd/events/content.pb.h"
#include "daemon/publish.h"

namespace berth::daemon {

void WireGarbageCollector(Daemon& d) {
  metadata::GarbageCollector::Backends b;
  events::Exchange* ex = d.events.get();
  b.content_deleted = [ex](const std::string& ns, const std::string& digest) {
    containerd::events::ContentDelete ev;
    ev.set_digest(digest);
    PublishEvent(*ex, ns, "/content/delete", ev);
  };
  // Blob and snapshot removal are connected here once the content store and the snapshot
  // stores are part of the Daemon (see BuildDaemon).
  d.gc->SetBackends(std::move(b));
}

}  // namespace berth::daemon
