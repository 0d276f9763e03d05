#include "daemon/config.h"

#include <gtest/gtest.h>

namespace berth::daemon {
namespace {

TEST(ConfigTest, DefaultsAndOverrides) {
  Config c;
  ASSERT_TRUE(ParseConfig(R"(
version = 2
root = "/x/root"
[grpc]
address = "/x/sock"
gid = 42
[debug]
level = "debug"
)",
                          "test.toml", &c)
                  .ok());
  EXPECT_EQ(c.root, "/x/root");
  EXPECT_EQ(c.state, "/run/berth");
  EXPECT_EQ(c.grpc_address, "/x/sock");
  EXPECT_EQ(c.TtrpcAddress(), "/x/sock.ttrpc");
  EXPECT_EQ(c.gid, 42);
  EXPECT_EQ(c.log_level, "debug");
}

TEST(ConfigTest, MalformedNamesFileAndLine) {
  Config c;
  Status s = ParseConfig("root = \"/a\"\n\n[grpc\naddress = 1\n", "/etc/berth/config.toml", &c);
  ASSERT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(s.message().find("/etc/berth/config.toml:3"), std::string::npos) << s;
}

TEST(ConfigTest, UnknownKeyAndWrongType) {
  Config c;
  Status s = ParseConfig("roots = \"/a\"\n", "c.toml", &c);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(s.message().find("c.toml:1"), std::string::npos) << s;
  s = ParseConfig("[grpc]\naddress = 5\n", "c.toml", &c);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(s.message().find("c.toml:2"), std::string::npos) << s;
  s = ParseConfig("[debug]\nlevel = \"loud\"\n", "c.toml", &c);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
}

}  // namespace
}  // namespace berth::daemon
