#include "common/identifiers.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace berth
