#include "snapshotter/storage.h"

namespace berth::snapshotter::storage {
namespace {

using metadata::Stmt;
using metadata::Tx;

// Tables of the snapshotter's own database (prefixed: the file is opened through metadata::Db,
// which also lays out its general schema there, unused).
constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS snapshotter_snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  parent_id INTEGER REFERENCES snapshotter_snapshots(id),
  kind INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  inodes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS snapshotter_by_parent ON snapshotter_snapshots(parent_id);
CREATE TABLE IF NOT EXISTS snapshotter_labels (
  id INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (id, key)
) WITHOUT ROWID;
)sql";

constexpr char kSelectInfo[] =
    "SELECT s.id, s.key, IFNULL(p.key, ''), s.kind, s.created_at, s.updated_at, s.parent_id "
    "FROM snapshotter_snapshots s LEFT JOIN snapshotter_snapshots p ON s.parent_id = p.id ";

StatusOr<Labels> LoadLabels(Tx& tx, int64_t id) {
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT key, value FROM snapshotter_labels WHERE id=?1"));
  st.Bind(1, id);
  Labels out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.emplace(st.Text(0), st.Text(1));
  }
  return out;
}

Status StoreLabels(Tx& tx, int64_t id, const Labels& labels) {
  ASSIGN_OR_RETURN(Stmt del, tx.Prepare("DELETE FROM snapshotter_labels WHERE id=?1"));
  del.Bind(1, id);
  RETURN_IF_ERROR(del.Run());
  ASSIGN_OR_RETURN(Stmt ins, tx.Prepare("INSERT INTO snapshotter_labels(id, key, value) VALUES(?1, ?2, ?3)"));
  for (const auto& [k, v] : labels) {
    if (v.empty()) continue;
    ins.Reset();
    ins.Bind(1, id).Bind(2, k).Bind(3, v);
    RETURN_IF_ERROR(ins.Run());
  }
  return Status();
}

Info RowInfo(const Stmt& st) {
  Info info;
  info.name = st.Text(1);
  info.parent = st.Text(2);
  info.kind = static_cast<Kind>(st.Int(3));
  info.created_at = st.Int(4);
  info.updated_at = st.Int(5);
  return info;
}

// id, kind and parent id of `key`, NotFound when missing.
StatusOr<std::tuple<int64_t, Kind, int64_t>> Lookup(Tx& tx, const std::string& key) {
  ASSIGN_OR_RETURN(Stmt st,
                   tx.Prepare("SELECT id, kind, IFNULL(parent_id, 0) FROM snapshotter_snapshots WHERE key=?1"));
  st.Bind(1, key);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(StrCat("snapshot ", key, ": not found"));
  return std::make_tuple(st.Int(0), static_cast<Kind>(st.Int(1)), st.Int(2));
}

StatusOr<std::vector<int64_t>> ParentChain(Tx& tx, int64_t parent_id) {
  std::vector<int64_t> out;
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT IFNULL(parent_id, 0) FROM snapshotter_snapshots WHERE id=?1"));
  while (parent_id != 0) {
    out.push_back(parent_id);
    if (out.size() > 4096) return absl::InternalError("snapshot parent chain too long (cycle?)");
    st.Reset();
    st.Bind(1, parent_id);
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return absl::InternalError(StrCat("snapshot id ", parent_id, ": missing parent row"));
    parent_id = st.Int(0);
  }
  return out;
}

}  // namespace

StatusOr<std::unique_ptr<metadata::Db>> Open(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, metadata::Db::Open(path));
  RETURN_IF_ERROR(db->Update([](Tx& tx) { return tx.Exec(kSchema); }));
  return db;
}

StatusOr<Info> GetInfo(Tx& tx, const std::string& key) {
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare(StrCat(kSelectInfo, "WHERE s.key=?1")));
  st.Bind(1, key);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(StrCat("snapshot ", key, ": not found"));
  Info info = RowInfo(st);
  ASSIGN_OR_RETURN(info.labels, LoadLabels(tx, st.Int(0)));
  return info;
}

StatusOr<Snapshot> GetSnapshot(Tx& tx, const std::string& key) {
  ASSIGN_OR_RETURN(auto row, Lookup(tx, key));
  Snapshot s;
  s.id = std::get<0>(row);
  s.kind = std::get<1>(row);
  ASSIGN_OR_RETURN(s.parent_ids, ParentChain(tx, std::get<2>(row)));
  return s;
}

StatusOr<Snapshot> CreateSnapshot(Tx& tx, Kind kind, const std::string& key, const std::string& parent,
                                  const Labels& labels) {
  if (kind != Kind::kActive && kind != Kind::kView) {
    return absl::InvalidArgumentError(StrCat("snapshot ", key, ": snapshot type ", static_cast<int>(kind),
                                             " invalid; only snapshots of type Active or View can be created"));
  }
  if (key.empty()) return absl::InvalidArgumentError("snapshot key must not be empty");
  int64_t parent_id = 0;
  if (!parent.empty()) {
    auto p = Lookup(tx, parent);
    if (!p.ok()) {
      return Status(p.status().code(), StrCat("parent snapshot ", parent, " does not exist: not found"));
    }
    if (std::get<1>(*p) != Kind::kCommitted) {
      return absl::FailedPreconditionError(StrCat("parent ", parent, " is not committed snapshot"));
    }
    parent_id = std::get<0>(*p);
  }
  auto existing = Lookup(tx, key);
  if (existing.ok()) return absl::AlreadyExistsError(StrCat("snapshot ", key, ": already exists"));
  if (!absl::IsNotFound(existing.status())) return existing.status();

  int64_t now = metadata::NowNanos();
  ASSIGN_OR_RETURN(Stmt ins,
                   tx.Prepare("INSERT INTO snapshotter_snapshots(key, parent_id, kind, created_at, updated_at) "
                              "VALUES(?1, ?2, ?3, ?4, ?4)"));
  ins.Bind(1, key).Bind(3, static_cast<int64_t>(kind)).Bind(4, now);
  if (parent_id != 0) {
    ins.Bind(2, parent_id);
  } else {
    ins.BindNull(2);
  }
  RETURN_IF_ERROR(ins.Run());
  ASSIGN_OR_RETURN(Stmt last, tx.Prepare("SELECT last_insert_rowid()"));
  ASSIGN_OR_RETURN(bool row, last.Step());
  if (!row) return absl::InternalError("no rowid after insert");
  Snapshot s;
  s.id = last.Int(0);
  s.kind = kind;
  RETURN_IF_ERROR(StoreLabels(tx, s.id, labels));
  ASSIGN_OR_RETURN(s.parent_ids, ParentChain(tx, parent_id));
  return s;
}

StatusOr<Info> UpdateInfo(Tx& tx, const Info& info, const std::vector<std::string>& fieldpaths) {
  ASSIGN_OR_RETURN(auto row, Lookup(tx, info.name));
  int64_t id = std::get<0>(row);
  ASSIGN_OR_RETURN(Labels labels, LoadLabels(tx, id));
  if (fieldpaths.empty()) {
    labels = info.labels;
  } else {
    for (const auto& path : fieldpaths) {
      if (path.rfind("labels.", 0) == 0) {
        std::string k = path.substr(7);
        auto it = info.labels.find(k);
        if (it == info.labels.end() || it->second.empty()) {
          labels.erase(k);
        } else {
          labels[k] = it->second;
        }
      } else if (path == "labels") {
        labels = info.labels;
      } else {
        return absl::InvalidArgumentError(
            StrCat("cannot update \"", path, "\" field on snapshot \"", info.name, "\": invalid argument"));
      }
    }
  }
  RETURN_IF_ERROR(StoreLabels(tx, id, labels));
  ASSIGN_OR_RETURN(Stmt up, tx.Prepare("UPDATE snapshotter_snapshots SET updated_at=?2 WHERE id=?1"));
  up.Bind(1, id).Bind(2, metadata::NowNanos());
  RETURN_IF_ERROR(up.Run());
  return GetInfo(tx, info.name);
}

StatusOr<int64_t> CommitActive(Tx& tx, const std::string& key, const std::string& name, const Usage& usage,
                               const Labels& labels) {
  if (name.empty()) return absl::InvalidArgumentError("snapshot name must not be empty");
  ASSIGN_OR_RETURN(auto row, Lookup(tx, key));
  if (std::get<1>(row) != Kind::kActive) {
    return absl::FailedPreconditionError(StrCat("snapshot ", key, " is not active: failed precondition"));
  }
  auto existing = Lookup(tx, name);
  if (existing.ok()) return absl::AlreadyExistsError(StrCat("snapshot ", name, ": already exists"));
  if (!absl::IsNotFound(existing.status())) return existing.status();
  int64_t id = std::get<0>(row);
  int64_t now = metadata::NowNanos();
  ASSIGN_OR_RETURN(Stmt up, tx.Prepare("UPDATE snapshotter_snapshots SET key=?2, kind=?3, created_at=?4, "
                                       "updated_at=?4, size=?5, inodes=?6 WHERE id=?1"));
  up.Bind(1, id).Bind(2, name).Bind(3, static_cast<int64_t>(Kind::kCommitted)).Bind(4, now);
  up.Bind(5, usage.size).Bind(6, usage.inodes);
  RETURN_IF_ERROR(up.Run());
  RETURN_IF_ERROR(StoreLabels(tx, id, labels));
  return id;
}

StatusOr<std::pair<int64_t, Kind>> Remove(Tx& tx, const std::string& key) {
  ASSIGN_OR_RETURN(auto row, Lookup(tx, key));
  int64_t id = std::get<0>(row);
  ASSIGN_OR_RETURN(Stmt kids, tx.Prepare("SELECT key FROM snapshotter_snapshots WHERE parent_id=?1 LIMIT 1"));
  kids.Bind(1, id);
  ASSIGN_OR_RETURN(bool has_child, kids.Step());
  if (has_child) {
    return absl::FailedPreconditionError(
        StrCat("cannot remove snapshot ", key, " with child ", kids.Text(0), ": failed precondition"));
  }
  ASSIGN_OR_RETURN(Stmt del, tx.Prepare("DELETE FROM snapshotter_snapshots WHERE id=?1"));
  del.Bind(1, id);
  RETURN_IF_ERROR(del.Run());
  ASSIGN_OR_RETURN(Stmt dl, tx.Prepare("DELETE FROM snapshotter_labels WHERE id=?1"));
  dl.Bind(1, id);
  RETURN_IF_ERROR(dl.Run());
  return std::make_pair(id, std::get<1>(row));
}

StatusOr<Usage> GetUsage(Tx& tx, const std::string& key) {
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT size, inodes FROM snapshotter_snapshots WHERE key=?1"));
  st.Bind(1, key);
  ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return absl::NotFoundError(StrCat("snapshot ", key, ": not found"));
  return Usage{st.Int(0), st.Int(1)};
}

Status Walk(Tx& tx, const std::function<Status(const Info&)>& fn) {
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare(StrCat(kSelectInfo, "ORDER BY s.key")));
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    Info info = RowInfo(st);
    ASSIGN_OR_RETURN(info.labels, LoadLabels(tx, st.Int(0)));
    RETURN_IF_ERROR(fn(info));
  }
  return Status();
}

StatusOr<std::set<int64_t>> Ids(Tx& tx) {
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT id FROM snapshotter_snapshots"));
  std::set<int64_t> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.insert(st.Int(0));
  }
  return out;
}

}  // namespace berth::snapshotter::storage
