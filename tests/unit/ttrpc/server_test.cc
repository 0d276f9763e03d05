#include "ttrpc/server.h"

#include <gtest/gtest.h>

#include <mutex>

#include "google/rpc/status.pb.h"
#include "tests/unit/ttrpc/test_util.h"

namespace berth::ttrpc {
namespace {

using testing::DialRaw;
using testing::ReadFrame;
using testing::RequestFrame;
using testing::WriteAll;

::ttrpc::Response DecodeResponse(const Frame& f) {
  ::ttrpc::Response r;
  EXPECT_TRUE(r.ParseFromString(f.payload));
  return r;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.Path("s.sock");
    fx_.server.Register("test.Svc", "Echo", [](const CallContext& ctx, std::string p,
                                               Responder done) {
      done(ctx.Get("k") + ":" + p + ":" + std::to_string(ctx.timeout.count()));
    });
    fx_.server.Register("test.Svc", "Fail", [](const CallContext&, std::string, Responder done) {
      done(absl::NotFoundError("nothing here"));
    });
    // Wait keeps its responder until Release is called.
    fx_.server.Register("test.Svc", "Wait", [this](const CallContext&, std::string,
                                                   Responder done) {
      std::lock_guard<std::mutex> l(mu_);
      waiting_ = done;
    });
    fx_.server.Register("test.Svc", "Release", [this](const CallContext&, std::string,
                                                      Responder done) {
      std::lock_guard<std::mutex> l(mu_);
      waiting_(std::string("released"));
      done(std::string("ok"));
    });
    fx_.Start(path_);
    fd_ = DialRaw(path_);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    ::close(fd_);
    fx_.Stop();
  }

  testing::TempSocketDir dir_;
  std::string path_;
  testing::ServerFixture fx_;
  int fd_ = -1;
  std::mutex mu_;
  Responder waiting_;
};

TEST_F(ServerTest, AnswersOnRequestStreamWithMetadataAndTimeout) {
  ::ttrpc::Request req;
  req.set_service("test.Svc");
  req.set_method("Echo");
  req.set_payload("hi");
  req.set_timeout_nano(5000);
  auto* kv = req.add_metadata();
  kv->set_key("k");
  kv->set_value("v");
  ASSERT_TRUE(WriteAll(fd_, EncodeFrame(7, kRequest, req.SerializeAsString())));
  auto f = ReadFrame(fd_);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->header.stream_id, 7u);
  EXPECT_EQ(f->header.type, kResponse);
  auto r = DecodeResponse(*f);
  EXPECT_EQ(r.status().code(), 0);
  EXPECT_EQ(r.payload(), "v:hi:5000");
}

TEST_F(ServerTest, HandlerErrorBecomesStatus) {
  ASSERT_TRUE(WriteAll(fd_, RequestFrame(1, "test.Svc", "Fail", "")));
  auto f = ReadFrame(fd_);
  ASSERT_TRUE(f);
  auto r = DecodeResponse(*f);
  EXPECT_EQ(r.status().code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(r.status().message(), "nothing here");
}

TEST_F(ServerTest, UnknownServiceAndMethodAreUnimplemented) {
  ASSERT_TRUE(WriteAll(fd_, RequestFrame(1, "no.Such", "Echo", "")));
  ASSERT_TRUE(WriteAll(fd_, RequestFrame(3, "test.Svc", "Nope", "")));
  for (uint32_t id : {1u, 3u}) {
    auto f = ReadFrame(fd_);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->header.stream_id, id);
    EXPECT_EQ(DecodeResponse(*f).status().code(),
              static_cast<int>(absl::StatusCode::kUnimplemented));
  }
}

TEST_F(ServerTest, EvenStreamIdIsInvalidArgument) {
  ASSERT_TRUE(WriteAll(fd_, RequestFrame(2, "test.Svc", "Echo", "")));
  auto f = ReadFrame(fd_);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->header.stream_id, 2u);
  EXPECT_EQ(DecodeResponse(*f).status().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
}

TEST_F(ServerTest, GarbageRequestIsInvalidArgument) {
  ASSERT_TRUE(WriteAll(fd_, EncodeFrame(1, kRequest, "\xff\xff\xff")));
  auto f = ReadFrame(fd_);
  ASSERT_TRUE(f);
  EXPECT_EQ(DecodeResponse(*f).status().code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
}

TEST_F(ServerTest, OversizedFrameIsResourceExhaustedAndConnectionSurvives) {
  uint8_t hdr[kHeaderSize];
  EncodeHeader(FrameHeader{kMaxPayload + 10, 5, kRequest, 0}, hdr);
  ASSERT_TRUE(WriteAll(fd_, std::string_view(reinterpret_cast<char*>(hdr), sizeof(hdr))));
  std::thread writer([fd = fd_] { WriteAll(fd, std::string(kMaxPayload + 10, 'z')); });
  auto f = ReadFrame(fd_);
  writer.join();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->header.stream_id, 5u);
  EXPECT_EQ(DecodeResponse(*f).status().code(),
            static_cast<int>(absl::StatusCode::kResourceExhausted));
  ASSERT_TRUE(WriteAll(fd_, RequestFrame(7, "test.Svc", "Echo", "again")));
  auto g = ReadFrame(fd_);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->header.stream_id, 7u);
  EXPECT_EQ(DecodeResponse(*g).payload(), ":again:0");
}

TEST_F(ServerTest, BlockedCallDoesNotHoldUpOthers) {
  ASSERT_TRUE(WriteAll(fd_, RequestFrame(1, "test.Svc", "Wait", "")));
  ASSERT_TRUE(WriteAll(fd_, RequestFrame(3, "test.Svc", "Echo", "x")));
  auto f = ReadFrame(fd_);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->header.stream_id, 3u);  // Echo answered while Wait is outstanding
  ASSERT_TRUE(WriteAll(fd_, RequestFrame(5, "test.Svc", "Release", "")));
  std::map<uint32_t, std::string> got;
  for (int i = 0; i < 2; i++) {
    auto g = ReadFrame(fd_);
    ASSERT_TRUE(g);
    got[g->header.stream_id] = DecodeResponse(*g).payload();
  }
  EXPECT_EQ(got[1], "released");
  EXPECT_EQ(got[5], "ok");
}

TEST_F(ServerTest, ResponderAfterCloseIsNoop) {
  ASSERT_TRUE(WriteAll(fd_, RequestFrame(1, "test.Svc", "Wait", "")));
  ASSERT_TRUE(WriteAll(fd_, RequestFrame(3, "test.Svc", "Echo", "")));
  ASSERT_TRUE(ReadFrame(fd_));
  fx_.Stop();
  std::lock_guard<std::mutex> l(mu_);
  waiting_(std::string("late"));  // must not crash
}

}  // namespace
}  // namespace berth::ttrpc
