#include "daemon/gc_wiring.h"

#include "containerd/events/content.pb.h"
#include "common/digest.h"
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
  // Looked up at call time, so the order in which BuildDaemon creates the stores does not matter.
  Daemon* dp = &d;
  b.remove_blob = [dp](const std::string& digest) -> Status {
    if (!dp->content) return Status();
    ASSIGN_OR_RETURN(Digest dg, Digest::Parse(digest));
    ASSIGN_OR_RETURN(bool removed, dp->content->DeleteBlobIfUnreferenced(dg));
    (void)removed;
    return Status();
  };
  b.remove_snapshot = [dp](const std::string& ns, const std::string& snapshotter, const std::string& key) -> Status {
    auto it = dp->snapshotters.find(snapshotter);
    if (it == dp->snapshotters.end()) return absl::NotFoundError(StrCat("snapshotter ", snapshotter, " not loaded"));
    return it->second->Remove(ns, key);
  };
  d.gc->SetBackends(std::move(b));
}

}  // namespace berth::daemon
