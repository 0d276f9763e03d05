#include "metadata/content.h"

#include "metadata/leases.h"

#include <mutex>
#include <set>
#include <shared_mutex>

#include "common/filters.h"
#include "common/log.h"
#include "metadata/content_writer.h"

namespace berth::metadata {

std::string BackendRef(std::string_view ns, std::string_view ref) { return StrCat(ns, "/", ref); }

// The store seen from one namespace (and lease).
class NamespacedContent final : public content::Store {
 public:
  NamespacedContent(ContentStore& cs, std::string ns, std::string lease)
      : cs_(cs), ns_(std::move(ns)), lease_(std::move(lease)) {}

  StatusOr<std::unique_ptr<content::ReaderAt>> OpenReader(const Digest& digest) override {
    bool visible = false;
    RETURN_IF_ERROR(cs_.db_.View([&](Tx& tx) -> Status {
      ASSIGN_OR_RETURN(visible, HasContentRecord(tx, ns_, digest));
      return Status();
    }));
    if (!visible) return NotFound(digest);
    return cs_.local_.OpenReader(digest);
  }

  StatusOr<std::unique_ptr<content::Writer>> OpenWriter(const content::WriterOptions& opts) override;

  StatusOr<content::Info> GetInfo(const Digest& digest) override {
    content::Info info;
    RETURN_IF_ERROR(cs_.db_.View([&](Tx& tx) -> Status {
      ASSIGN_OR_RETURN(info, ReadInfo(tx, digest));
      return Status();
    }));
    return info;
  }

  StatusOr<content::Info> Update(const content::Info& in, const std::vector<std::string>& paths) override {
    content::Info out;
    RETURN_IF_ERROR(cs_.db_.Update([&](Tx& tx) -> Status {
      ASSIGN_OR_RETURN(out, ReadInfo(tx, in.digest));
      ASSIGN_OR_RETURN(out.labels, content::ApplyLabelUpdate(out.labels, in.labels, paths,
                                                             StrCat("content info ", in.digest.str())));
      out.updated_at = NowNanos();
      ASSIGN_OR_RETURN(Stmt st, tx.Prepare("UPDATE content SET updated_at=?3 WHERE namespace=?1 AND digest=?2"));
      st.Bind(1, ns_).Bind(2, in.digest.str()).Bind(3, out.updated_at);
      RETURN_IF_ERROR(st.Run());
      return tx.SetLabels(ns_, "content", in.digest.str(), out.labels);
    }));
    return out;
  }

  Status Walk(const content::WalkFn& fn, const std::vector<std::string>& filters) override {
    ASSIGN_OR_RETURN(Filter filter, Filter::ParseAll(filters));
    std::vector<content::Info> infos;
    RETURN_IF_ERROR(cs_.db_.View([&](Tx& tx) -> Status {
      ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT digest, size, created_at, updated_at FROM content "
                                           "WHERE namespace=?1 ORDER BY digest"));
      st.Bind(1, ns_);
      for (;;) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        auto digest = Digest::Parse(st.Text(0));
        if (!digest.ok()) continue;
        content::Info info;
        info.digest = *digest;
        info.size = st.Int(1);
        info.created_at = st.Int(2);
        info.updated_at = st.Int(3);
        infos.push_back(std::move(info));
      }
      for (auto& info : infos) {
        ASSIGN_OR_RETURN(info.labels, tx.GetLabels(ns_, "content", info.digest.str()));
      }
      return Status();
    }));
    for (const auto& info : infos) {
      if (!filter.Match([&](const FieldPath& p) { return content::InfoField(info, p); })) continue;
      RETURN_IF_ERROR(fn(info));
    }
    return Status();
  }

  Status Delete(const Digest& digest) override {
    RETURN_IF_ERROR(cs_.db_.Update([&](Tx& tx) -> Status {
      ASSIGN_OR_RETURN(Stmt del, tx.Prepare("DELETE FROM content WHERE namespace=?1 AND digest=?2"));
      del.Bind(1, ns_).Bind(2, digest.str());
      RETURN_IF_ERROR(del.Run());
      if (del.Changes() == 0) return NotFound(digest);
      RETURN_IF_ERROR(tx.DeleteLabels(ns_, "content", digest.str()));
      return RemoveLeaseResource(tx, ns_, lease_, "content", digest.str());
    }));
    // The record is gone; the bytes go too unless another namespace (or an ingest) needs them.
    auto removed = cs_.DeleteBlobIfUnreferenced(digest);
    if (!removed.ok()) {
      BLOG(Warn) << "delete content " << digest.str() << ": " << removed.status();
    }
    return Status();
  }

  StatusOr<content::IngestStatus> GetStatus(const std::string& ref) override {
    bool found = false;
    RETURN_IF_ERROR(cs_.db_.View([&](Tx& tx) -> Status {
      ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT 1 FROM ingests WHERE namespace=?1 AND ref=?2"));
      st.Bind(1, ns_).Bind(2, ref);
      ASSIGN_OR_RETURN(found, st.Step());
      return Status();
    }));
    if (!found) return absl::NotFoundError(StrCat("reference ", ref, ": not found"));
    ASSIGN_OR_RETURN(content::IngestStatus st, cs_.local_.GetStatus(BackendRef(ns_, ref)));
    st.ref = ref;
    return st;
  }

  StatusOr<std::vector<content::IngestStatus>> ListStatuses(const std::vector<std::string>& filters) override {
    ASSIGN_OR_RETURN(Filter filter, Filter::ParseAll(filters));
    std::vector<std::string> refs;
    RETURN_IF_ERROR(cs_.db_.View([&](Tx& tx) -> Status {
      ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT ref FROM ingests WHERE namespace=?1 ORDER BY ref"));
      st.Bind(1, ns_);
      for (;;) {
        ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        refs.push_back(st.Text(0));
      }
      return Status();
    }));
    std::vector<content::IngestStatus> out;
    for (const auto& ref : refs) {
      auto st = cs_.local_.GetStatus(BackendRef(ns_, ref));
      if (!st.ok()) {
        if (absl::IsNotFound(st.status())) continue;  // shared, or committed meanwhile
        return st.status();
      }
      st->ref = ref;
      if (filter.Match([&](const FieldPath& p) { return content::StatusField(*st, p); })) out.push_back(*st);
    }
    return out;
  }

  Status Abort(const std::string& ref) override {
    std::optional<std::string> expected;
    RETURN_IF_ERROR(cs_.db_.View([&](Tx& tx) -> Status {
      ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT expected FROM ingests WHERE namespace=?1 AND ref=?2"));
      st.Bind(1, ns_).Bind(2, ref);
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (row) expected = st.Text(0);
      return Status();
    }));
    if (!expected) return absl::NotFoundError(StrCat("reference ", ref, ": not found"));
    if (expected->empty()) {
      // As containerd, removed even under an open writer (whose Commit then fails).
      Status s = cs_.local_.Abort(BackendRef(ns_, ref));
      if (!s.ok() && !absl::IsNotFound(s)) return s;
    }
    return cs_.db_.Update([&](Tx& tx) -> Status {
      ASSIGN_OR_RETURN(Stmt del, tx.Prepare("DELETE FROM ingests WHERE namespace=?1 AND ref=?2"));
      del.Bind(1, ns_).Bind(2, ref);
      RETURN_IF_ERROR(del.Run());
      return RemoveLeaseResource(tx, ns_, lease_, "ingests", ref);
    });
  }

 private:
  static Status NotFound(const Digest& digest) {
    return absl::NotFoundError(StrCat("content digest ", digest.str(), ": not found"));
  }

  StatusOr<content::Info> ReadInfo(Tx& tx, const Digest& digest) {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT size, created_at, updated_at FROM content "
                                         "WHERE namespace=?1 AND digest=?2"));
    st.Bind(1, ns_).Bind(2, digest.str());
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return NotFound(digest);
    content::Info info;
    info.digest = digest;
    info.size = st.Int(0);
    info.created_at = st.Int(1);
    info.updated_at = st.Int(2);
    ASSIGN_OR_RETURN(info.labels, tx.GetLabels(ns_, "content", digest.str()));
    return info;
  }

  ContentStore& cs_;
  std::string ns_, lease_;
};

StatusOr<std::unique_ptr<content::Writer>> NamespacedContent::OpenWriter(const content::WriterOptions& opts) {
  if (opts.ref.empty()) return absl::InvalidArgumentError("ref must not be empty");
  std::shared_lock<std::shared_mutex> gc(cs_.gc_mu_);
  bool exists = false;
  std::optional<NamespacedWriter::Shared> shared;
  int64_t total = opts.total;
  RETURN_IF_ERROR(cs_.db_.Update([&](Tx& tx) -> Status {
    if (opts.expected) {
      ASSIGN_OR_RETURN(exists, HasContentRecord(tx, ns_, *opts.expected));
      if (exists) {
        // Keep the blob in the caller's lease; AlreadyExists is returned once this commits.
        return AttachToLease(tx, ns_, lease_, "content", opts.expected->str());
      }
      // On disk for another namespace: share it (a lookup only; no byte is copied).
      auto info = cs_.local_.GetInfo(*opts.expected);
      if (info.ok() && (opts.total == 0 || opts.total == info->size)) {
        shared = NamespacedWriter::Shared{*opts.expected, info->size};
        total = info->size;
      }
    }
    RETURN_IF_ERROR(tx.EnsureNamespace(ns_));
    ASSIGN_OR_RETURN(Stmt ins, tx.Prepare("INSERT INTO ingests(namespace, ref, expected, created_at) "
                                          "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(namespace, ref) DO UPDATE "
                                          "SET expected=excluded.expected"));
    ins.Bind(1, ns_).Bind(2, opts.ref).Bind(3, shared ? shared->digest.str() : std::string()).Bind(4, NowNanos());
    RETURN_IF_ERROR(ins.Run());
    return AttachToLease(tx, ns_, lease_, "ingests", opts.ref);
  }));
  if (exists) return absl::AlreadyExistsError(StrCat("content ", opts.expected->str(), ": already exists"));

  std::unique_ptr<content::Writer> backend;
  if (!shared) {
    // The expected digest was checked against this namespace above; the blob must be committed
    // here before it is visible, so the backend writer is not told about it.
    content::WriterOptions bopts{BackendRef(ns_, opts.ref), opts.total, std::nullopt};
    ASSIGN_OR_RETURN(backend, cs_.local_.OpenWriter(bopts));
  }
  return std::unique_ptr<content::Writer>(
      new NamespacedWriter(cs_, ns_, lease_, opts.ref, std::move(backend), std::move(shared), total));
}

std::unique_ptr<content::Store> ContentStore::Namespaced(std::string ns, std::string lease) {
  return std::make_unique<NamespacedContent>(*this, std::move(ns), std::move(lease));
}

StatusOr<bool> ContentStore::DeleteBlobIfUnreferenced(const Digest& digest) {
  std::unique_lock<std::shared_mutex> gc(gc_mu_);
  bool referenced = false;
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Stmt c, tx.Prepare("SELECT 1 FROM content WHERE digest=?1 LIMIT 1"));
    c.Bind(1, digest.str());
    ASSIGN_OR_RETURN(referenced, c.Step());
    if (referenced) return Status();
    ASSIGN_OR_RETURN(Stmt i, tx.Prepare("SELECT 1 FROM ingests WHERE expected=?1 LIMIT 1"));
    i.Bind(1, digest.str());
    ASSIGN_OR_RETURN(referenced, i.Step());
    return Status();
  }));
  if (referenced) return false;
  Status s = local_.Delete(digest);
  if (absl::IsNotFound(s)) return false;
  RETURN_IF_ERROR(s);
  BLOG(Debug) << "removed unreferenced blob " << digest.str();
  return true;
}

StatusOr<int> ContentStore::CleanupIngests(int64_t max_age_ns) {
  struct Row {
    std::string ns, ref, expected;
    int64_t created_at;
  };
  std::vector<Row> rows;
  std::set<std::string> recorded, leased;  // backend refs
  RETURN_IF_ERROR(db_.View([&](Tx& tx) -> Status {
    ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT namespace, ref, expected, created_at FROM ingests"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      rows.push_back(Row{st.Text(0), st.Text(1), st.Text(2), st.Int(3)});
      recorded.insert(BackendRef(rows.back().ns, rows.back().ref));
    }
    ASSIGN_OR_RETURN(Stmt ls, tx.Prepare("SELECT namespace, id FROM lease_resources WHERE type='ingests'"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, ls.Step());
      if (!row) break;
      leased.insert(BackendRef(ls.Text(0), ls.Text(1)));
    }
    return Status();
  }));
  const int64_t cutoff = NowNanos() - max_age_ns;
  // Expired, broken and half-created ingests (those in a live lease expire with the lease).
  int removed = local_.RemoveStaleIngests(cutoff, [&](const std::string& bref) { return leased.count(bref) > 0; });
  // Ingests on disk that no namespace records (a crash between creating one and recording it).
  if (auto refs = local_.IngestRefs(); refs.ok()) {
    for (const auto& bref : *refs) {
      if (recorded.count(bref)) continue;
      if (Status s = local_.Abort(bref); s.ok()) {
        BLOG(Info) << "removed unrecorded ingest " << bref;
        ++removed;
      }
    }
  }
  // Records whose bytes are gone, and expired shared ingests.
  std::vector<Row> dead;
  for (const auto& r : rows) {
    std::string bref = BackendRef(r.ns, r.ref);
    if (r.expected.empty()) {
      if (absl::IsNotFound(local_.GetStatus(bref).status())) dead.push_back(r);
    } else if (r.created_at < cutoff && !leased.count(bref)) {
      dead.push_back(r);
    }
  }
  if (!dead.empty()) {
    RETURN_IF_ERROR(db_.Update([&](Tx& tx) -> Status {
      for (const auto& r : dead) {
        ASSIGN_OR_RETURN(Stmt del, tx.Prepare("DELETE FROM ingests WHERE namespace=?1 AND ref=?2"));
        del.Bind(1, r.ns).Bind(2, r.ref);
        RETURN_IF_ERROR(del.Run());
        ASSIGN_OR_RETURN(Stmt dl, tx.Prepare("DELETE FROM lease_resources WHERE namespace=?1 AND type='ingests' "
                                             "AND id=?2"));
        dl.Bind(1, r.ns).Bind(2, r.ref);
        RETURN_IF_ERROR(dl.Run());
      }
      return Status();
    }));
    for (const auto& r : dead) BLOG(Info) << "dropped record of ingest " << r.ref << " in namespace " << r.ns;
  }
  return removed;
}

}  // namespace berth::metadata
