#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/fs.h"
#include "network/cni.h"

namespace berth::network {
namespace {

constexpr long kNsfsMagic = 0x6e736673;

TEST(NetnsTest, CreateAndRemove) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  char tmpl[] = "/tmp/berth-netns-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = JoinPath(tmpl, "netns");
  auto p = CreateNetns(dir, "n1");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, JoinPath(dir, "n1"));
  struct statfs fs;
  ASSERT_EQ(statfs(p->c_str(), &fs), 0);
  EXPECT_EQ(static_cast<long>(fs.f_type), kNsfsMagic);
  struct stat ns, self;
  ASSERT_EQ(stat(p->c_str(), &ns), 0);
  ASSERT_EQ(stat("/proc/self/ns/net", &self), 0);
  EXPECT_NE(ns.st_ino, self.st_ino);  // a new namespace, not ours
  auto p2 = CreateNetns(dir, "n2");
  ASSERT_TRUE(p2.ok()) << p2.status();
  struct stat ns2;
  ASSERT_EQ(stat(p2->c_str(), &ns2), 0);
  EXPECT_NE(ns.st_ino, ns2.st_ino);
  EXPECT_EQ(CreateNetns(dir, "n1").status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(CreateNetns(dir, "a/b").status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(RemoveNetns(*p).ok());
  ASSERT_TRUE(RemoveNetns(*p2).ok());
  EXPECT_NE(access(p->c_str(), F_OK), 0);
  EXPECT_TRUE(RemoveNetns(*p).ok());  // missing is fine
  // The directory is a mount point of its own (like /run/netns); unmount it to clean up.
  ASSERT_EQ(umount2(dir.c_str(), MNT_DETACH), 0);
  ASSERT_TRUE(RemoveAll(tmpl).ok());
}

}  // namespace
}  // namespace berth::network
