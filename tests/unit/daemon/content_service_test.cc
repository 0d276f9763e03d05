// The Content gRPC service over a real Daemon, through an in-process channel: the Write
// protocol's corner cases that ctr never sends (missing ref, wrong offsets, truncation), status
// codes for malformed input, Read ranges, Update masks, statuses and leases.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "common/fs.h"
#include "containerd/services/content/v1/content.grpc.pb.h"
#include "daemon/daemon.h"
#include "daemon/services/content.h"

namespace berth::daemon {
namespace {

namespace ctv1 = containerd::services::content::v1;
using Stream = grpc::ClientReaderWriter<ctv1::WriteContentRequest, ctv1::WriteContentResponse>;

class ContentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-csvc-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Config c;
    c.root = dir_ + "/root";
    c.state = dir_ + "/state";
    c.grpc_address = dir_ + "/sock";
    auto d = BuildDaemon(c);
    ASSERT_TRUE(d.ok()) << d.status();
    d_ = std::move(*d);
    service_ = std::make_unique<ContentService>(*d_);
    grpc::ServerBuilder b;
    b.RegisterService(service_.get());
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = ctv1::Content::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override {
    server_->Shutdown();
    server_->Wait();
    d_->pool->join();
    service_.reset();
    d_.reset();
    ASSERT_TRUE(RemoveAll(dir_).ok());
  }
  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& ns = "default", const std::string& lease = "") {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!ns.empty()) ctx->AddMetadata("containerd-namespace", ns);
    if (!lease.empty()) ctx->AddMetadata("containerd-lease", lease);
    return ctx;
  }
  static ctv1::WriteContentRequest Req(ctv1::WriteAction a, const std::string& ref = "", int64_t offset = 0,
                                       const std::string& data = "", const std::string& expected = "",
                                       int64_t total = 0) {
    ctv1::WriteContentRequest r;
    r.set_action(a);
    r.set_ref(ref);
    r.set_offset(offset);
    r.set_data(data);
    r.set_expected(expected);
    r.set_total(total);
    return r;
  }
  // Sends one request and returns the response (nullopt when the stream ended).
  static std::optional<ctv1::WriteContentResponse> Send(Stream& s, const ctv1::WriteContentRequest& r) {
    if (!s.Write(r)) return std::nullopt;
    ctv1::WriteContentResponse resp;
    if (!s.Read(&resp)) return std::nullopt;
    return resp;
  }
  // Ingests `data` under `ref` in one stream; returns the final status.
  grpc::Status Ingest(const std::string& ref, const std::string& data, const std::string& ns = "default") {
    auto ctx = Ctx(ns);
    auto s = stub_->Write(ctx.get());
    Send(*s, Req(ctv1::STAT, ref));
    Send(*s, Req(ctv1::WRITE, "", 0, data));
    Send(*s, Req(ctv1::COMMIT, "", static_cast<int64_t>(data.size()), "", Sha256::Of(data).str(),
                 static_cast<int64_t>(data.size())));
    s->WritesDone();
    return s->Finish();
  }

  std::string dir_;
  std::unique_ptr<Daemon> d_;
  std::unique_ptr<ContentService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ctv1::Content::Stub> stub_;
};

TEST_F(ContentServiceTest, WriteProtocol) {
  auto ctx = Ctx();
  auto s = stub_->Write(ctx.get());
  auto r = Send(*s, Req(ctv1::STAT, "layer-1", 0, "", "", 8));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->offset(), 0);
  EXPECT_EQ(r->total(), 8);
  EXPECT_EQ(r->digest(), Sha256::Of("").str());
  EXPECT_GT(r->started_at().seconds(), 1700000000);
  r = Send(*s, Req(ctv1::WRITE, "", 0, "hello"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->action(), ctv1::WRITE);
  EXPECT_EQ(r->offset(), 5);
  EXPECT_EQ(r->total(), 8);  // kept from STAT, as containerd
  EXPECT_EQ(r->digest(), Sha256::Of("hello").str());
  r = Send(*s, Req(ctv1::WRITE, "", 5, "abc"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->offset(), 8);
  s->WritesDone();
  EXPECT_TRUE(s->Finish().ok());

  // A new stream resumes at 8; a WRITE at a wrong offset is OutOfRange.
  ctx = Ctx();
  s = stub_->Write(ctx.get());
  r = Send(*s, Req(ctv1::STAT, "layer-1"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->offset(), 8);
  EXPECT_EQ(r->digest(), Sha256::Of("helloabc").str());
  EXPECT_FALSE(Send(*s, Req(ctv1::WRITE, "", 3, "x")));
  EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::OUT_OF_RANGE);

  // Offset 0 on a non-empty ingest truncates it.
  ctx = Ctx();
  s = stub_->Write(ctx.get());
  ASSERT_TRUE(Send(*s, Req(ctv1::STAT, "layer-1")));
  r = Send(*s, Req(ctv1::WRITE, "", 0, "new"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->offset(), 3);
  r = Send(*s, Req(ctv1::COMMIT, "", 3, "", Sha256::Of("new").str(), 3));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->action(), ctv1::COMMIT);
  EXPECT_EQ(r->offset(), 3);
  EXPECT_EQ(r->digest(), Sha256::Of("new").str());
  s->WritesDone();
  EXPECT_TRUE(s->Finish().ok());

  ctv1::InfoRequest ireq;
  ireq.set_digest(Sha256::Of("new").str());
  ctv1::InfoResponse iresp;
  ASSERT_TRUE(stub_->Info(Ctx().get(), ireq, &iresp).ok());
  EXPECT_EQ(iresp.info().size(), 3);
  EXPECT_GT(iresp.info().created_at().seconds(), 1700000000);
  EXPECT_GT(iresp.info().updated_at().seconds(), 1700000000);
}

TEST_F(ContentServiceTest, WriteErrors) {
  {  // no ref on the first message
    auto ctx = Ctx();
    auto s = stub_->Write(ctx.get());
    EXPECT_FALSE(Send(*s, Req(ctv1::STAT)));
    EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {  // malformed expected digest
    auto ctx = Ctx();
    auto s = stub_->Write(ctx.get());
    EXPECT_FALSE(Send(*s, Req(ctv1::STAT, "r", 0, "", "sha256:nothex")));
    EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  {  // wrong digest at commit: FailedPrecondition, no blob
    auto ctx = Ctx();
    auto s = stub_->Write(ctx.get());
    ASSERT_TRUE(Send(*s, Req(ctv1::STAT, "bad")));
    ASSERT_TRUE(Send(*s, Req(ctv1::WRITE, "", 0, "data")));
    EXPECT_FALSE(Send(*s, Req(ctv1::COMMIT, "", 4, "", Sha256::Of("other").str(), 4)));
    EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    ctv1::InfoRequest ireq;
    ireq.set_digest(Sha256::Of("data").str());
    ctv1::InfoResponse iresp;
    EXPECT_EQ(stub_->Info(Ctx().get(), ireq, &iresp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {  // expected blob already present: AlreadyExists on the first response
    ASSERT_TRUE(Ingest("x", "present").ok());
    auto ctx = Ctx();
    auto s = stub_->Write(ctx.get());
    EXPECT_FALSE(Send(*s, Req(ctv1::STAT, "y", 0, "", Sha256::Of("present").str())));
    EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::ALREADY_EXISTS);
  }
  {  // the same ref held by another stream: Unavailable
    auto ctx1 = Ctx();
    auto s1 = stub_->Write(ctx1.get());
    ASSERT_TRUE(Send(*s1, Req(ctv1::STAT, "held")));
    auto ctx2 = Ctx();
    auto s2 = stub_->Write(ctx2.get());
    EXPECT_FALSE(Send(*s2, Req(ctv1::STAT, "held")));
    EXPECT_EQ(s2->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
    s1->WritesDone();
    EXPECT_TRUE(s1->Finish().ok());
  }
  {  // an unknown lease
    auto ctx = Ctx("default", "no-such-lease");
    auto s = stub_->Write(ctx.get());
    EXPECT_FALSE(Send(*s, Req(ctv1::STAT, "leased")));
    EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(ContentServiceTest, NamespaceAndDigestChecks) {
  ctv1::InfoRequest ireq;
  ctv1::InfoResponse iresp;
  ireq.set_digest("sha256:1234");
  EXPECT_EQ(stub_->Info(Ctx().get(), ireq, &iresp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ireq.set_digest(Sha256::Of("absent").str());
  EXPECT_EQ(stub_->Info(Ctx().get(), ireq, &iresp).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stub_->Info(Ctx("").get(), ireq, &iresp).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ctv1::DeleteContentRequest dreq;
  google::protobuf::Empty empty;
  dreq.set_digest("nonsense");
  EXPECT_EQ(stub_->Delete(Ctx().get(), dreq, &empty).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  dreq.set_digest(Sha256::Of("absent").str());
  EXPECT_EQ(stub_->Delete(Ctx().get(), dreq, &empty).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ContentServiceTest, ReadRanges) {
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(Ingest("big", data).ok());
  auto read = [&](int64_t offset, int64_t size, grpc::Status* st) {
    ctv1::ReadContentRequest req;
    req.set_digest(Sha256::Of(data).str());
    req.set_offset(offset);
    req.set_size(size);
    auto ctx = Ctx();
    auto r = stub_->Read(ctx.get(), req);
    std::string out;
    ctv1::ReadContentResponse resp;
    size_t messages = 0;
    while (r->Read(&resp)) {
      EXPECT_LE(resp.data().size(), 1u << 20);
      out += resp.data();
      ++messages;
    }
    *st = r->Finish();
    return out;
  };
  grpc::Status st;
  EXPECT_EQ(read(0, 0, &st), data);
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(read(1000, 5000, &st), data.substr(1000, 5000));
  EXPECT_EQ(read((3 << 20) - 10, 100, &st), data.substr((3 << 20) - 10));
  EXPECT_EQ(read(3 << 20, 0, &st), "");
  EXPECT_TRUE(st.ok());
  read((3 << 20) + 1, 0, &st);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::OUT_OF_RANGE);
}

TEST_F(ContentServiceTest, UpdateListStatusesAbort) {
  ASSERT_TRUE(Ingest("a", "labelled").ok());
  ctv1::UpdateRequest ureq;
  ureq.mutable_info()->set_digest(Sha256::Of("labelled").str());
  (*ureq.mutable_info()->mutable_labels())["k"] = "v";
  ureq.mutable_update_mask()->add_paths("labels.k");
  ctv1::UpdateResponse uresp;
  ASSERT_TRUE(stub_->Update(Ctx().get(), ureq, &uresp).ok());
  EXPECT_EQ(uresp.info().labels().at("k"), "v");
  ureq.mutable_update_mask()->add_paths("size");
  EXPECT_EQ(stub_->Update(Ctx().get(), ureq, &uresp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  ctv1::ListContentRequest lreq;
  lreq.add_filters("labels.k==v");
  auto lctx = Ctx();
  auto lr = stub_->List(lctx.get(), lreq);
  ctv1::ListContentResponse lresp;
  int n = 0;
  while (lr->Read(&lresp)) n += lresp.info_size();
  EXPECT_TRUE(lr->Finish().ok());
  EXPECT_EQ(n, 1);

  {  // leave an ingest behind
    auto ctx = Ctx();
    auto s = stub_->Write(ctx.get());
    ASSERT_TRUE(Send(*s, Req(ctv1::STAT, "pending")));
    ASSERT_TRUE(Send(*s, Req(ctv1::WRITE, "", 0, "part")));
    s->WritesDone();
    ASSERT_TRUE(s->Finish().ok());
  }
  ctv1::ListStatusesRequest sreq;
  sreq.add_filters("");
  ctv1::ListStatusesResponse sresp;
  ASSERT_TRUE(stub_->ListStatuses(Ctx().get(), sreq, &sresp).ok());
  ASSERT_EQ(sresp.statuses_size(), 1);
  EXPECT_EQ(sresp.statuses(0).ref(), "pending");
  EXPECT_EQ(sresp.statuses(0).offset(), 4);
  ctv1::StatusRequest streq;
  streq.set_ref("pending");
  ctv1::StatusResponse stresp;
  ASSERT_TRUE(stub_->Status(Ctx().get(), streq, &stresp).ok());
  EXPECT_TRUE(stresp.has_status());
  EXPECT_EQ(stresp.status().offset(), 4);
  EXPECT_EQ(stub_->Status(Ctx("other").get(), streq, &stresp).error_code(), grpc::StatusCode::NOT_FOUND);
  ctv1::AbortRequest areq;
  areq.set_ref("pending");
  google::protobuf::Empty empty;
  ASSERT_TRUE(stub_->Abort(Ctx().get(), areq, &empty).ok());
  EXPECT_EQ(stub_->Abort(Ctx().get(), areq, &empty).error_code(), grpc::StatusCode::NOT_FOUND);
}

// Resumable ingests (issue 10), as containerd's content store: how each way a Write stream ends
// leaves its ref.

TEST_F(ContentServiceTest, ClientGoneWithoutCommitReleasesTheRefAtOnce) {
  {  // the client cancels (disconnects) mid-stream
    auto ctx = Ctx();
    auto s = stub_->Write(ctx.get());
    ASSERT_TRUE(Send(*s, Req(ctv1::STAT, "gone", 0, "", "", 10)));
    ASSERT_TRUE(Send(*s, Req(ctv1::WRITE, "", 0, "01234")));
    ctx->TryCancel();
    EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // The next writer gets the ref (the store retries briefly on a ref still being released) and
  // resumes at the stored offset with the running digest.
  auto ctx = Ctx();
  auto s = stub_->Write(ctx.get());
  auto r = Send(*s, Req(ctv1::STAT, "gone", 0, "", "", 10));
  ASSERT_TRUE(r) << s->Finish().error_message();
  EXPECT_EQ(r->offset(), 5);
  EXPECT_EQ(r->total(), 10);
  EXPECT_EQ(r->digest(), Sha256::Of("01234").str());
  r = Send(*s, Req(ctv1::WRITE, "", 5, "56789"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->offset(), 10);
  r = Send(*s, Req(ctv1::COMMIT, "", 10, "", Sha256::Of("0123456789").str(), 10));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->digest(), Sha256::Of("0123456789").str());
  s->WritesDone();
  EXPECT_TRUE(s->Finish().ok());
}

TEST_F(ContentServiceTest, HalfCloseWithoutCommitKeepsAResumableIngest) {
  int64_t before = time(nullptr);
  {
    auto ctx = Ctx();
    auto s = stub_->Write(ctx.get());
    ASSERT_TRUE(Send(*s, Req(ctv1::STAT, "half", 0, "", "", 8)));
    ASSERT_TRUE(Send(*s, Req(ctv1::WRITE, "", 0, "abc")));
    s->WritesDone();
    EXPECT_TRUE(s->Finish().ok());
  }
  ctv1::StatusRequest streq;
  streq.set_ref("half");
  ctv1::StatusResponse stresp;
  ASSERT_TRUE(stub_->Status(Ctx().get(), streq, &stresp).ok());
  EXPECT_EQ(stresp.status().ref(), "half");
  EXPECT_EQ(stresp.status().offset(), 3);
  EXPECT_EQ(stresp.status().total(), 8);
  EXPECT_GE(stresp.status().started_at().seconds(), before);
  EXPECT_GE(stresp.status().updated_at().seconds(), stresp.status().started_at().seconds());
  ctv1::ListStatusesRequest lreq;
  lreq.add_filters("ref==half");
  ctv1::ListStatusesResponse lresp;
  ASSERT_TRUE(stub_->ListStatuses(Ctx().get(), lreq, &lresp).ok());
  ASSERT_EQ(lresp.statuses_size(), 1);
  EXPECT_EQ(lresp.statuses(0).offset(), 3);
  EXPECT_EQ(lresp.statuses(0).total(), 8);
  // Resumed at once by the next stream.
  auto ctx = Ctx();
  auto s = stub_->Write(ctx.get());
  auto r = Send(*s, Req(ctv1::STAT, "half"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->offset(), 3);
  EXPECT_EQ(r->started_at().seconds(), stresp.status().started_at().seconds());
  s->WritesDone();
  EXPECT_TRUE(s->Finish().ok());
}

TEST_F(ContentServiceTest, SecondWriterIsLockedOnlyWhileTheFirstIsOpen) {
  auto ctx1 = Ctx();
  auto s1 = stub_->Write(ctx1.get());
  ASSERT_TRUE(Send(*s1, Req(ctv1::STAT, "busy")));
  ASSERT_TRUE(Send(*s1, Req(ctv1::WRITE, "", 0, "xy")));
  {
    auto ctx2 = Ctx();
    auto s2 = stub_->Write(ctx2.get());
    EXPECT_FALSE(Send(*s2, Req(ctv1::STAT, "busy")));
    grpc::Status st = s2->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_NE(st.error_message().find("busy locked for "), std::string::npos) << st.error_message();
    EXPECT_NE(st.error_message().find(" UTC): unavailable"), std::string::npos) << st.error_message();
  }
  s1->WritesDone();
  ASSERT_TRUE(s1->Finish().ok());
  auto ctx3 = Ctx();
  auto s3 = stub_->Write(ctx3.get());
  auto r = Send(*s3, Req(ctv1::STAT, "busy"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->offset(), 2);
  s3->WritesDone();
  EXPECT_TRUE(s3->Finish().ok());
}

TEST_F(ContentServiceTest, FailedCommitsKeepTheIngestForTheNextWriter) {
  auto status_of = [&](const std::string& ref, ctv1::StatusResponse* out) {
    ctv1::StatusRequest req;
    req.set_ref(ref);
    return stub_->Status(Ctx().get(), req, out);
  };
  {  // wrong size
    auto ctx = Ctx();
    auto s = stub_->Write(ctx.get());
    ASSERT_TRUE(Send(*s, Req(ctv1::STAT, "fc")));
    ASSERT_TRUE(Send(*s, Req(ctv1::WRITE, "", 0, "data")));
    EXPECT_FALSE(Send(*s, Req(ctv1::COMMIT, "", 4, "", "", 5)));
    grpc::Status st = s->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(st.error_message(), "\"fc\" failed size validation: 4 != 5: failed precondition");
  }
  ctv1::StatusResponse sr;
  ASSERT_TRUE(status_of("fc", &sr).ok());
  EXPECT_EQ(sr.status().offset(), 4);
  {  // wrong digest, on a resumed writer
    auto ctx = Ctx();
    auto s = stub_->Write(ctx.get());
    auto r = Send(*s, Req(ctv1::STAT, "fc"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->offset(), 4);
    EXPECT_FALSE(Send(*s, Req(ctv1::COMMIT, "", 4, "", Sha256::Of("other").str(), 4)));
    grpc::Status st = s->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(st.error_message(), StrCat("unexpected commit digest ", Sha256::Of("data").str(), ", expected ",
                                         Sha256::Of("other").str(), ": failed precondition"));
  }
  ASSERT_TRUE(status_of("fc", &sr).ok());
  EXPECT_EQ(sr.status().offset(), 4);
  // The right expectations commit what the earlier writers left.
  auto ctx = Ctx();
  auto s = stub_->Write(ctx.get());
  ASSERT_TRUE(Send(*s, Req(ctv1::STAT, "fc")));
  auto r = Send(*s, Req(ctv1::COMMIT, "", 4, "", Sha256::Of("data").str(), 4));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->digest(), Sha256::Of("data").str());
  s->WritesDone();
  EXPECT_TRUE(s->Finish().ok());
  EXPECT_EQ(status_of("fc", &sr).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ContentServiceTest, CommitOfAPresentBlobDropsTheIngest) {
  ASSERT_TRUE(Ingest("first", "twice").ok());
  auto ctx = Ctx();
  auto s = stub_->Write(ctx.get());
  ASSERT_TRUE(Send(*s, Req(ctv1::STAT, "second")));  // no expected digest: found at commit
  ASSERT_TRUE(Send(*s, Req(ctv1::WRITE, "", 0, "twice")));
  EXPECT_FALSE(Send(*s, Req(ctv1::COMMIT, "", 5, "", "", 5)));
  EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::ALREADY_EXISTS);
  ctv1::StatusRequest req;
  req.set_ref("second");
  ctv1::StatusResponse resp;
  EXPECT_EQ(stub_->Status(Ctx().get(), req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ContentServiceTest, TruncateAndAbort) {
  {  // WRITE at offset 0 on a resumed ingest truncates it; a close keeps the new bytes
    auto ctx = Ctx();
    auto s = stub_->Write(ctx.get());
    ASSERT_TRUE(Send(*s, Req(ctv1::STAT, "tr")));
    ASSERT_TRUE(Send(*s, Req(ctv1::WRITE, "", 0, "0123456789")));
    s->WritesDone();
    ASSERT_TRUE(s->Finish().ok());
    ctx = Ctx();
    s = stub_->Write(ctx.get());
    auto r = Send(*s, Req(ctv1::STAT, "tr"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->offset(), 10);
    r = Send(*s, Req(ctv1::WRITE, "", 0, "ab"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->offset(), 2);
    EXPECT_EQ(r->digest(), Sha256::Of("ab").str());
    s->WritesDone();
    ASSERT_TRUE(s->Finish().ok());
    ctv1::StatusRequest req;
    req.set_ref("tr");
    ctv1::StatusResponse resp;
    ASSERT_TRUE(stub_->Status(Ctx().get(), req, &resp).ok());
    EXPECT_EQ(resp.status().offset(), 2);
  }
  // Abort while a stream holds the ref removes the ingest (as containerd); that stream's commit
  // fails, and afterwards the ref starts from nothing.
  auto ctx = Ctx();
  auto s = stub_->Write(ctx.get());
  ASSERT_TRUE(Send(*s, Req(ctv1::STAT, "tr")));
  ctv1::AbortRequest areq;
  areq.set_ref("tr");
  google::protobuf::Empty empty;
  ASSERT_TRUE(stub_->Abort(Ctx().get(), areq, &empty).ok());
  ctv1::StatusRequest req;
  req.set_ref("tr");
  ctv1::StatusResponse resp;
  EXPECT_EQ(stub_->Status(Ctx().get(), req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(Send(*s, Req(ctv1::COMMIT, "", 2, "", Sha256::Of("ab").str(), 2)));
  EXPECT_FALSE(s->Finish().ok());
  ctv1::InfoRequest ireq;
  ireq.set_digest(Sha256::Of("ab").str());
  ctv1::InfoResponse iresp;
  EXPECT_EQ(stub_->Info(Ctx().get(), ireq, &iresp).error_code(), grpc::StatusCode::NOT_FOUND);
  ctx = Ctx();
  s = stub_->Write(ctx.get());
  auto r = Send(*s, Req(ctv1::STAT, "tr"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->offset(), 0);
  s->WritesDone();
  EXPECT_TRUE(s->Finish().ok());
}

}  // namespace
}  // namespace berth::daemon
