#include "metadata/snapshots.h"

#include "metadata/leases.h"

#include <map>
#include <set>

#include "common/log.h"
#include "metadata/namespaces.h"

namespace berth::metadata {
namespace {

using snapshotter::Info;
using snapshotter::Kind;

constexpr char kLabelKind[] = "snapshot";

struct Row {
  std::string backend_key;
  std::string parent;
  Kind kind = Kind::kUnknown;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

StatusOr<Row> GetRow(Tx& tx, const std::string& ns, const std::string& sn, const std::string& key) {
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT backend_key, parent, kind, created_at, updated_at FROM snapshots "
                                       "WHERE namespace=?1 AND snapshotter=?2 AND key=?3"));
  st.Bind(1, ns).Bind(2, sn).Bind(3, key);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(StrCat("snapshot ", key, " does not exist: not found"));
  return Row{st.Text(0), st.Text(1), static_cast<Kind>(st.Int(2)), st.Int(3), st.Int(4)};
}

Status InsertRow(Tx& tx, const std::string& ns, const std::string& sn, const std::string& key, const Row& r) {
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare("INSERT INTO snapshots(namespace, snapshotter, key, backend_key, parent, kind, "
                                       "created_at, updated_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)"));
  st.Bind(1, ns).Bind(2, sn).Bind(3, key).Bind(4, r.backend_key).Bind(5, r.parent);
  st.Bind(6, static_cast<int64_t>(r.kind)).Bind(7, r.created_at).Bind(8, r.updated_at);
  Status s = st.Run();
  if (absl::IsAlreadyExists(s)) return absl::AlreadyExistsError(StrCat("snapshot \"", key, "\": already exists"));
  return s;
}

Status DeleteRow(Tx& tx, const std::string& ns, const std::string& sn, const std::string& key) {
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare("DELETE FROM snapshots WHERE namespace=?1 AND snapshotter=?2 AND key=?3"));
  st.Bind(1, ns).Bind(2, sn).Bind(3, key);
  RETURN_IF_ERROR(st.Run());
  return tx.DeleteLabels(ns, kLabelKind, StrCat(sn, "/", key));
}

Status RemoveLeases(Tx& tx, const std::string& ns, const std::string& sn, const std::string& key,
                    const std::string& lease) {
  // containerd removes the key from the lease it was committed under; a plain Remove drops the
  // resource from every lease of the namespace (the snapshot is gone).
  std::string sql = "DELETE FROM lease_resources WHERE namespace=?1 AND type=?2 AND id=?3";
  if (!lease.empty()) sql += " AND lease=?4";
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare(sql));
  st.Bind(1, ns).Bind(2, StrCat("snapshots/", sn)).Bind(3, key);
  if (!lease.empty()) st.Bind(4, lease);
  return st.Run();
}

StatusOr<Info> LoadInfo(Tx& tx, const std::string& ns, const std::string& sn, const std::string& key) {
  ASSIGN_OR_RETURN(Row r, GetRow(tx, ns, sn, key));
  Info info;
  info.name = key;
  info.parent = r.parent;
  info.kind = r.kind;
  info.created_at = r.created_at;
  info.updated_at = r.updated_at;
  ASSIGN_OR_RETURN(info.labels, tx.GetLabels(ns, kLabelKind, StrCat(sn, "/", key)));
  return info;
}

}  // namespace

SnapshotStore::SnapshotStore(Db& db, std::string name, snapshotter::Snapshotter& backend)
    : db_(db), name_(std::move(name)), backend_(backend) {}

StatusOr<std::string> SnapshotStore::BackendKey(const std::string& ns, const std::string& key) {
  std::string bkey;
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Row r, GetRow(tx, ns, name_, key));
    bkey = r.backend_key;
    return Status();
  }));
  return bkey;
}

StatusOr<Info> SnapshotStore::Stat(const std::string& ns, const std::string& key) {
  StatusOr<Info> out;
  RETURN_IF_ERROR(db_.View([&](Tx& tx) {
    out = LoadInfo(tx, ns, name_, key);
    return out.status();
  }));
  return out;
}

StatusOr<Info> SnapshotStore::Update(const std::string& ns, const Info& info, const std::vector<std::string>& paths) {
  if (info.name.empty()) return absl::InvalidArgumentError("snapshot name must not be empty: invalid argument");
  StatusOr<Info> out;
  RETURN_IF_ERROR(db_.Update([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Info cur, LoadInfo(tx, ns, name_, info.name));
    snapshotter::Labels labels = cur.labels;
    if (paths.empty()) {
      labels = info.labels;
    } else {
      for (const auto& p : paths) {
        if (p.rfind("labels.", 0) == 0) {
          std::string k = p.substr(7);
          auto it = info.labels.find(k);
          if (it == info.labels.end() || it->second.empty()) {
            labels.erase(k);
          } else {
            labels[k] = it->second;
          }
        } else if (p == "labels") {
          labels = info.labels;
        } else {
          return absl::InvalidArgumentError(
              StrCat("cannot update \"", p, "\" field on snapshot \"", info.name, "\": invalid argument"));
        }
      }
    }
    RETURN_IF_ERROR(ValidateLabels(labels));
    RETURN_IF_ERROR(tx.SetLabels(ns, kLabelKind, StrCat(name_, "/", info.name), labels));
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("UPDATE snapshots SET updated_at=?4 WHERE namespace=?1 AND snapshotter=?2 "
                                         "AND key=?3"));
    st.Bind(1, ns).Bind(2, name_).Bind(3, info.name).Bind(4, NowNanos());
    RETURN_IF_ERROR(st.Run());
    out = LoadInfo(tx, ns, name_, info.name);
    return out.status();
  }));
  return out;
}

StatusOr<snapshotter::Usage> SnapshotStore::GetUsage(const std::string& ns, const std::string& key) {
  ASSIGN_OR_RETURN(std::string bkey, BackendKey(ns, key));
  return backend_.GetUsage(bkey);
}

StatusOr<std::vector<snapshotter::Mount>> SnapshotStore::Mounts(const std::string& ns, const std::string& key) {
  ASSIGN_OR_RETURN(std::string bkey, BackendKey(ns, key));
  return backend_.Mounts(bkey);
}

StatusOr<std::vector<snapshotter::Mount>> SnapshotStore::Prepare(const std::string& ns, const std::string& lease,
                                                                 const std::string& key, const std::string& parent,
                                                                 const snapshotter::Labels& labels) {
  return Create(Kind::kActive, ns, lease, key, parent, labels);
}

StatusOr<std::vector<snapshotter::Mount>> SnapshotStore::View(const std::string& ns, const std::string& lease,
                                                              const std::string& key, const std::string& parent,
                                                              const snapshotter::Labels& labels) {
  return Create(Kind::kView, ns, lease, key, parent, labels);
}

StatusOr<std::vector<snapshotter::Mount>> SnapshotStore::Create(Kind kind, const std::string& ns,
                                                                const std::string& lease, const std::string& key,
                                                                const std::string& parent,
                                                                const snapshotter::Labels& labels) {
  if (key.empty()) return absl::InvalidArgumentError("snapshot key must not be empty: invalid argument");
  RETURN_IF_ERROR(ValidateLabels(labels));
  std::lock_guard<std::mutex> l(mu_);
  std::string bparent;
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    if (GetRow(tx, ns, name_, key).ok())
      return absl::AlreadyExistsError(StrCat("snapshot \"", key, "\": already exists"));
    if (parent.empty()) return Status();
    auto p = GetRow(tx, ns, name_, parent);
    if (!p.ok()) return absl::NotFoundError(StrCat("parent snapshot ", parent, " does not exist: not found"));
    bparent = p->backend_key;
    return Status();
  }));
  int64_t now = NowNanos();
  std::string bkey = StrCat(ns, "/", now, "/", key);
  ASSIGN_OR_RETURN(auto mounts, kind == Kind::kActive ? backend_.Prepare(bkey, bparent, labels)
                                                      : backend_.View(bkey, bparent, labels));
  Status s = db_.Update([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.EnsureNamespace(ns));
    RETURN_IF_ERROR(InsertRow(tx, ns, name_, key, Row{bkey, parent, kind, now, now}));
    RETURN_IF_ERROR(tx.SetLabels(ns, kLabelKind, StrCat(name_, "/", key), labels));
    return AttachToLease(tx, ns, lease, StrCat("snapshots/", name_), key);
  });
  if (!s.ok()) {
    Status r = backend_.Remove(bkey);
    if (!r.ok()) {
      BLOG(Warn) << "snapshot " << bkey << ": rollback failed: " << r.message();
    }
    return s;
  }
  return mounts;
}

Status SnapshotStore::Commit(const std::string& ns, const std::string& lease, const std::string& name,
                             const std::string& key, const snapshotter::Labels& labels) {
  if (name.empty()) return absl::InvalidArgumentError("snapshot name must not be empty: invalid argument");
  RETURN_IF_ERROR(ValidateLabels(labels));
  std::lock_guard<std::mutex> l(mu_);
  Row active;
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    if (GetRow(tx, ns, name_, name).ok())
      return absl::AlreadyExistsError(StrCat("snapshot \"", name, "\": already exists"));
    ASSIGN_OR_RETURN(active, GetRow(tx, ns, name_, key));
    return Status();
  }));
  if (active.kind != Kind::kActive) {
    return absl::FailedPreconditionError(StrCat("snapshot ", key, " is not active: failed precondition"));
  }
  int64_t now = NowNanos();
  std::string bname = StrCat(ns, "/", now, "/", name);
  RETURN_IF_ERROR(backend_.Commit(bname, active.backend_key, labels));
  Status s = db_.Update([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(DeleteRow(tx, ns, name_, key));
    RETURN_IF_ERROR(RemoveLeases(tx, ns, name_, key, lease));
    RETURN_IF_ERROR(InsertRow(tx, ns, name_, name, Row{bname, active.parent, Kind::kCommitted, now, now}));
    RETURN_IF_ERROR(tx.SetLabels(ns, kLabelKind, StrCat(name_, "/", name), labels));
    return AttachToLease(tx, ns, lease, StrCat("snapshots/", name_), name);
  });
  if (!s.ok()) {
    BLOG(Error) << "snapshot " << key << ": committed in the backend as " << bname
                << " but the metadata update failed (the orphan is reclaimed by cleanup): " << s.message();
  }
  return s;
}

Status SnapshotStore::Remove(const std::string& ns, const std::string& key) {
  std::lock_guard<std::mutex> l(mu_);
  std::string bkey;
  RETURN_IF_ERROR(db_.Update([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Row r, GetRow(tx, ns, name_, key));
    ASSIGN_OR_RETURN(Stmt kids, tx.Prepare("SELECT key FROM snapshots WHERE namespace=?1 AND snapshotter=?2 AND "
                                           "parent=?3 LIMIT 1"));
    kids.Bind(1, ns).Bind(2, name_).Bind(3, key);
    ASSIGN_OR_RETURN(bool has_child, kids.Step());
    if (has_child) return absl::FailedPreconditionError("cannot remove snapshot with child: failed precondition");
    RETURN_IF_ERROR(DeleteRow(tx, ns, name_, key));
    RETURN_IF_ERROR(RemoveLeases(tx, ns, name_, key, ""));
    bkey = r.backend_key;
    return Status();
  }));
  Status s = backend_.Remove(bkey);
  if (!s.ok() && !absl::IsNotFound(s)) {
    BLOG(Warn) << "snapshot " << key << ": removing backend snapshot " << bkey << ": " << s.message();
  }
  return Status();
}

Status SnapshotStore::Walk(const std::string& ns, const std::function<Status(const Info&)>& fn) {
  std::vector<Info> all;
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Stmt st,
                     tx.Prepare("SELECT key FROM snapshots WHERE namespace=?1 AND snapshotter=?2 ORDER BY key"));
    st.Bind(1, ns).Bind(2, name_);
    std::vector<std::string> keys;
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      keys.push_back(st.Text(0));
    }
    for (const auto& k : keys) {
      ASSIGN_OR_RETURN(Info i, LoadInfo(tx, ns, name_, k));
      all.push_back(std::move(i));
    }
    return Status();
  }));
  for (const auto& i : all) RETURN_IF_ERROR(fn(i));
  return Status();
}

StatusOr<int> SnapshotStore::RemoveOrphans() {
  std::lock_guard<std::mutex> l(mu_);
  std::set<std::string> known;
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT backend_key FROM snapshots WHERE snapshotter=?1"));
    st.Bind(1, name_);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      known.insert(st.Text(0));
    }
    return Status();
  }));
  int removed = 0;
  // Children must go before their parents: repeat until a pass removes nothing.
  for (;;) {
    std::map<std::string, std::string> orphans;  // key -> parent
    std::set<std::string> parents;
    RETURN_IF_ERROR(backend_.Walk([&](const Info& i) {
      if (!i.parent.empty()) parents.insert(i.parent);
      if (!known.count(i.name)) orphans.emplace(i.name, i.parent);
      return Status();
    }));
    int pass = 0;
    for (const auto& [k, p] : orphans) {
      if (parents.count(k)) continue;
      Status s = backend_.Remove(k);
      if (s.ok()) {
        ++pass;
      } else {
        BLOG(Warn) << "removing orphaned snapshot " << k << ": " << s.message();
      }
    }
    removed += pass;
    if (pass == 0) break;
  }
  return removed;
}

Status SnapshotStore::Cleanup() {
  ASSIGN_OR_RETURN(int n, RemoveOrphans());
  if (n > 0) {
    BLOG(Info) << "snapshotter " << name_ << ": removed " << n << " orphaned snapshots";
  }
  return backend_.Cleanup();
}

}  // namespace berth::metadata
