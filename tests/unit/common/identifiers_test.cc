#include "common/identifiers.h"

#include <gtest/gtest.h>

#include <set>

#include "common/unique.h"

namespace berth {
namespace {

TEST(IdentifiersTest, AcceptsContainerdNames) {
  for (const char* ok : {"default", "k8s.io", "a", "my-ns_1.x", "A9"}) {
    EXPECT_TRUE(ValidateIdentifier(ok).ok()) << ok;
  }
}

TEST(IdentifiersTest, RejectsBadNames) {
  for (const char* bad : {"", "-a", "a-", "a..b", "a/b", "../x", "a b", ".hidden", "ü"}) {
    Status s = ValidateIdentifier(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << bad << " -> " << s;
  }
  EXPECT_TRUE(ValidateIdentifier(std::string(76, 'a')).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateIdentifier(std::string(77, 'a'))));
}

// compose run names one-off containers "<project>-<service>-run-<12 hex>": every one must be a
// valid identifier (the base64 of UniquePart was not: "--" or a trailing '-').
TEST(IdentifiersTest, RandomHexMakesValidDistinctNames) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    std::string h = RandomHex(12);
    ASSERT_EQ(h.size(), 12u);
    ASSERT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos) << h;
    ASSERT_TRUE(ValidateIdentifier("p-s-run-" + h).ok()) << h;
    seen.insert(h);
  }
  EXPECT_EQ(seen.size(), 2000u);
  EXPECT_EQ(RandomHex(0), "");
  EXPECT_EQ(RandomHex(71).size(), 71u);
}

}  // namespace
}  // namespace berth
