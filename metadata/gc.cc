#include "metadata/gc.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>

#include "common/log.h"
#include "metadata/leases.h"

namespace berth::metadata {
namespace {

enum class NodeType { kContent, kSnapshot, kIngest, kLease, kContentFlat, kSnapshotFlat };

// A GC node; for snapshots `key` is "<snapshotter>/<key>" as containerd writes it.
struct Node {
  NodeType type;
  std::string ns;
  std::string key;
  bool operator<(const Node& o) const { return std::tie(type, ns, key) < std::tie(o.type, o.ns, o.key); }
};

using LabelList = std::vector<std::pair<std::string, std::string>>;
// (namespace, kind, object) -> gc labels of that object.
using GcLabels = std::map<std::tuple<std::string, std::string, std::string>, LabelList>;

bool HasPrefix(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

// The references carried by a set of labels.
void LabelRefs(const std::string& ns, const LabelList& labels, std::vector<Node>& out) {
  const std::string content_ref = kLabelGcRefContent;
  const std::string snap_ref = kLabelGcRefSnapshot;
  for (const auto& [k, v] : labels) {
    if (HasPrefix(k, content_ref)) {
      if (k.size() == content_ref.size() || k[content_ref.size()] == '.' || k[content_ref.size()] == '/') {
        out.push_back({NodeType::kContent, ns, v});
      }
    } else if (HasPrefix(k, snap_ref)) {
      std::string ss = k.substr(snap_ref.size());
      if (auto slash = ss.find('/'); slash != std::string::npos) ss.resize(slash);
      if (!ss.empty()) out.push_back({NodeType::kSnapshot, ns, ss + "/" + v});
    }
  }
}

const LabelList* Find(const GcLabels& all, const std::string& ns, const char* kind, const std::string& object) {
  auto it = all.find({ns, kind, object});
  return it == all.end() ? nullptr : &it->second;
}

bool HasLabel(const LabelList* l, const std::string& key) {
  if (!l) return false;
  return std::any_of(l->begin(), l->end(), [&](const auto& kv) { return kv.first == key; });
}

struct SnapRow {
  std::string parent;
};

}  // namespace

StatusOr<GcPlan> MarkUnreachable(Tx& tx, int64_t now_ns) {
  // Load everything the mark needs in a few queries.
  GcLabels labels;
  {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT namespace, kind, object, key, value FROM labels"
                                         " WHERE key >= 'containerd.io/gc.' AND key < 'containerd.io/gc/'"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      labels[{st.Text(0), st.Text(1), st.Text(2)}].emplace_back(st.Text(3), st.Text(4));
    }
  }
  // (ns, "<snapshotter>/<key>") -> row
  std::map<std::pair<std::string, std::string>, SnapRow> snapshots;
  {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT namespace, snapshotter, key, parent FROM snapshots"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      snapshots[{st.Text(0), st.Text(1) + "/" + st.Text(2)}] = SnapRow{st.Text(3)};
    }
  }
  std::map<std::pair<std::string, std::string>, std::string> ingests;  // (ns, ref) -> expected
  {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT namespace, ref, expected FROM ingests"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      ingests[{st.Text(0), st.Text(1)}] = st.Text(2);
    }
  }

  std::vector<Node> roots;
  // Leases.
  std::set<std::pair<std::string, std::string>> all_leases, live_leases, flat_leases;
  {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT namespace, id FROM leases"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      std::string ns = st.Text(0), id = st.Text(1);
      all_leases.insert({ns, id});
      const LabelList* l = Find(labels, ns, "lease", id);
      bool expired = false;
      if (l) {
        for (const auto& [k, v] : *l) {
          if (k != kLabelGcExpire) continue;
          auto t = ParseRfc3339(v);
          if (!t.ok()) {
            BLOG(Info) << "gc: lease " << ns << "/" << id << ": ignoring invalid expiration " << v;
          } else if (*t < now_ns) {
            expired = true;
          }
        }
      }
      if (expired) continue;
      live_leases.insert({ns, id});
      if (HasLabel(l, kLabelGcFlat)) flat_leases.insert({ns, id});
    }
  }
  {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT namespace, lease, type, id FROM lease_resources"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      std::pair<std::string, std::string> lease{st.Text(0), st.Text(1)};
      if (!live_leases.count(lease)) continue;
      bool flat = flat_leases.count(lease) > 0;
      std::string type = st.Text(2), id = st.Text(3);
      if (type == "content") {
        roots.push_back({flat ? NodeType::kContentFlat : NodeType::kContent, lease.first, id});
      } else if (type == "ingests") {
        roots.push_back({NodeType::kIngest, lease.first, id});
      } else if (HasPrefix(type, "snapshots/")) {
        roots.push_back({flat ? NodeType::kSnapshotFlat : NodeType::kSnapshot, lease.first,
                         type.substr(10) + "/" + id});
      }
    }
  }
  // Images.
  {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT namespace, name, target_digest FROM images"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      std::string ns = st.Text(0);
      roots.push_back({NodeType::kContent, ns, st.Text(2)});
      if (const LabelList* l = Find(labels, ns, "image", st.Text(1))) LabelRefs(ns, *l, roots);
    }
  }
  // Containers.
  {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT namespace, id, snapshotter, snapshot_key FROM containers"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      std::string ns = st.Text(0);
      if (!st.Text(2).empty()) roots.push_back({NodeType::kSnapshot, ns, st.Text(2) + "/" + st.Text(3)});
      if (const LabelList* l = Find(labels, ns, "container", st.Text(1))) LabelRefs(ns, *l, roots);
    }
  }
  // Ingests in progress, and objects labelled gc.root.
  for (const auto& [k, expected] : ingests) roots.push_back({NodeType::kIngest, k.first, k.second});
  for (const auto& [key, l] : labels) {
    const auto& [ns, kind, object] = key;
    if (!HasLabel(&l, kLabelGcRoot)) continue;
    if (kind == "content") roots.push_back({NodeType::kContent, ns, object});
    if (kind == "snapshot") roots.push_back({NodeType::kSnapshot, ns, object});
  }

  // Tricolour mark: a worklist over nodes not yet seen.
  std::set<Node> marked;
  std::deque<Node> work(roots.begin(), roots.end());
  while (!work.empty()) {
    Node n = std::move(work.front());
    work.pop_front();
    if (!marked.insert(n).second) continue;
    std::vector<Node> refs;
    switch (n.type) {
      case NodeType::kContent:
        if (const LabelList* l = Find(labels, n.ns, "content", n.key)) LabelRefs(n.ns, *l, refs);
        break;
      case NodeType::kSnapshot:
      case NodeType::kSnapshotFlat: {
        auto it = snapshots.find({n.ns, n.key});
        if (it == snapshots.end()) break;
        std::string ss = n.key.substr(0, n.key.find('/'));
        if (!it->second.parent.empty()) refs.push_back({n.type, n.ns, ss + "/" + it->second.parent});
        if (n.type == NodeType::kSnapshot) {
          if (const LabelList* l = Find(labels, n.ns, "snapshot", n.key)) LabelRefs(n.ns, *l, refs);
        }
        break;
      }
      case NodeType::kIngest: {
        auto it = ingests.find({n.ns, n.key});
        if (it != ingests.end() && !it->second.empty()) refs.push_back({NodeType::kContent, n.ns, it->second});
        break;
      }
      default:
        break;
    }
    for (auto& r : refs) {
      if (!marked.count(r)) work.push_back(std::move(r));
    }
  }
  auto is_marked = [&](NodeType a, NodeType b, const std::string& ns, const std::string& key) {
    return marked.count({a, ns, key}) > 0 || marked.count({b, ns, key}) > 0;
  };

  GcPlan plan;
  {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT namespace, digest FROM content"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (!is_marked(NodeType::kContent, NodeType::kContentFlat, st.Text(0), st.Text(1))) {
        plan.dead_content.insert({st.Text(0), st.Text(1)});
      }
    }
  }
  for (const auto& [k, row] : snapshots) {
    if (is_marked(NodeType::kSnapshot, NodeType::kSnapshotFlat, k.first, k.second)) continue;
    size_t slash = k.second.find('/');
    std::string ss = k.second.substr(0, slash), key = k.second.substr(slash + 1);
    auto id = std::make_tuple(k.first, ss, key);
    plan.dead_snapshots.insert(id);
    int depth = 0;
    std::string parent = row.parent;
    while (!parent.empty() && depth < 100000) {
      ++depth;
      auto it = snapshots.find({k.first, ss + "/" + parent});
      if (it == snapshots.end()) break;
      parent = it->second.parent;
    }
    plan.snapshot_depth[id] = depth;
  }
  for (const auto& l : all_leases) {
    if (!live_leases.count(l)) plan.dead_leases.insert(l);
  }
  return plan;
}

GarbageCollector::GarbageCollector(Db& db, Backends backends, int64_t period_ms)
    : db_(db), backends_(std::move(backends)), period_ms_(period_ms) {
  thread_ = std::thread([this] { Loop(); });
}

GarbageCollector::~GarbageCollector() { Stop(); }

void GarbageCollector::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void GarbageCollector::SetBackends(Backends backends) {
  std::lock_guard<std::mutex> l(mu_);
  backends_ = std::move(backends);
}

void GarbageCollector::Schedule() {
  {
    std::lock_guard<std::mutex> l(mu_);
    pending_ = true;
  }
  cv_.notify_all();
}

void GarbageCollector::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    bool woke;
    if (period_ms_ > 0) {
      woke = cv_.wait_for(l, std::chrono::milliseconds(period_ms_), [this] { return stop_ || pending_; });
    } else {
      cv_.wait(l, [this] { return stop_ || pending_; });
      woke = true;
    }
    if (stop_) return;
    (void)woke;
    pending_ = false;
    l.unlock();
    {
      std::lock_guard<std::mutex> run(run_mu_);
      auto st = CollectLocked();
      if (!st.ok()) {
        BLOG(Warn) << "garbage collection failed: " << st.status().message();
      }
    }
    l.lock();
  }
}

StatusOr<GcStats> GarbageCollector::CollectNow() {
  std::lock_guard<std::mutex> run(run_mu_);
  return CollectLocked();
}

StatusOr<GcStats> GarbageCollector::CollectLocked() {
  Backends b;
  {
    std::lock_guard<std::mutex> l(mu_);
    b = backends_;
  }
  GcStats stats;
  GcPlan plan;
  RETURN_IF_ERROR(db_.Update([&](Tx& tx) -> Status {
    stats = GcStats();
    ASSIGN_OR_RETURN(plan, MarkUnreachable(tx, NowNanos()));
    ASSIGN_OR_RETURN(Stmt del_content, tx.Prepare("DELETE FROM content WHERE namespace=?1 AND digest=?2"));
    for (const auto& [ns, dgst] : plan.dead_content) {
      del_content.Reset();
      del_content.Bind(1, ns).Bind(2, dgst);
      RETURN_IF_ERROR(del_content.Run());
      RETURN_IF_ERROR(tx.DeleteLabels(ns, "content", dgst));
      stats.content_rows.emplace_back(ns, dgst);
    }
    std::set<std::string> candidates;
    for (const auto& [ns, dgst] : plan.dead_content) candidates.insert(dgst);
    ASSIGN_OR_RETURN(Stmt still, tx.Prepare("SELECT 1 FROM content WHERE digest=?1 LIMIT 1"));
    for (const auto& dgst : candidates) {
      still.Reset();
      still.Bind(1, dgst);
      ASSIGN_OR_RETURN(bool used, still.Step());
      if (!used) stats.blobs.push_back(dgst);
    }
    ASSIGN_OR_RETURN(Stmt del_lease, tx.Prepare("DELETE FROM leases WHERE namespace=?1 AND id=?2"));
    ASSIGN_OR_RETURN(Stmt del_res, tx.Prepare("DELETE FROM lease_resources WHERE namespace=?1 AND lease=?2"));
    for (const auto& [ns, id] : plan.dead_leases) {
      del_lease.Reset();
      del_lease.Bind(1, ns).Bind(2, id);
      RETURN_IF_ERROR(del_lease.Run());
      del_res.Reset();
      del_res.Bind(1, ns).Bind(2, id);
      RETURN_IF_ERROR(del_res.Run());
      RETURN_IF_ERROR(tx.DeleteLabels(ns, "lease", id));
      stats.leases.emplace_back(ns, id);
    }
    return Status();
  }));

  // Backends, after the metadata commit: snapshots children first, then blobs.
  std::vector<std::tuple<std::string, std::string, std::string>> snaps(plan.dead_snapshots.begin(),
                                                                       plan.dead_snapshots.end());
  std::stable_sort(snaps.begin(), snaps.end(),
                   [&](const auto& a, const auto& b) { return plan.snapshot_depth[a] > plan.snapshot_depth[b]; });
  for (const auto& s : snaps) {
    const auto& [ns, ss, key] = s;
    if (!b.remove_snapshot) break;
    Status st = b.remove_snapshot(ns, ss, key);
    if (!st.ok() && !absl::IsNotFound(st)) {
      BLOG(Warn) << "gc: remove snapshot " << ns << "/" << ss << "/" << key << ": " << st.message();
      continue;
    }
    stats.snapshots.push_back(s);
  }
  for (const auto& [ns, dgst] : stats.content_rows) {
    if (b.content_deleted) b.content_deleted(ns, dgst);
  }
  for (const auto& dgst : stats.blobs) {
    if (!b.remove_blob) break;
    Status st = b.remove_blob(dgst);
    if (!st.ok() && !absl::IsNotFound(st)) {
      BLOG(Warn) << "gc: remove blob " << dgst << ": " << st.message();
    }
  }
  if (!stats.content_rows.empty() || !stats.snapshots.empty() || !stats.leases.empty()) {
    BLOG(Debug) << "gc: removed " << stats.content_rows.size() << " content refs, " << stats.blobs.size()
                << " blobs, " << stats.snapshots.size() << " snapshots, " << stats.leases.size() << " leases";
  }
  return stats;
}

}  // namespace berth::metadata
