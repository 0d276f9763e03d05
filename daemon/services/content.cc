#include "daemon/services/content.h"

#include <boost/asio/post.hpp>
#include <memory>
#include <vector>

#include "common/log.h"
#include "containerd/events/content.pb.h"
#include "daemon/call.h"
#include "daemon/publish.h"
#include "daemon/services/content_convert.h"
#include "metadata/content.h"

namespace berth::daemon {

namespace ctv1 = containerd::services::content::v1;

namespace {

constexpr size_t kReadChunk = 1 << 20;  // as containerd: at most 1 MiB per ReadContentResponse
constexpr size_t kListBatch = 100;

// The content store as seen by the caller (namespace header required).
StatusOr<std::unique_ptr<content::Store>> StoreFor(Daemon& d, const grpc::ServerContextBase* ctx) {
  ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
  return d.content->Namespaced(std::move(ns), LeaseFromContext(ctx));
}

StatusOr<Digest> ParseDigest(const std::string& s) {
  auto d = Digest::Parse(s);
  if (!d.ok()) return absl::InvalidArgumentError(StrCat("\"", s, "\" failed validation: ", d.status().message()));
  return d;
}

// Streams Info batches of a namespace's blobs.
class ListReactor final : public grpc::ServerWriteReactor<ctv1::ListContentResponse> {
 public:
  ListReactor(Daemon& d, grpc::CallbackServerContext* ctx, const ctv1::ListContentRequest* req) : d_(d) {
    std::vector<std::string> filters(req->filters().begin(), req->filters().end());
    boost::asio::post(*d_.pool, [this, ctx, filters = std::move(filters)] {
      Status s = Collect(ctx, filters);
      if (!s.ok() || batches_.empty()) {
        Finish(ToGrpcStatus(s));
        return;
      }
      StartWrite(&batches_[0]);
    });
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "list: client went away"));
      return;
    }
    if (++next_ < batches_.size()) {
      StartWrite(&batches_[next_]);
    } else {
      Finish(grpc::Status::OK);
    }
  }
  void OnDone() override { delete this; }

 private:
  Status Collect(grpc::CallbackServerContext* ctx, const std::vector<std::string>& filters) {
    ASSIGN_OR_RETURN(auto store, StoreFor(d_, ctx));
    return store->Walk(
        [this](const content::Info& info) -> berth::Status {
          if (batches_.empty() || static_cast<size_t>(batches_.back().info_size()) >= kListBatch) batches_.emplace_back();
          InfoToProto(info, batches_.back().add_info());
          return berth::Status();
        },
        filters);
  }

  Daemon& d_;
  std::vector<ctv1::ListContentResponse> batches_;
  size_t next_ = 0;
};

// Streams a blob range in chunks of at most 1 MiB (the first read inline, the next ones on the
// pool), with one chunk in flight at a time.
class ReadReactor final : public grpc::ServerWriteReactor<ctv1::ReadContentResponse> {
 public:
  ReadReactor(Daemon& d, grpc::CallbackServerContext* ctx, const ctv1::ReadContentRequest* req) : d_(d) {
    // ctr reads blobs 32 KiB per call (ctr content get, image export), so a call is usually one
    // point lookup in SQLite and one pread from the page cache. Those run here, on the gRPC
    // thread: a hop to the pool costs more than the work (measured: ~0.4 ms per call on a loaded
    // 2-core VM, 40% of the call). Further chunks of larger reads are read on the pool.
    Status s = Open(ctx, req->digest(), req->offset(), req->size());
    if (!s.ok()) {
      Finish(ToGrpcStatus(s));
      return;
    }
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "read: client went away"));
      return;
    }
    boost::asio::post(*d_.pool, [this] { Next(); });
  }
  void OnDone() override { delete this; }

 private:
  Status Open(grpc::CallbackServerContext* ctx, const std::string& digest_str, int64_t offset, int64_t size) {
    ASSIGN_OR_RETURN(Digest digest, ParseDigest(digest_str));
    ASSIGN_OR_RETURN(auto store, StoreFor(d_, ctx));
    // One visibility check and one open per call: ctr reads in 32 KiB calls, so this path is hot.
    ASSIGN_OR_RETURN(reader_, store->OpenReader(digest));
    const int64_t blob_size = reader_->Size();
    if (offset < 0) offset = 0;
    if (offset > blob_size) {
      return absl::OutOfRangeError(StrCat("read past object length ", blob_size, " bytes"));
    }
    if (size <= 0 || offset + size > blob_size) size = blob_size - offset;
    pos_ = offset;
    end_ = offset + size;
    return Status();
  }

  // Runs on the pool: sends the next chunk or finishes.
  void Next() {
    if (pos_ >= end_) {
      reader_.reset();
      Finish(grpc::Status::OK);
      return;
    }
    size_t want = static_cast<size_t>(std::min<int64_t>(kReadChunk, end_ - pos_));
    std::string* data = resp_.mutable_data();
    data->resize(want);
    auto n = reader_->ReadAt(data->data(), want, pos_);
    if (!n.ok() || *n == 0) {
      Finish(ToGrpcStatus(n.ok() ? absl::DataLossError("read: blob shorter than recorded") : n.status()));
      return;
    }
    data->resize(*n);
    resp_.set_offset(sent_);
    pos_ += static_cast<int64_t>(*n);
    sent_ += static_cast<int64_t>(*n);
    if (pos_ >= end_) {
      // The last chunk travels with the status: one write and no further reaction.
      reader_.reset();
      StartWriteAndFinish(&resp_, grpc::WriteOptions(), grpc::Status::OK);
      return;
    }
    StartWrite(&resp_);
  }

  Daemon& d_;
  std::unique_ptr<content::ReaderAt> reader_;
  ctv1::ReadContentResponse resp_;
  int64_t pos_ = 0, end_ = 0, sent_ = 0;
};

}  // namespace

grpc::ServerUnaryReactor* ContentService::Info(grpc::CallbackServerContext* ctx, const ctv1::InfoRequest* req,
                                               ctv1::InfoResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> berth::Status {
    ASSIGN_OR_RETURN(Digest digest, ParseDigest(req->digest()));
    ASSIGN_OR_RETURN(auto store, StoreFor(d_, ctx));
    ASSIGN_OR_RETURN(content::Info info, store->GetInfo(digest));
    InfoToProto(info, resp->mutable_info());
    return berth::Status();
  });
}

grpc::ServerUnaryReactor* ContentService::Update(grpc::CallbackServerContext* ctx, const ctv1::UpdateRequest* req,
                                                 ctv1::UpdateResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> berth::Status {
    ASSIGN_OR_RETURN(Digest digest, ParseDigest(req->info().digest()));
    ASSIGN_OR_RETURN(auto store, StoreFor(d_, ctx));
    content::Info in;
    in.digest = digest;
    for (const auto& [k, v] : req->info().labels()) in.labels[k] = v;
    std::vector<std::string> paths(req->update_mask().paths().begin(), req->update_mask().paths().end());
    ASSIGN_OR_RETURN(content::Info out, store->Update(in, paths));
    InfoToProto(out, resp->mutable_info());
    return berth::Status();
  });
}

grpc::ServerWriteReactor<ctv1::ListContentResponse>* ContentService::List(grpc::CallbackServerContext* ctx,
                                                                          const ctv1::ListContentRequest* req) {
  return new ListReactor(d_, ctx, req);
}

grpc::ServerUnaryReactor* ContentService::Delete(grpc::CallbackServerContext* ctx,
                                                 const ctv1::DeleteContentRequest* req, google::protobuf::Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> berth::Status {
    ASSIGN_OR_RETURN(Digest digest, ParseDigest(req->digest()));
    ASSIGN_OR_RETURN(std::string ns, RequireNamespace(ctx));
    RETURN_IF_ERROR(d_.content->Namespaced(ns, LeaseFromContext(ctx))->Delete(digest));
    containerd::events::ContentDelete ev;
    ev.set_digest(digest.str());
    PublishEvent(*d_.events, ns, "/content/delete", ev);
    return berth::Status();
  });
}

grpc::ServerWriteReactor<ctv1::ReadContentResponse>* ContentService::Read(grpc::CallbackServerContext* ctx,
                                                                          const ctv1::ReadContentRequest* req) {
  return new ReadReactor(d_, ctx, req);
}

grpc::ServerUnaryReactor* ContentService::Status(grpc::CallbackServerContext* ctx, const ctv1::StatusRequest* req,
                                                 ctv1::StatusResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> berth::Status {
    ASSIGN_OR_RETURN(auto store, StoreFor(d_, ctx));
    auto st = store->GetStatus(req->ref());
    if (!st.ok()) return Annotate(st.status(), StrCat("could not get status for ref \"", req->ref(), "\""));
    StatusToProto(*st, resp->mutable_status());
    return berth::Status();
  });
}

grpc::ServerUnaryReactor* ContentService::ListStatuses(grpc::CallbackServerContext* ctx,
                                                       const ctv1::ListStatusesRequest* req,
                                                       ctv1::ListStatusesResponse* resp) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req, resp]() -> berth::Status {
    ASSIGN_OR_RETURN(auto store, StoreFor(d_, ctx));
    ASSIGN_OR_RETURN(auto statuses, store->ListStatuses({req->filters().begin(), req->filters().end()}));
    for (const auto& st : statuses) StatusToProto(st, resp->add_statuses());
    return berth::Status();
  });
}

grpc::ServerUnaryReactor* ContentService::Abort(grpc::CallbackServerContext* ctx, const ctv1::AbortRequest* req,
                                                google::protobuf::Empty*) {
  return RunUnary(ctx, *d_.pool, [this, ctx, req]() -> berth::Status {
    ASSIGN_OR_RETURN(auto store, StoreFor(d_, ctx));
    return store->Abort(req->ref());
  });
}

}  // namespace berth::daemon
