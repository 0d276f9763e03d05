// Content/Write: the bidirectional ingest stream (CTR-API-MAP 2.3.1, containerd's
// contentserver Write). One request is read, handled on the pool, answered, then the next read
// starts; the writer (and so the ref's lock) is released before the stream finishes.
#include <boost/asio/post.hpp>
#include <memory>
#include <optional>

#include "common/log.h"
#include "daemon/call.h"
#include "daemon/services/content.h"
#include "daemon/services/content_convert.h"
#include "metadata/content.h"

namespace berth::daemon {

namespace ctv1 = containerd::services::content::v1;

namespace {

class WriteReactor final : public grpc::ServerBidiReactor<ctv1::WriteContentRequest, ctv1::WriteContentResponse> {
 public:
  WriteReactor(Daemon& d, grpc::CallbackServerContext* ctx) : d_(d), ctx_(ctx) { StartRead(&req_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed (or went away): keep the ingest for a later resume.
      boost::asio::post(*d_.pool, [this] { Done(Status()); });
      return;
    }
    boost::asio::post(*d_.pool, [this] {
      Status s = Handle();
      if (!s.ok()) Done(s);
    });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      boost::asio::post(*d_.pool, [this] { Done(absl::CancelledError("write: client went away")); });
      return;
    }
    StartRead(&req_);
  }

  void OnDone() override { delete this; }

 private:
  // Releases the writer (on the pool: closing syncs the file) and ends the stream.
  void Done(const Status& s) {
    writer_.reset();
    if (absl::IsResourceExhausted(s) && store_ && !ref_.empty()) {
      // Out of space: drop the partial ingest rather than keep bytes a resume could not complete.
      if (Status a = store_->Abort(ref_); !a.ok() && !absl::IsNotFound(a)) {
        BLOG(Warn) << "content write " << ref_ << ": abort after " << s << ": " << a;
      }
    }
    if (!s.ok() && !absl::IsAlreadyExists(s) && !absl::IsCancelled(s)) {
      BLOG(Debug) << "content write " << ref_ << ": " << s;
    }
    Finish(ToGrpcStatus(s));
  }

  // Handles req_ and starts the write of resp_; returns an error to end the stream with.
  Status Handle() {
    if (!writer_) RETURN_IF_ERROR(Open());
    const auto action = req_.action();
    if (action != ctv1::STAT && action != ctv1::WRITE && action != ctv1::COMMIT) {
      return absl::InvalidArgumentError(StrCat("write ", ref_, ": unknown action ", static_cast<int>(action)));
    }
    resp_.set_action(action);
    content::IngestStatus ws = writer_->GetStatus();
    resp_.set_offset(ws.offset);

    if (!req_.expected().empty()) {
      auto d = Digest::Parse(req_.expected());
      if (!d.ok()) return d.status();
      expected_ = *d;
      if (store_->GetInfo(*d).ok()) {
        writer_.reset();
        if (Status a = store_->Abort(ref_); !a.ok() && !absl::IsNotFound(a)) {
          BLOG(Warn) << "content write " << ref_ << ": abort: " << a;
        }
        return absl::AlreadyExistsError(StrCat("blob with expected digest ", d->str(), " exists"));
      }
    }
    if (req_.total() > 0) total_ = req_.total();

    if (action == ctv1::STAT) {
      resp_.set_digest(writer_->CurrentDigest().str());
      ToTimestamp(ws.started_at, resp_.mutable_started_at());
      ToTimestamp(ws.updated_at, resp_.mutable_updated_at());
      resp_.set_total(total_);
    } else {
      if (req_.offset() > 0 && req_.offset() != ws.offset) {
        return absl::OutOfRangeError(
            StrCat("write @", req_.offset(), " must occur at current offset ", ws.offset));
      }
      if (req_.offset() == 0 && ws.offset > 0) {
        RETURN_IF_ERROR(writer_->Truncate(0));
        resp_.set_offset(0);
      }
      if (!req_.data().empty()) {
        RETURN_IF_ERROR(writer_->Write(req_.data()));
        resp_.set_offset(resp_.offset() + static_cast<int64_t>(req_.data().size()));
      }
      if (action == ctv1::COMMIT) {
        content::Labels labels(req_.labels().begin(), req_.labels().end());
        RETURN_IF_ERROR(writer_->Commit(total_, expected_, labels));
        committed_ = true;
      }
      resp_.set_digest(writer_->CurrentDigest().str());
      if (committed_) writer_.reset();
    }
    req_.Clear();  // drop the (up to 1 MiB) data before waiting for the next message
    if (committed_) {
      // The writer is released already; the final response travels with the OK status.
      StartWriteAndFinish(&resp_, grpc::WriteOptions(), grpc::Status::OK);
      return Status();
    }
    StartWrite(&resp_);
    return Status();
  }

  // First message: names the ref and opens (or resumes) its ingest.
  Status Open() {
    ref_ = req_.ref();
    if (ref_.empty()) return absl::InvalidArgumentError("first message must have a reference");
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx_));
    store_ = d_.content->Namespaced(std::move(ns), LeaseFromContext(ctx_));
    content::WriterOptions opts;
    opts.ref = ref_;
    opts.total = req_.total();
    if (!req_.expected().empty()) {
      ASSIGN_OR_RETURN(Digest d, Digest::Parse(req_.expected()));
      opts.expected = d;
    }
    total_ = req_.total();
    expected_ = opts.expected;
    ASSIGN_OR_RETURN(writer_, store_->OpenWriter(opts));
    if (int64_t held = writer_->GetStatus().offset; held > 0) {
      BLOG(Info) << "resuming ingest " << ref_ << " at offset " << held;
    }
    return Status();
  }

  Daemon& d_;
  grpc::CallbackServerContext* ctx_;
  ctv1::WriteContentRequest req_;
  ctv1::WriteContentResponse resp_;  // kept across messages, as containerd's (total, times stay)
  std::unique_ptr<content::Store> store_;
  std::unique_ptr<content::Writer> writer_;
  std::string ref_;
  int64_t total_ = 0;
  std::optional<Digest> expected_;
  bool committed_ = false;
};

}  // namespace

grpc::ServerBidiReactor<ctv1::WriteContentRequest, ctv1::WriteContentResponse>* ContentService::Write(
    grpc::CallbackServerContext* ctx) {
  return new WriteReactor(d_, ctx);
}

}  // namespace berth::daemon
