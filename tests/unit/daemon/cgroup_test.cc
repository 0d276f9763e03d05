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
  // Unknown keys are warned about with their line, never refused (containerd ignores them).
  std::vector<ConfigNote> notes;
  Status s = ParseConfig("[cgroup]\nbogus = 1\n", "t.toml", &cfg, &notes);
  EXPECT_TRUE(s.ok()) << s;
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].severity, ConfigNote::Severity::kWarn);
  EXPECT_NE(notes[0].message.find("cgroup.bogus"), std::string::npos) << notes[0].message;
  EXPECT_NE(notes[0].message.find("t.toml:2"), std::string::npos) << notes[0].message;
  EXPECT_TRUE(absl::IsInvalidArgument(ParseConfig("[cgroup]\npath = 5\n", "t.toml", &cfg)));
}

}  // namespace
}  // namespace berth::daemon
