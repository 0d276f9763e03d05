#include "daemon/auto_remove.h"

#include <boost/asio/post.hpp>

#include "common/log.h"
#include "containerd/events/container.pb.h"
#include "containerd/events/task.pb.h"
#include "daemon/daemon.h"
#include "daemon/publish.h"

namespace berth::daemon {

AutoRemover::AutoRemover(Daemon& d) : d_(d) {
  auto filter = Filter::Parse("topic==\"/tasks/exit\"");
  subscription_ = d_.events->Subscribe(*filter, [this](const events::Envelope& env) {
    containerd::events::TaskExit ev;
    if (!ev.ParseFromString(env.payload)) return;
    if (ev.id() != ev.container_id()) return;  // an exec'd process, not the container's init
    // Not on the publisher's thread: removal calls the shim and publishes events itself.
    boost::asio::post(*d_.pool, [this, ns = env.ns, id = ev.container_id()] { Remove(ns, id); });
  });
}

AutoRemover::~AutoRemover() { d_.events->Unsubscribe(subscription_); }

void AutoRemover::Remove(const std::string& ns, const std::string& id) {
  auto c = d_.containers->Get(ns, id);
  if (!c.ok()) return;
  auto label = c->labels.find(kAutoRemoveLabel);
  if (label == c->labels.end() || label->second != "true") return;
  auto deleted = d_.tasks->Delete(ns, id);
  if (!deleted.ok() && !absl::IsNotFound(deleted.status())) {
    BLOG(Warn) << "auto-remove " << ns << "/" << id << ": delete task: " << deleted.status();
    return;
  }
  if (!c->snapshot_key.empty()) {
    auto sn = d_.snapshotters.find(c->snapshotter);
    if (sn != d_.snapshotters.end()) {
      Status s = sn->second->Remove(ns, c->snapshot_key);
      if (!s.ok() && !absl::IsNotFound(s)) {
        BLOG(Warn) << "auto-remove " << ns << "/" << id << ": remove snapshot: " << s;
      }
    }
  }
  if (Status s = d_.containers->Delete(ns, id); !s.ok()) {
    if (!absl::IsNotFound(s)) {
      BLOG(Warn) << "auto-remove " << ns << "/" << id << ": " << s;
    }
    return;
  }
  containerd::events::ContainerDelete ev;
  ev.set_id(id);
  PublishEvent(*d_.events, ns, "/containers/delete", ev);
  BLOG(Info) << "auto-removed container " << ns << "/" << id;
}

}  // namespace berth::daemon
