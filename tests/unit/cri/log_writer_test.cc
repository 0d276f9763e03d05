#include "cri/log_writer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth::cri {
namespace {

struct Recorder {
  std::vector<std::string> records;
  LogWriter Make(const std::string& stream, int64_t max) {
    int64_t t = 1700000000LL * 1000000000 + 120000000;  // .12 s
    return LogWriter(
        stream, max,
        [this](std::string_view r) {
          records.emplace_back(r);
          return Status();
        },
        [t] { return t; });
  }
};

TEST(FormatRfc3339Nano, TrimsTrailingZerosLikeGo) {
  EXPECT_EQ(FormatRfc3339Nano(1700000000LL * 1000000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatRfc3339Nano(1700000000LL * 1000000000 + 120000000), "2023-11-14T22:13:20.12Z");
  EXPECT_EQ(FormatRfc3339Nano(1700000000LL * 1000000000 + 1), "2023-11-14T22:13:20.000000001Z");
}

TEST(LogWriter, FullLines) {
  Recorder r;
  auto w = r.Make("stdout", 16);
  ASSERT_TRUE(w.Write("hello\nwor").ok());
  ASSERT_EQ(r.records.size(), 1u);
  ASSERT_TRUE(w.Write("ld\r\n\n").ok());
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0], "2023-11-14T22:13:20.12Z stdout F hello\n");
  EXPECT_EQ(r.records[1], "2023-11-14T22:13:20.12Z stdout F world\n");
  EXPECT_EQ(r.records[2], "2023-11-14T22:13:20.12Z stdout F \n");
}

TEST(LogWriter, SplitsLongLinesIntoPartials) {
  Recorder r;
  auto w = r.Make("stderr", 4);
  ASSERT_TRUE(w.Write("abcdefghij\n").ok());
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0], "2023-11-14T22:13:20.12Z stderr P abcd\n");
  EXPECT_EQ(r.records[1], "2023-11-14T22:13:20.12Z stderr P efgh\n");
  EXPECT_EQ(r.records[2], "2023-11-14T22:13:20.12Z stderr F ij\n");
}

TEST(LogWriter, LineOfExactlyMaxIsFull) {
  Recorder r;
  auto w = r.Make("stdout", 4);
  ASSERT_TRUE(w.Write("abcd").ok());
  EXPECT_TRUE(r.records.empty());  // could still end here
  ASSERT_TRUE(w.Write("\nabcdefgh\n").ok());
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0], "2023-11-14T22:13:20.12Z stdout F abcd\n");
  EXPECT_EQ(r.records[1], "2023-11-14T22:13:20.12Z stdout P abcd\n");
  EXPECT_EQ(r.records[2], "2023-11-14T22:13:20.12Z stdout F efgh\n");
}

TEST(LogWriter, SixteenKiBDefaultSplit) {
  Recorder r;
  auto w = r.Make("stdout", 16 * 1024);
  std::string big(40000, 'x');
  ASSERT_TRUE(w.Write(big + "\n").ok());
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_NE(r.records[0].find(" P "), std::string::npos);
  EXPECT_NE(r.records[1].find(" P "), std::string::npos);
  EXPECT_NE(r.records[2].find(" F "), std::string::npos);
  size_t prefix = std::string("2023-11-14T22:13:20.12Z stdout P ").size();
  EXPECT_EQ(r.records[0].size(), prefix + 16384 + 1);
  EXPECT_EQ(r.records[2].size(), prefix + 40000 - 2 * 16384 + 1);
}

TEST(LogWriter, CloseFlushesUnterminatedAsFull) {
  Recorder r;
  auto w = r.Make("stdout", 0);
  ASSERT_TRUE(w.Write("no newline").ok());
  EXPECT_TRUE(r.records.empty());
  ASSERT_TRUE(w.Close().ok());
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0], "2023-11-14T22:13:20.12Z stdout F no newline\n");
  ASSERT_TRUE(w.Close().ok());
  EXPECT_EQ(r.records.size(), 1u);
}

TEST(LogWriter, SinkErrorsPropagate) {
  LogWriter w("stdout", 0, [](std::string_view) { return absl::UnavailableError("disk full"); });
  EXPECT_TRUE(absl::IsUnavailable(w.Write("x\n")));
}

}  // namespace
}  // namespace berth::cri
