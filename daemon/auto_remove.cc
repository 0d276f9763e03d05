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
  // Exits seen before this subscription (a shim that died while berthd was down is cleaned up,
  // and its exit published, as the task manager loads): look at every labelled container once.
  boost::asio::post(*d_.pool, [this] { Sweep(); });
}

void AutoRemover::Sweep() {
  auto namespaces = d_.namespaces->List();
  if (!namespaces.ok()) return;
  auto filter = Filter::Parse(StrCat("labels.\"", kAutoRemoveLabel, "\"==true"));
  if (!filter.ok()) return;
  for (const auto& n : *namespaces) {
    auto containers = d_.containers->List(n.name, *filter);
    if (!containers.ok()) continue;
    for (const auto& c : *containers) {
      auto task = d_.tasks->Get(n.name, c.id);
      if (task.ok()) {
        containerd::task::v2::StateRequest req;
        req.set_id(c.id);
        auto st = (*task)->shim().Call<containerd::task::v2::StateResponse>("State", req, std::chrono::seconds(2));
        if (!st.ok() || st->status() != containerd::v1::types::STOPPED) continue;
      } else if (!absl::IsNotFound(task.status())) {
        continue;
      }
      Remove(n.name, c.id);
    }
  }
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
