#include "metadata/content_writer.h"

#include "metadata/leases.h"

#include <mutex>
#include <shared_mutex>

#include "common/log.h"
#include "metadata/namespaces.h"

namespace berth::metadata {

Status RemoveLeaseResource(Tx& tx, std::string_view ns, std::string_view lease, std::string_view type,
                           std::string_view id) {
  if (lease.empty()) return Status();
  ASSIGN_OR_RETURN(Stmt del, tx.Prepare("DELETE FROM lease_resources WHERE namespace=?1 AND lease=?2 AND "
                                        "type=?3 AND id=?4"));
  del.Bind(1, ns).Bind(2, lease).Bind(3, type).Bind(4, id);
  return del.Run();
}

StatusOr<bool> HasContentRecord(Tx& tx, std::string_view ns, const Digest& digest) {
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT 1 FROM content WHERE namespace=?1 AND digest=?2"));
  st.Bind(1, ns).Bind(2, digest.str());
  return st.Step();
}

NamespacedWriter::NamespacedWriter(ContentStore& store, std::string ns, std::string lease, std::string ref,
                                   std::unique_ptr<content::Writer> backend, std::optional<Shared> shared,
                                   int64_t total)
    : store_(store),
      ns_(std::move(ns)),
      lease_(std::move(lease)),
      ref_(std::move(ref)),
      backend_(std::move(backend)),
      shared_(std::move(shared)),
      total_(total),
      started_at_(NowNanos()) {}

content::IngestStatus NamespacedWriter::GetStatus() const {
  content::IngestStatus st;
  if (backend_) {
    st = backend_->GetStatus();
  } else if (shared_) {
    st.offset = st.total = shared_->size;
    st.started_at = st.updated_at = started_at_;
    st.expected = shared_->digest.str();
  }
  st.ref = ref_;
  return st;
}

Digest NamespacedWriter::CurrentDigest() const {
  if (backend_) return backend_->CurrentDigest();
  if (shared_) return shared_->digest;
  return content::EmptyDigest();
}

Status NamespacedWriter::Unshare(int64_t size) {
  content::WriterOptions opts{BackendRef(ns_, ref_), total_, std::nullopt};
  ASSIGN_OR_RETURN(auto w, store_.local_.OpenWriter(opts));
  if (w->GetStatus().offset > 0) RETURN_IF_ERROR(w->Truncate(0));
  if (size > 0) {
    ASSIGN_OR_RETURN(auto reader, store_.local_.OpenReader(shared_->digest));
    std::string buf(std::min<int64_t>(size, 1 << 20), '\0');
    for (int64_t off = 0; off < size;) {
      size_t want = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(buf.size()), size - off));
      ASSIGN_OR_RETURN(size_t n, reader->ReadAt(buf.data(), want, off));
      if (n == 0) return absl::DataLossError(StrCat("copy shared blob ", shared_->digest.str(), ": short read"));
      RETURN_IF_ERROR(w->Write(std::string_view(buf.data(), n)));
      off += static_cast<int64_t>(n);
    }
  }
  backend_ = std::move(w);
  return Status();
}

Status NamespacedWriter::Write(std::string_view data) {
  if (closed_) return absl::FailedPreconditionError(StrCat("write ", ref_, ": writer is closed"));
  if (!backend_) {
    if (data.empty()) return Status();
    RETURN_IF_ERROR(Unshare(shared_ ? shared_->size : 0));
  }
  return backend_->Write(data);
}

Status NamespacedWriter::Truncate(int64_t size) {
  if (closed_) return absl::FailedPreconditionError(StrCat("truncate ", ref_, ": writer is closed"));
  if (backend_) return backend_->Truncate(size);
  if (size != 0) return absl::InvalidArgumentError(StrCat("truncate ", ref_, ": only size 0 is supported"));
  return Unshare(0);
}

Status NamespacedWriter::Commit(int64_t size, const std::optional<Digest>& expected, const content::Labels& labels) {
  if (closed_) return absl::FailedPreconditionError(StrCat("commit ", ref_, ": cannot commit on closed writer"));
  closed_ = true;
  const std::string what = StrCat("commit ", ref_);
  if (Status s = ValidateLabels(labels); !s.ok()) {
    if (backend_) (void)backend_->Close();
    return Annotate(s, what);
  }
  std::shared_lock<std::shared_mutex> gc(store_.gc_mu_);
  Digest actual = content::EmptyDigest();
  Status inner;
  if (!backend_) {
    if (!shared_) return absl::FailedPreconditionError(what + ": nothing written");
    if (size != 0 && size != shared_->size) {
      return absl::FailedPreconditionError(
          StrCat("\"", ref_, "\" failed size validation: ", shared_->size, " != ", size, ": failed precondition"));
    }
    if (expected && *expected != shared_->digest) {
      return absl::FailedPreconditionError(StrCat("\"", ref_, "\" unexpected digest: failed precondition"));
    }
    size = shared_->size;
    actual = shared_->digest;
  } else {
    int64_t offset = backend_->GetStatus().offset;
    if (size != 0 && size != offset) {
      (void)backend_->Close();
      return absl::FailedPreconditionError(
          StrCat("\"", ref_, "\" failed size validation: ", offset, " != ", size, ": failed precondition"));
    }
    size = offset;
    actual = backend_->CurrentDigest();
    Status s = backend_->Commit(size, expected, labels);
    if (!s.ok() && !absl::IsAlreadyExists(s)) return s;
  }

  Status s = store_.db_.Update([&](Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.EnsureNamespace(ns_));
    int64_t now = NowNanos();
    ASSIGN_OR_RETURN(Stmt ins, tx.Prepare("INSERT OR IGNORE INTO content(namespace, digest, size, created_at, "
                                          "updated_at) VALUES(?1, ?2, ?3, ?4, ?4)"));
    ins.Bind(1, ns_).Bind(2, actual.str()).Bind(3, size).Bind(4, now);
    RETURN_IF_ERROR(ins.Run());
    if (ins.Changes() == 0) {
      inner = absl::AlreadyExistsError(StrCat("content ", actual.str(), ": already exists"));
    } else {
      RETURN_IF_ERROR(tx.SetLabels(ns_, "content", actual.str(), labels));
    }
    ASSIGN_OR_RETURN(Stmt del, tx.Prepare("DELETE FROM ingests WHERE namespace=?1 AND ref=?2"));
    del.Bind(1, ns_).Bind(2, ref_);
    RETURN_IF_ERROR(del.Run());
    RETURN_IF_ERROR(RemoveLeaseResource(tx, ns_, lease_, "ingests", ref_));
    return AttachToLease(tx, ns_, lease_, "content", actual.str());
  });
  RETURN_IF_ERROR(Annotate(s, what));
  return inner;
}

Status NamespacedWriter::Close() {
  if (closed_) return Status();
  closed_ = true;
  return backend_ ? backend_->Close() : Status();
}

}  // namespace berth::metadata
