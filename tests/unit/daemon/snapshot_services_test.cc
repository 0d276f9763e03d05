// The Snapshots and Diff gRPC services end to end in-process: a Daemon on a temporary root,
// served on a unix socket, called through generated stubs as a client would.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/fs.h"
#include "containerd/services/diff/v1/diff.grpc.pb.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "daemon/daemon.h"
#include "daemon/server.h"
#include "snapshotter/overlay.h"
#include "tests/unit/diff/tar_builder.h"
#include "tests/unit/snapshotter/testutil.h"

namespace berth::daemon {
namespace {

namespace sv1 = containerd::services::snapshots::v1;
namespace dv1 = containerd::services::diff::v1;
using berth::testing::TarBuilder;
using berth::testing::TarCompression;

class SnapshotServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || !snapshotter::OverlaySupported()) GTEST_SKIP() << "needs root and overlayfs";
    dir_ = berth::testing::MakeTempDir("berth-svc");
    Config cfg;
    cfg.root = dir_ + "/root";
    cfg.state = dir_ + "/state";
    cfg.grpc_address = dir_ + "/sock";
    auto d = BuildDaemon(cfg);
    ASSERT_TRUE(d.ok()) << d.status();
    d_ = std::move(*d);
    server_ = std::make_unique<Server>(*d_);
    ASSERT_TRUE(server_->Start().ok());
    auto ch = grpc::CreateChannel("unix:" + cfg.grpc_address, grpc::InsecureChannelCredentials());
    snaps_ = sv1::Snapshots::NewStub(ch);
    diff_ = dv1::Diff::NewStub(ch);
  }
  void TearDown() override {
    if (dir_.empty()) return;
    server_->Shutdown(100);
    server_.reset();
    d_.reset();
    EXPECT_TRUE(RemoveAll(dir_).ok());
  }
  void Ctx(grpc::ClientContext* c, const std::string& ns = "testns") { c->AddMetadata("containerd-namespace", ns); }

  // Stores `bytes` as a blob visible in `ns`; returns its digest.
  std::string PutBlob(const std::string& bytes, const std::string& ns = "testns") {
    auto cs = d_->content->Namespaced(ns);
    content::WriterOptions o;
    o.ref = "test-" + Sha256::Of(bytes).hex();
    auto w = cs->OpenWriter(o);
    EXPECT_TRUE(w.ok()) << w.status();
    EXPECT_TRUE((*w)->Write(bytes).ok());
    EXPECT_TRUE((*w)->Commit(static_cast<int64_t>(bytes.size()), std::nullopt, {}).ok());
    return Sha256::Of(bytes).str();
  }

  std::string dir_;
  std::unique_ptr<Daemon> d_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<sv1::Snapshots::Stub> snaps_;
  std::unique_ptr<dv1::Diff::Stub> diff_;
};

TEST_F(SnapshotServicesTest, UnpackTwoLayersLikeCtr) {
  std::string plain1 = TarBuilder().Dir("etc").File("etc/a", "A").File("etc/b", "B").Finish();
  std::string gz1 = TarBuilder(TarCompression::kGzip).Dir("etc").File("etc/a", "A").File("etc/b", "B").Finish();
  std::string dg1 = PutBlob(gz1);

  sv1::PrepareSnapshotRequest prep;
  prep.set_snapshotter("overlayfs");
  prep.set_key("extract-1 sha256:x");
  sv1::PrepareSnapshotResponse pr;
  {
    grpc::ClientContext c;
    Ctx(&c);
    ASSERT_TRUE(snaps_->Prepare(&c, prep, &pr).ok());
  }
  ASSERT_EQ(pr.mounts_size(), 1);
  EXPECT_EQ(pr.mounts(0).type(), "bind");

  dv1::ApplyRequest ar;
  ar.mutable_diff()->set_media_type("application/vnd.oci.image.layer.v1.tar+gzip");
  ar.mutable_diff()->set_digest(dg1);
  ar.mutable_diff()->set_size(static_cast<int64_t>(gz1.size()));
  *ar.mutable_mounts() = pr.mounts();
  dv1::ApplyResponse resp;
  {
    grpc::ClientContext c;
    Ctx(&c);
    grpc::Status s = diff_->Apply(&c, ar, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(resp.applied().media_type(), "application/vnd.oci.image.layer.v1.tar");
  EXPECT_EQ(resp.applied().digest(), Sha256::Of(plain1).str());
  EXPECT_EQ(resp.applied().size(), static_cast<int64_t>(plain1.size()));

  sv1::CommitSnapshotRequest cr;
  cr.set_snapshotter("overlayfs");
  cr.set_name("layer1");
  cr.set_key("extract-1 sha256:x");
  google::protobuf::Empty e;
  {
    grpc::ClientContext c;
    Ctx(&c);
    ASSERT_TRUE(snaps_->Commit(&c, cr, &e).ok());
  }

  // Layer 2 on top, zstd, with a whiteout: applied into the overlay's upper dir.
  std::string zs2 = TarBuilder(TarCompression::kZstd).File("etc/.wh.a", "").File("etc/c", "C").Finish();
  std::string dg2 = PutBlob(zs2);
  prep.set_key("extract-2");
  prep.set_parent("layer1");
  {
    grpc::ClientContext c;
    Ctx(&c);
    ASSERT_TRUE(snaps_->Prepare(&c, prep, &pr).ok());
  }
  ASSERT_EQ(pr.mounts(0).type(), "overlay");
  ar.mutable_diff()->set_media_type("application/vnd.oci.image.layer.v1.tar+zstd");
  ar.mutable_diff()->set_digest(dg2);
  ar.mutable_diff()->set_size(static_cast<int64_t>(zs2.size()));
  *ar.mutable_mounts() = pr.mounts();
  {
    grpc::ClientContext c;
    Ctx(&c);
    grpc::Status s = diff_->Apply(&c, ar, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  std::string upper = snapshotter::MountOption(
      snapshotter::Mount{"overlay", "overlay", "", {pr.mounts(0).options().begin(), pr.mounts(0).options().end()}},
      "upperdir");
  struct stat sb;
  ASSERT_EQ(lstat((upper + "/etc/a").c_str(), &sb), 0);
  EXPECT_TRUE(S_ISCHR(sb.st_mode));
  EXPECT_EQ(berth::testing::Slurp(upper + "/etc/c"), "C");

  // Wrong size in the descriptor: FailedPrecondition. Blob of another namespace: NotFound.
  ar.mutable_diff()->set_size(static_cast<int64_t>(zs2.size()) + 1);
  {
    grpc::ClientContext c;
    Ctx(&c);
    EXPECT_EQ(diff_->Apply(&c, ar, &resp).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  {
    grpc::ClientContext c;
    Ctx(&c, "elsewhere");
    EXPECT_EQ(diff_->Apply(&c, ar, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext c;
    Ctx(&c);
    dv1::DiffRequest dr;
    dv1::DiffResponse dresp;
    EXPECT_EQ(diff_->Diff(&c, dr, &dresp).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  }
}

TEST_F(SnapshotServicesTest, DigestMismatchIsFailedPrecondition) {
  std::string tar = TarBuilder().File("f", "x").Finish();
  std::string dg = PutBlob(tar);
  // Corrupt the stored bytes behind the store's back.
  std::string path = dir_ + "/root/io.containerd.content.v1.content/blobs/sha256/" + dg.substr(7);
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  std::string bad = tar;
  bad[600] ^= 1;
  berth::testing::Spit(path, bad);
  sv1::PrepareSnapshotRequest prep;
  prep.set_snapshotter("overlayfs");
  prep.set_key("k");
  sv1::PrepareSnapshotResponse pr;
  grpc::ClientContext c1;
  Ctx(&c1);
  ASSERT_TRUE(snaps_->Prepare(&c1, prep, &pr).ok());
  dv1::ApplyRequest ar;
  ar.mutable_diff()->set_media_type("application/vnd.oci.image.layer.v1.tar");
  ar.mutable_diff()->set_digest(dg);
  *ar.mutable_mounts() = pr.mounts();
  dv1::ApplyResponse resp;
  grpc::ClientContext c2;
  Ctx(&c2);
  grpc::Status s = diff_->Apply(&c2, ar, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("digest mismatch"), std::string::npos) << s.error_message();
}

TEST_F(SnapshotServicesTest, ListStreamsInBatchesWithFilters) {
  for (int i = 0; i < 250; ++i) {
    sv1::PrepareSnapshotRequest prep;
    prep.set_snapshotter("overlayfs");
    prep.set_key(StrCat("k", i));
    if (i % 2) (*prep.mutable_labels())["odd"] = "yes";
    sv1::PrepareSnapshotResponse pr;
    grpc::ClientContext c;
    Ctx(&c);
    ASSERT_TRUE(snaps_->Prepare(&c, prep, &pr).ok());
  }
  auto count = [&](std::vector<std::string> filters, const std::string& sn, grpc::StatusCode* code) {
    sv1::ListSnapshotsRequest req;
    req.set_snapshotter(sn);
    for (auto& f : filters) req.add_filters(f);
    grpc::ClientContext c;
    Ctx(&c);
    auto reader = snaps_->List(&c, req);
    sv1::ListSnapshotsResponse msg;
    int n = 0, messages = 0;
    while (reader->Read(&msg)) {
      n += msg.info_size();
      ++messages;
      EXPECT_LE(msg.info_size(), 100);
    }
    *code = reader->Finish().error_code();
    return std::make_pair(n, messages);
  };
  grpc::StatusCode code;
  auto all = count({}, "overlayfs", &code);
  EXPECT_EQ(code, grpc::StatusCode::OK);
  EXPECT_EQ(all.first, 250);
  EXPECT_EQ(all.second, 3);
  EXPECT_EQ(count({"labels.odd==yes"}, "overlayfs", &code).first, 125);
  EXPECT_EQ(count({"kind==active,name==k7"}, "overlayfs", &code).first, 1);
  EXPECT_EQ(count({"kind==committed"}, "overlayfs", &code).first, 0);
  count({}, "", &code);
  EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT);
  count({}, "zfs", &code);
  EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SnapshotServicesTest, MissingNamespaceIsFailedPrecondition) {
  sv1::StatSnapshotRequest req;
  req.set_snapshotter("overlayfs");
  req.set_key("x");
  sv1::StatSnapshotResponse resp;
  grpc::ClientContext c;
  EXPECT_EQ(snaps_->Stat(&c, req, &resp).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace berth::daemon
