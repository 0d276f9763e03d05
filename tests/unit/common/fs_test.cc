#include "common/fs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

namespace berth {
namespace {

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-fs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { ASSERT_TRUE(RemoveAll(dir_).ok()); }
  std::string dir_;
};

TEST_F(FsTest, WriteFileAtomicReplacesContentAndMode) {
  std::string p = JoinPath(dir_, "f");
  ASSERT_TRUE(WriteFileAtomic(p, "one", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(p, "two", 0640).ok());
  auto got = ReadFile(p);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "two");
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  // No temporary files left behind.
  int entries = 0;
  ASSERT_TRUE(RemoveAll(p).ok());
  ASSERT_EQ(rmdir(dir_.c_str()), 0) << "directory not empty: " << entries;
  ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
}

TEST_F(FsTest, ReadMissingIsNotFound) {
  auto got = ReadFile(JoinPath(dir_, "missing"));
  EXPECT_TRUE(absl::IsNotFound(got.status())) << got.status();
}

TEST_F(FsTest, MkdirAllAndRemoveAll) {
  std::string deep = JoinPath(dir_, "a/b/c");
  ASSERT_TRUE(MkdirAll(deep).ok());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(deep, "x"), "data").ok());
  ASSERT_EQ(chmod(deep.c_str(), 0500), 0);
  ASSERT_TRUE(RemoveAll(JoinPath(dir_, "a")).ok());
  struct stat st;
  EXPECT_NE(stat(JoinPath(dir_, "a").c_str(), &st), 0);
  EXPECT_TRUE(RemoveAll(JoinPath(dir_, "never")).ok());
}

TEST(PathTest, DirNameAndJoin) {
  EXPECT_EQ(DirName("/a/b"), "/a");
  EXPECT_EQ(DirName("/a"), "/");
  EXPECT_EQ(DirName("a"), ".");
  EXPECT_EQ(JoinPath("/a/", "/b"), "/a/b");
}

TEST(StatusTest, ErrnoMapping) {
  EXPECT_TRUE(absl::IsNotFound(ErrnoStatus(ENOENT, "x")));
  EXPECT_TRUE(absl::IsAlreadyExists(ErrnoStatus(EEXIST, "x")));
  Status s = Annotate(absl::NotFoundError("inner"), "outer");
  EXPECT_TRUE(absl::IsNotFound(s));
  EXPECT_EQ(s.message(), "outer: inner");
}

}  // namespace
}  // namespace berth
