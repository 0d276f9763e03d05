#include "runtime/bundle.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "runtime/shim_binary.h"

namespace berth::runtime {
namespace {

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-bundle-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { ASSERT_TRUE(RemoveAll(dir_).ok()); }
  std::string dir_;
};

TEST_F(BundleTest, UserNamespaceRootGidReachesTheBundle) {
  EXPECT_EQ(*RemappedRootGid("{}"), 0u);
  EXPECT_EQ(*RemappedRootGid(R"({"linux":{"gidMappings":[{"containerID":1,"hostID":5,"size":1},
                                {"containerID":0,"hostID":100000,"size":65536}]}})"),
            100000u);
  EXPECT_TRUE(absl::IsInvalidArgument(RemappedRootGid("nope").status()));
  if (geteuid() != 0) GTEST_SKIP() << "chown to the remapped gid needs root";
  auto b = CreateBundle(dir_ + "/root", dir_ + "/state", "ns1", "u1",
                        R"({"linux":{"gidMappings":[{"containerID":0,"hostID":100000,"size":65536}]}})");
  ASSERT_TRUE(b.ok()) << b.status();
  struct stat st;
  ASSERT_EQ(stat(b->path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0710u);
  EXPECT_EQ(st.st_gid, 100000u);
  auto plain = CreateBundle(dir_ + "/root", dir_ + "/state", "ns1", "p1", "{}");
  ASSERT_TRUE(plain.ok());
  ASSERT_EQ(stat(plain->path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(BundleTest, CreateListDelete) {
  auto b = CreateBundle(dir_ + "/root", dir_ + "/state", "ns1", "c1", "{\"ociVersion\":\"1.0.2\"}");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->path, dir_ + "/state/io.containerd.runtime.v2.task/ns1/c1");
  EXPECT_EQ(*ReadFile(b->File("config.json")), "{\"ociVersion\":\"1.0.2\"}");
  struct stat st;
  ASSERT_EQ(stat(b->File("rootfs").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  ASSERT_EQ(lstat(b->File("log").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  char link[512] = {};
  ASSERT_GT(readlink(b->File("work").c_str(), link, sizeof link - 1), 0);
  EXPECT_EQ(std::string(link), dir_ + "/root/io.containerd.runtime.v2.task/ns1/c1");

  EXPECT_TRUE(absl::IsAlreadyExists(CreateBundle(dir_ + "/root", dir_ + "/state", "ns1", "c1", "{}").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(CreateBundle(dir_ + "/root", dir_ + "/state", "ns1", "../x", "{}").status()));

  auto fd = OpenLogFifo(*b);
  ASSERT_TRUE(fd.ok()) << fd.status();
  close(*fd);

  auto list = ListBundles(dir_ + "/root", dir_ + "/state");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].ns, "ns1");
  EXPECT_EQ(list[0].id, "c1");

  ASSERT_TRUE(DeleteBundle(*b).ok());
  EXPECT_NE(access(b->path.c_str(), F_OK), 0);
  EXPECT_NE(access(b->work.c_str(), F_OK), 0);
  EXPECT_TRUE(ListBundles(dir_ + "/root", dir_ + "/state").empty());
}

TEST_F(BundleTest, ResolveShimBinary) {
  std::string bin = dir_ + "/containerd-shim-fake-v2";
  ASSERT_TRUE(WriteFileAtomic(bin, "#!/bin/sh\n", 0755).ok());
  auto p = ResolveShimBinary("io.containerd.fake.v2", {}, dir_ + "/berthd");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, bin);
  EXPECT_TRUE(absl::IsNotFound(ResolveShimBinary("io.containerd.nope.v2", {}, dir_ + "/berthd").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ResolveShimBinary("nodots", {}, dir_ + "/berthd").status()));
  EXPECT_EQ(*ResolveShimBinary(bin, {}, "/x"), bin);
}

}  // namespace
}  // namespace berth::runtime
