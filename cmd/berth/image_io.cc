#include "cmd/berth/image_io.h"

#include <chrono>
#include <random>
#include <set>

#include "cmd/berth/containers.h"
#include "containerd/services/content/v1/content.grpc.pb.h"
#include "containerd/services/diff/v1/diff.grpc.pb.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "remotes/reference.h"

namespace berth::cli {
namespace {

namespace ctv1 = containerd::services::content::v1;
namespace snv1 = containerd::services::snapshots::v1;
namespace dfv1 = containerd::services::diff::v1;
namespace lsv1 = containerd::services::leases::v1;

std::unique_ptr<grpc::ClientContext> LeaseContext(const Globals& g, const std::string& lease) {
  auto ctx = NewContext(g);
  if (!lease.empty()) ctx->AddMetadata("containerd-lease", lease);
  return ctx;
}

std::string RandomHex(int n) {
  std::random_device rd;
  std::string s;
  for (int i = 0; i < n; ++i) s += "0123456789abcdef"[rd() % 16];
  return s;
}

}  // namespace

StatusOr<imv1::Image> GetImageRecord(const Globals& g, const std::string& name) {
  auto stub = imv1::Images::NewStub(Connect(g));
  imv1::GetImageResponse resp;
  auto get = [&](const std::string& n) {
    auto ctx = NewContext(g);
    imv1::GetImageRequest req;
    req.set_name(n);
    return FromGrpc(stub->Get(ctx.get(), req, &resp));
  };
  Status s = get(name);
  if (absl::IsNotFound(s)) {
    auto ref = remotes::ParseReference(name);
    if (ref.ok() && ref->String() != name && get(ref->String()).ok()) return resp.image();
    return absl::NotFoundError(StrCat("image \"", name, "\": not found"));
  }
  RETURN_IF_ERROR(s);
  return resp.image();
}

Status StreamBlob(const Globals& g, const std::string& digest, const std::function<Status(const std::string&)>& chunk) {
  auto stub = ctv1::Content::NewStub(Connect(g));
  auto ctx = NewContext(g);
  ctv1::ReadContentRequest req;
  req.set_digest(digest);
  auto reader = stub->Read(ctx.get(), req);
  ctv1::ReadContentResponse resp;
  while (reader->Read(&resp)) {
    Status s = chunk(resp.data());
    if (!s.ok()) {
      ctx->TryCancel();
      reader->Finish();
      return s;
    }
  }
  return FromGrpc(reader->Finish());
}

Status WriteBlob(const Globals& g, const std::string& expected, int64_t total,
                 const std::function<Status(const std::function<Status(const char*, size_t)>&)>& fill,
                 const std::map<std::string, std::string>& labels, const std::string& lease) {
  auto stub = ctv1::Content::NewStub(Connect(g));
  {
    auto ctx = LeaseContext(g, lease);
    ctv1::InfoRequest ireq;
    ireq.set_digest(expected);
    ctv1::InfoResponse iresp;
    if (stub->Info(ctx.get(), ireq, &iresp).ok()) return labels.empty() ? Status() : LabelBlob(g, expected, labels);
  }
  auto ctx = LeaseContext(g, lease);
  auto stream = stub->Write(ctx.get());
  std::string ref = StrCat("berth-load-", expected);
  ctv1::WriteContentRequest req;
  ctv1::WriteContentResponse resp;
  req.set_action(ctv1::STAT);
  req.set_ref(ref);
  if (!stream->Write(req) || !stream->Read(&resp)) return FromGrpc(stream->Finish());
  int64_t offset = resp.offset();
  int64_t pos = 0;
  auto sink = [&](const char* p, size_t n) -> Status {
    // Skip what a previous, interrupted writer of this ref already stored.
    if (pos + static_cast<int64_t>(n) <= offset) {
      pos += static_cast<int64_t>(n);
      return Status();
    }
    size_t skip = pos < offset ? static_cast<size_t>(offset - pos) : 0;
    ctv1::WriteContentRequest w;
    w.set_action(ctv1::WRITE);
    w.set_ref(ref);
    w.set_total(total);
    w.set_expected(expected);
    w.set_offset(pos + static_cast<int64_t>(skip));
    w.set_data(p + skip, n - skip);
    pos += static_cast<int64_t>(n);
    ctv1::WriteContentResponse r;
    if (!stream->Write(w) || !stream->Read(&r)) return absl::UnavailableError("content write stream closed");
    return Status();
  };
  Status fs = fill(sink);
  if (!fs.ok()) {
    stream->WritesDone();
    stream->Finish();
    return fs;
  }
  ctv1::WriteContentRequest c;
  c.set_action(ctv1::COMMIT);
  c.set_ref(ref);
  c.set_total(total);
  c.set_expected(expected);
  c.set_offset(pos);
  for (const auto& [k, v] : labels) (*c.mutable_labels())[k] = v;
  bool ok = stream->Write(c) && stream->Read(&resp);
  stream->WritesDone();
  Status fin = FromGrpc(stream->Finish());
  if (absl::IsAlreadyExists(fin)) return labels.empty() ? Status() : LabelBlob(g, expected, labels);
  RETURN_IF_ERROR(fin);
  if (!ok) return absl::UnavailableError(StrCat("commit of ", expected, ": stream closed"));
  return Status();
}

Status LabelBlob(const Globals& g, const std::string& digest, const std::map<std::string, std::string>& labels) {
  auto stub = ctv1::Content::NewStub(Connect(g));
  auto ctx = NewContext(g);
  ctv1::UpdateRequest req;
  req.mutable_info()->set_digest(digest);
  for (const auto& [k, v] : labels) {
    (*req.mutable_info()->mutable_labels())[k] = v;
    req.mutable_update_mask()->add_paths("labels." + k);
  }
  ctv1::UpdateResponse resp;
  return FromGrpc(stub->Update(ctx.get(), req, &resp));
}

struct ContentSource::Stream {
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::ClientReader<ctv1::ReadContentResponse>> reader;
  std::unique_ptr<ctv1::Content::Stub> stub;
  std::string buf;
  size_t pos = 0;
  bool eof = false;
  ~Stream() {
    if (reader && !eof) {
      ctx->TryCancel();
      reader->Finish();
    }
  }
};

ContentSource::ContentSource(const Globals& g, std::string digest) : g_(g), digest_(std::move(digest)) {}
ContentSource::~ContentSource() = default;

Status ContentSource::Open() {
  s_ = std::make_unique<Stream>();
  s_->stub = ctv1::Content::NewStub(Connect(g_));
  s_->ctx = NewContext(g_);
  ctv1::ReadContentRequest req;
  req.set_digest(digest_);
  s_->reader = s_->stub->Read(s_->ctx.get(), req);
  return Status();
}

StatusOr<size_t> ContentSource::Read(char* out, size_t n) {
  if (!s_) return absl::FailedPreconditionError("content source not open");
  while (s_->pos >= s_->buf.size()) {
    if (s_->eof) return size_t{0};
    ctv1::ReadContentResponse resp;
    if (!s_->reader->Read(&resp)) {
      s_->eof = true;
      RETURN_IF_ERROR(FromGrpc(s_->reader->Finish()));
      return size_t{0};
    }
    s_->buf = std::move(*resp.mutable_data());
    s_->pos = 0;
  }
  size_t k = std::min(n, s_->buf.size() - s_->pos);
  std::memcpy(out, s_->buf.data() + s_->pos, k);
  s_->pos += k;
  return k;
}

StatusOr<std::vector<ImageBlob>> ImageBlobs(const Globals& g, const images::Descriptor& root, int* skipped) {
  std::vector<ImageBlob> out;
  std::set<std::string> seen;
  std::function<Status(const images::Descriptor&, bool)> walk = [&](const images::Descriptor& d, bool optional) -> Status {
    if (!seen.insert(d.digest).second) return Status();
    if (!images::IsManifestType(d.media_type) && !images::IsIndexType(d.media_type)) {
      out.push_back({d, false});
      return Status();
    }
    auto body = ReadBlob(g, d.digest);
    if (!body.ok()) {
      if (optional && absl::IsNotFound(body.status())) {
        if (skipped != nullptr) ++*skipped;
        return Status();
      }
      return body.status();
    }
    out.push_back({d, true});
    if (images::IsIndexType(d.media_type)) {
      ASSIGN_OR_RETURN(images::Index ix, images::ParseIndex(*body));
      for (const auto& m : ix.manifests) RETURN_IF_ERROR(walk(m, true));
    } else {
      ASSIGN_OR_RETURN(images::Manifest m, images::ParseManifest(*body));
      RETURN_IF_ERROR(walk(m.config, false));
      for (const auto& l : m.layers) RETURN_IF_ERROR(walk(l, false));
    }
    return Status();
  };
  RETURN_IF_ERROR(walk(root, false));
  return out;
}

namespace {

class RemoteUnpackBackend : public images::UnpackBackend {
 public:
  RemoteUnpackBackend(const Globals& g, std::string sn, std::string lease)
      : g_(g), sn_(std::move(sn)), lease_(std::move(lease)),
        snap_(snv1::Snapshots::NewStub(Connect(g))), diff_(dfv1::Diff::NewStub(Connect(g))) {}

  StatusOr<std::string> ReadBlob(const std::string& digest) override { return cli::ReadBlob(g_, digest); }
  Status SetBlobLabel(const std::string& digest, const std::string& key, const std::string& value) override {
    return LabelBlob(g_, digest, {{key, value}});
  }
  Status StatSnapshot(const std::string& key) override {
    auto ctx = LeaseContext(g_, lease_);
    snv1::StatSnapshotRequest req;
    req.set_snapshotter(sn_);
    req.set_key(key);
    snv1::StatSnapshotResponse resp;
    return FromGrpc(snap_->Stat(ctx.get(), req, &resp));
  }
  Status PrepareSnapshot(const std::string& key, const std::string& parent) override {
    auto ctx = LeaseContext(g_, lease_);
    snv1::PrepareSnapshotRequest req;
    req.set_snapshotter(sn_);
    req.set_key(key);
    req.set_parent(parent);
    snv1::PrepareSnapshotResponse resp;
    RETURN_IF_ERROR(FromGrpc(snap_->Prepare(ctx.get(), req, &resp)));
    mounts_[key].assign(resp.mounts().begin(), resp.mounts().end());
    return Status();
  }
  StatusOr<std::string> ApplyLayer(const std::string& key, const images::Descriptor& layer) override {
    auto ctx = LeaseContext(g_, lease_);
    dfv1::ApplyRequest req;
    req.mutable_diff()->set_media_type(layer.media_type);
    req.mutable_diff()->set_digest(layer.digest);
    req.mutable_diff()->set_size(layer.size);
    for (const auto& m : mounts_[key]) *req.add_mounts() = m;
    dfv1::ApplyResponse resp;
    RETURN_IF_ERROR(FromGrpc(diff_->Apply(ctx.get(), req, &resp)));
    return resp.applied().digest();
  }
  Status CommitSnapshot(const std::string& name, const std::string& key) override {
    auto ctx = LeaseContext(g_, lease_);
    snv1::CommitSnapshotRequest req;
    req.set_snapshotter(sn_);
    req.set_name(name);
    req.set_key(key);
    google::protobuf::Empty e;
    return FromGrpc(snap_->Commit(ctx.get(), req, &e));
  }
  Status RemoveSnapshot(const std::string& key) override {
    auto ctx = LeaseContext(g_, lease_);
    snv1::RemoveSnapshotRequest req;
    req.set_snapshotter(sn_);
    req.set_key(key);
    google::protobuf::Empty e;
    return FromGrpc(snap_->Remove(ctx.get(), req, &e));
  }

 private:
  const Globals& g_;
  std::string sn_, lease_;
  std::unique_ptr<snv1::Snapshots::Stub> snap_;
  std::unique_ptr<dfv1::Diff::Stub> diff_;
  std::map<std::string, std::vector<containerd::types::Mount>> mounts_;
};

}  // namespace

std::unique_ptr<images::UnpackBackend> NewRemoteUnpackBackend(const Globals& g, const std::string& snapshotter,
                                                              const std::string& lease) {
  return std::make_unique<RemoteUnpackBackend>(g, snapshotter, lease);
}

TempLease::TempLease(const Globals& g) : g_(g) {
  auto stub = lsv1::Leases::NewStub(Connect(g));
  auto ctx = NewContext(g);
  lsv1::CreateRequest req;
  req.set_id(StrCat("berth-", RandomHex(16)));
  auto expire = std::chrono::system_clock::now() + std::chrono::hours(24);
  std::time_t t = std::chrono::system_clock::to_time_t(expire);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  (*req.mutable_labels())["containerd.io/gc.expire"] = buf;
  lsv1::CreateResponse resp;
  if (stub->Create(ctx.get(), req, &resp).ok()) id_ = resp.lease().id();
}

TempLease::~TempLease() {
  if (id_.empty()) return;
  auto stub = lsv1::Leases::NewStub(Connect(g_));
  auto ctx = NewContext(g_);
  lsv1::DeleteRequest req;
  req.set_id(id_);
  google::protobuf::Empty e;
  stub->Delete(ctx.get(), req, &e);
}

}  // namespace berth::cli
