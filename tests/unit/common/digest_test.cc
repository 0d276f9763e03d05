#include "common/digest.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(DigestTest, Sha256OfKnownInputs) {
  EXPECT_EQ(Sha256::Of("").str(), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256::Of("abc").hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, IncrementalMatchesOneShotAndCurrentIsNonDestructive) {
  Sha256 h;
  h.Update("a");
  EXPECT_EQ(h.Current(), Sha256::Of("a"));
  h.Update("bc");
  EXPECT_EQ(h.Current(), Sha256::Of("abc"));
  Sha256 copy(h);
  copy.Update("d");
  EXPECT_EQ(h.Current(), Sha256::Of("abc"));
  EXPECT_EQ(copy.Current(), Sha256::Of("abcd"));
}

TEST(DigestTest, Parse) {
  auto d = Digest::Parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->hex().size(), 64u);
  for (const char* bad : {"", "sha256:", "sha256:abc", "md5:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                          "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                          "sha256:../../../../etc/passwd0000000000000000000000000000000000000000000"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(Digest::Parse(bad).status())) << bad;
  }
}

}  // namespace
}  // namespace berth
