#include "ttrpc/frame.h"

#include <gtest/gtest.h>

#include "google/rpc/status.pb.h"

namespace berth::ttrpc {
namespace {

TEST(FrameTest, HeaderIsBigEndianLengthStreamTypeFlags) {
  std::string f = EncodeFrame(0x01020304, kResponse, "abc");
  ASSERT_EQ(f.size(), kHeaderSize + 3);
  const unsigned char want[] = {0, 0, 0, 3, 1, 2, 3, 4, 2, 0, 'a', 'b', 'c'};
  EXPECT_EQ(f, std::string(reinterpret_cast<const char*>(want), sizeof(want)));
  FrameHeader h = DecodeHeader(reinterpret_cast<const uint8_t*>(f.data()));
  EXPECT_EQ(h.length, 3u);
  EXPECT_EQ(h.stream_id, 0x01020304u);
  EXPECT_EQ(h.type, kResponse);
  EXPECT_EQ(h.flags, 0);
}

TEST(FrameTest, ParserReassemblesByteByByte) {
  std::string stream = EncodeFrame(1, kRequest, "hello") + EncodeFrame(3, kRequest, "") +
                       EncodeFrame(5, kRequest, std::string(1000, 'x'));
  FrameParser p;
  std::vector<Frame> frames;
  for (char c : stream) {
    p.Feed(std::string_view(&c, 1));
    while (auto f = p.Next()) frames.push_back(std::move(*f));
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].header.stream_id, 1u);
  EXPECT_EQ(frames[0].payload, "hello");
  EXPECT_EQ(frames[1].header.stream_id, 3u);
  EXPECT_EQ(frames[1].payload, "");
  EXPECT_EQ(frames[2].payload.size(), 1000u);
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(FrameTest, OversizedPayloadIsSkippedNotBuffered) {
  uint8_t hdr[kHeaderSize];
  EncodeHeader(FrameHeader{kMaxPayload + 1, 7, kRequest, 0}, hdr);
  FrameParser p;
  p.Feed(std::string_view(reinterpret_cast<char*>(hdr), sizeof(hdr)));
  auto f = p.Next();
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(f->oversized);
  EXPECT_EQ(f->header.stream_id, 7u);
  std::string junk(kMaxPayload + 1, 'j');
  p.Feed(junk);
  EXPECT_EQ(p.buffered(), 0u);
  EXPECT_FALSE(p.Next().has_value());
  p.Feed(EncodeFrame(9, kRequest, "ok"));
  auto g = p.Next();
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->header.stream_id, 9u);
  EXPECT_EQ(g->payload, "ok");
}

TEST(FrameTest, PayloadLimit) {
  EXPECT_TRUE(CheckPayloadSize(kMaxPayload).ok());
  EXPECT_EQ(CheckPayloadSize(kMaxPayload + 1).code(), absl::StatusCode::kResourceExhausted);
}

TEST(FrameTest, StatusRoundTrip) {
  google::rpc::Status p;
  StatusToProto(absl::NotFoundError("container x: not found"), &p);
  EXPECT_EQ(p.code(), 5);
  Status s = StatusFromProto(p);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "container x: not found");
  p.set_code(0);
  EXPECT_TRUE(StatusFromProto(p).ok());
  p.set_code(99);
  EXPECT_EQ(StatusFromProto(p).code(), absl::StatusCode::kUnknown);
}

}  // namespace
}  // namespace berth::ttrpc
