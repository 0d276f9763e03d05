#include "daemon/cgroup.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "daemon/config.h"

namespace berth::daemon {
namespace {

TEST(CgroupTest, RejectsEmptyAndEscapingPaths) {
  EXPECT_EQ(JoinCgroup("", getpid()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JoinCgroup("/", getpid()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JoinCgroup("/a/../../b", getpid()).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(JoinCgroup("..", getpid()).code(), absl::StatusCode::kInvalidArgument);
}

TEST(CgroupTest, ConfigSections) {
  Config cfg;
  ASSERT_TRUE(ParseConfig("oom_score = -500\n[cgroup]\npath = \"/berth\"\n", "t.toml", &cfg).ok());
  EXPECT_EQ(cfg.cgroup_path, "/berth");
  EXPECT_EQ(cfg.oom_score, -500);
  Status s = ParseConfig("[cgroup]\nbogus = 1\n", "t.toml", &cfg);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("cgroup.bogus"), std::string::npos) << s;
}

}  // namespace
}  // namespace berth::daemon
