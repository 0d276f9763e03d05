#include "diff/apply.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/fs.h"
#include "snapshotter/overlay.h"
#include "tests/unit/diff/tar_builder.h"
#include "tests/unit/snapshotter/testutil.h"

namespace berth::diff {
namespace {

using berth::testing::Exists;
using berth::testing::MakeTempDir;
using berth::testing::Slurp;
using berth::testing::TarBuilder;
using berth::testing::TarCompression;
using berth::testing::TarEntry;

class StringReader final : public Reader {
 public:
  explicit StringReader(std::string s) : s_(std::move(s)) {}
  StatusOr<size_t> Read(void* buf, size_t n) override {
    size_t k = std::min(n, s_.size() - pos_);
    memcpy(buf, s_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string s_;
  size_t pos_ = 0;
};

class ApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (ownership, device nodes, trusted xattrs)";
    dir_ = MakeTempDir("berth-diff");
    root_ = dir_ + "/root";
    outside_ = dir_ + "/outside";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(outside_.c_str(), 0755), 0);
  }
  void TearDown() override {
    if (!dir_.empty()) {
      EXPECT_TRUE(RemoveAll(dir_).ok());
    }
  }
  StatusOr<ApplyResult> ApplyBytes(const std::string& bytes, WhiteoutMode mode = WhiteoutMode::kDelete,
                                   const ApplyOptions& opts = {}) {
    StringReader r(bytes);
    return ApplyToDir(r, root_, mode, opts);
  }
  bool OutsideEmpty() {
    int n = 0;
    for (const auto& d : {outside_}) {
      DIR* dd = opendir(d.c_str());
      while (struct dirent* e = readdir(dd)) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) ++n;
      }
      closedir(dd);
    }
    return n == 0;
  }
  std::string dir_, root_, outside_;
};

TEST_F(ApplyTest, PreservesEverything) {
  TarBuilder tb;
  tb.Dir("etc", 0750);
  tb.Add(TarEntry{
      .path = "etc/conf",
      .perm = 04755,
      .data = "hello",
      .uid = 1000,
      .gid = 1001,
      .mtime = 1234567890,
      .xattrs = {{"user.k", "v"},
                 {"security.capability", std::string("\x01\x00\x00\x02\x00\x04\x00\x00", 8) + std::string(12, '\0')}}});
  tb.Symlink("etc/link", "/etc/conf");
  tb.Hardlink("etc/hard", "etc/conf");
  tb.Add(TarEntry{.path = "dev/null", .type = AE_IFCHR, .perm = 0666, .dev_major = 1, .dev_minor = 3});
  tb.Add(TarEntry{.path = "dev/fifo", .type = AE_IFIFO, .perm = 0600});
  std::string tar = tb.Finish();
  auto r = ApplyBytes(tar);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->diff_id, Sha256::Of(tar));
  EXPECT_EQ(r->size, static_cast<int64_t>(tar.size()));

  struct stat sb;
  ASSERT_EQ(lstat((root_ + "/etc/conf").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 04755u);
  EXPECT_EQ(sb.st_uid, 1000u);
  EXPECT_EQ(sb.st_gid, 1001u);
  EXPECT_EQ(sb.st_mtime, 1234567890);
  EXPECT_EQ(sb.st_nlink, 2u);
  EXPECT_EQ(Slurp(root_ + "/etc/hard"), "hello");
  char buf[64];
  ssize_t n = lgetxattr((root_ + "/etc/conf").c_str(), "user.k", buf, sizeof buf);
  ASSERT_EQ(n, 1);
  EXPECT_EQ(buf[0], 'v');
  EXPECT_EQ(lgetxattr((root_ + "/etc/conf").c_str(), "security.capability", buf, sizeof buf), 20);
  char target[64] = {};
  ASSERT_GT(readlink((root_ + "/etc/link").c_str(), target, sizeof target), 0);
  EXPECT_STREQ(target, "/etc/conf");
  ASSERT_EQ(lstat((root_ + "/etc").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777, 0750u);
  ASSERT_EQ(lstat((root_ + "/dev/null").c_str(), &sb), 0);
  EXPECT_TRUE(S_ISCHR(sb.st_mode));
  EXPECT_EQ(major(sb.st_rdev), 1u);
  EXPECT_EQ(minor(sb.st_rdev), 3u);
  ASSERT_EQ(lstat((root_ + "/dev/fifo").c_str(), &sb), 0);
  EXPECT_TRUE(S_ISFIFO(sb.st_mode));
}

TEST_F(ApplyTest, GzipAndZstdGiveTheUncompressedDigest) {
  for (auto c : {TarCompression::kGzip, TarCompression::kZstd}) {
    TarBuilder plain;
    plain.File("a", "payload").Dir("d").File("d/b", std::string(100000, 'z'));
    std::string uncompressed = plain.Finish();
    TarBuilder comp(c);
    comp.File("a", "payload").Dir("d").File("d/b", std::string(100000, 'z'));
    std::string bytes = comp.Finish();
    ASSERT_NE(bytes, uncompressed);
    ASSERT_TRUE(RemoveAll(root_).ok());
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    auto r = ApplyBytes(bytes);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->diff_id, Sha256::Of(uncompressed));
    EXPECT_EQ(r->size, static_cast<int64_t>(uncompressed.size()));
    EXPECT_EQ(Slurp(root_ + "/d/b"), std::string(100000, 'z'));
  }
}

TEST_F(ApplyTest, WhiteoutsInDeleteMode) {
  auto first = ApplyBytes(TarBuilder()
                              .Dir("d")
                              .File("d/old", "1")
                              .File("d/keep", "k")
                              .File("gone", "g")
                              .Dir("o")
                              .File("o/x", "x")
                              .Finish());
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = ApplyBytes(TarBuilder()
                               .File("d/.wh.old", "")
                               .File(".wh.gone", "")
                               .Dir("o")
                               .File("o/new", "n")
                               .File("o/.wh..wh..opq", "")
                               .Finish());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(Exists(root_ + "/d/old"));
  EXPECT_TRUE(Exists(root_ + "/d/keep"));
  EXPECT_FALSE(Exists(root_ + "/gone"));
  EXPECT_FALSE(Exists(root_ + "/o/x"));
  EXPECT_EQ(Slurp(root_ + "/o/new"), "n");  // unpacked by the same layer: kept
  EXPECT_FALSE(Exists(root_ + "/d/.wh.old"));
}

TEST_F(ApplyTest, WhiteoutsInOverlayMode) {
  auto r = ApplyBytes(TarBuilder()
                          .Dir("d")
                          .Add(TarEntry{.path = "d/.wh.old", .uid = 5, .gid = 6})
                          .File("d/.wh..wh..opq", "")
                          .File("d/new", "n")
                          .Finish(),
                      WhiteoutMode::kOverlay);
  ASSERT_TRUE(r.ok()) << r.status();
  struct stat sb;
  ASSERT_EQ(lstat((root_ + "/d/old").c_str(), &sb), 0);
  EXPECT_TRUE(S_ISCHR(sb.st_mode));
  EXPECT_EQ(sb.st_rdev, makedev(0, 0));
  EXPECT_EQ(sb.st_uid, 5u);
  char v[4] = {};
  ASSERT_EQ(lgetxattr((root_ + "/d").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_EQ(Slurp(root_ + "/d/new"), "n");
  EXPECT_FALSE(Exists(root_ + "/d/.wh..wh..opq"));
}

TEST_F(ApplyTest, ReplacesExistingEntries) {
  ASSERT_TRUE(ApplyBytes(TarBuilder().Dir("x").File("x/f", "1").File("y", "file").Finish()).ok());
  auto r = ApplyBytes(TarBuilder().File("x", "now a file").Symlink("y", "x").Finish());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Slurp(root_ + "/x"), "now a file");
  char t[8] = {};
  ASSERT_EQ(readlink((root_ + "/y").c_str(), t, sizeof t), 1);
}

TEST_F(ApplyTest, RefusesDotDotTraversal) {
  auto r = ApplyBytes(TarBuilder().File("a/../../outside/pwned", "x").Finish());
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_NE(std::string(r.status().message()).find("escapes"), std::string::npos);
  EXPECT_TRUE(OutsideEmpty());
  EXPECT_FALSE(Exists(dir_ + "/pwned"));
}

TEST_F(ApplyTest, AbsolutePathsAreRelativeToTheRoot) {
  auto r = ApplyBytes(TarBuilder().File(outside_ + "/abs", "x").Finish());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(OutsideEmpty());
  EXPECT_EQ(Slurp(root_ + outside_ + "/abs"), "x");
}

TEST_F(ApplyTest, SymlinksAreNeverFollowedOutside) {
  // An absolute and a relative escape, each followed by a file written "through" it.
  auto r = ApplyBytes(TarBuilder().Symlink("abs", outside_).File("abs/pwned", "x").Finish());
  EXPECT_TRUE(OutsideEmpty());
  if (r.ok()) {
    EXPECT_FALSE(Exists(outside_ + "/pwned"));
  }
  auto r2 =
      ApplyBytes(TarBuilder().Symlink("rel", "../../../../../../../../" + outside_).File("rel/pwned2", "x").Finish());
  EXPECT_TRUE(OutsideEmpty());
  // Confined inside the root, the link resolves to <root>/<outside_>, which exists after the
  // absolute-path test above or not; either way nothing is written outside.
  (void)r2;
  // A symlink in the final component is replaced, never written through.
  ASSERT_TRUE(ApplyBytes(TarBuilder().Symlink("f", outside_ + "/target").Finish()).ok());
  auto r3 = ApplyBytes(TarBuilder().File("f", "data").Finish());
  ASSERT_TRUE(r3.ok()) << r3.status();
  EXPECT_TRUE(OutsideEmpty());
  EXPECT_EQ(Slurp(root_ + "/f"), "data");
}

TEST_F(ApplyTest, HardLinksOnlyInsideTheRoot) {
  std::string secret = outside_ + "/secret";
  berth::testing::Spit(secret, "s");
  auto r = ApplyBytes(TarBuilder().Hardlink("pw", secret).Finish());
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  struct stat sb;
  ASSERT_EQ(stat(secret.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_nlink, 1u);
  auto r2 = ApplyBytes(TarBuilder().Hardlink("pw2", "../outside/secret").Finish());
  EXPECT_TRUE(absl::IsInvalidArgument(r2.status())) << r2.status();
  auto r3 = ApplyBytes(TarBuilder().Hardlink("pw3", "/etc/passwd").Finish());
  EXPECT_FALSE(r3.ok());
  ASSERT_EQ(stat(secret.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_nlink, 1u);
}

TEST_F(ApplyTest, TruncatedStreamsAreDataLoss) {
  std::string gz = TarBuilder(TarCompression::kGzip).File("a", std::string(200000, 'q')).Finish();
  auto r = ApplyBytes(gz.substr(0, gz.size() / 2));
  EXPECT_TRUE(absl::IsDataLoss(r.status())) << r.status();
  std::string zs = TarBuilder(TarCompression::kZstd).File("a", std::string(200000, 'q')).Finish();
  auto r2 = ApplyBytes(zs.substr(0, zs.size() - 10));
  EXPECT_TRUE(absl::IsDataLoss(r2.status())) << r2.status();
  std::string plain = TarBuilder().File("a", std::string(200000, 'q')).Finish();
  auto r3 = ApplyBytes(plain.substr(0, 5000));
  EXPECT_TRUE(absl::IsDataLoss(r3.status())) << r3.status();
  EXPECT_TRUE(OutsideEmpty());
}

TEST_F(ApplyTest, HundredThousandEntries) {
  TarBuilder tb(TarCompression::kGzip, /*pax=*/false);
  for (int d = 0; d < 100; ++d) {
    tb.Dir(StrCat("d", d));
    for (int f = 0; f < 1000; ++f) tb.File(StrCat("d", d, "/f", f), "");
  }
  std::string tar = tb.Finish();
  auto r = ApplyBytes(tar);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(Exists(root_ + "/d99/f999"));
  // With a bound below the entry count, it fails cleanly.
  ASSERT_TRUE(RemoveAll(root_).ok());
  ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
  ApplyOptions opts;
  opts.max_entries = 5000;
  auto limited = ApplyBytes(tar, WhiteoutMode::kDelete, opts);
  EXPECT_TRUE(absl::IsResourceExhausted(limited.status())) << limited.status();
}

TEST_F(ApplyTest, SizeBound) {
  ApplyOptions opts;
  opts.max_size = 10000;
  auto r = ApplyBytes(TarBuilder(TarCompression::kGzip).File("big", std::string(1 << 20, 0)).Finish(),
                      WhiteoutMode::kDelete, opts);
  EXPECT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
}

TEST_F(ApplyTest, RatioBound) {
  // 4 MiB of zeros gzip to a few KiB: a ratio far above 100.
  std::string bomb = TarBuilder(TarCompression::kGzip).File("zeros", std::string(4 << 20, 0)).Finish();
  ApplyOptions opts;
  opts.max_ratio = 100;
  opts.ratio_floor = 1 << 20;
  auto r = ApplyBytes(bomb, WhiteoutMode::kDelete, opts);
  EXPECT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("decompression bomb"), std::string::npos) << r.status();
  // Below the floor the ratio is not checked; without a ratio limit the layer applies.
  for (int64_t floor : {int64_t{64} << 20, int64_t{0}}) {
    ASSERT_TRUE(RemoveAll(root_).ok());
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    opts.ratio_floor = floor;
    opts.max_ratio = floor == 0 ? 0 : 100;
    auto ok = ApplyBytes(bomb, WhiteoutMode::kDelete, opts);
    EXPECT_TRUE(ok.ok()) << ok.status();
  }
  // An uncompressed layer has no ratio.
  ASSERT_TRUE(RemoveAll(root_).ok());
  ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
  opts.max_ratio = 2;
  opts.ratio_floor = 0;
  auto plain = ApplyBytes(TarBuilder(TarCompression::kNone).File("zeros", std::string(1 << 20, 0)).Finish(),
                          WhiteoutMode::kDelete, opts);
  EXPECT_TRUE(plain.ok()) << plain.status();
}

TEST_F(ApplyTest, MediaTypes) {
  EXPECT_TRUE(IsLayerMediaType("application/vnd.oci.image.layer.v1.tar+zstd"));
  EXPECT_TRUE(IsLayerMediaType("application/vnd.docker.image.rootfs.diff.tar.gzip"));
  EXPECT_FALSE(IsLayerMediaType("application/vnd.oci.image.manifest.v1+json"));
  StringReader r("");
  auto s = Apply("application/json", r, {snapshotter::Mount{"bind", root_, "", {"rw", "rbind"}}});
  EXPECT_TRUE(absl::IsInvalidArgument(s.status()));
}

// End to end through the overlay snapshotter: layer 1 on a bind mount, layer 2 (with a whiteout
// and an opaque dir) into an overlay upper dir, then a view shows the merged result.
TEST_F(ApplyTest, OverlaySnapshotsEndToEnd) {
  if (!snapshotter::OverlaySupported()) GTEST_SKIP() << "no overlayfs";
  auto sn = snapshotter::OverlaySnapshotter::Open(dir_ + "/ovl");
  ASSERT_TRUE(sn.ok()) << sn.status();
  auto m1 = (*sn)->Prepare("k1", "", {});
  ASSERT_TRUE(m1.ok());
  StringReader l1(TarBuilder(TarCompression::kGzip)
                      .Dir("etc")
                      .File("etc/a", "A")
                      .File("etc/b", "B")
                      .Dir("opq")
                      .File("opq/old", "o")
                      .Finish());
  auto r1 = Apply("application/vnd.oci.image.layer.v1.tar+gzip", l1, *m1);
  ASSERT_TRUE(r1.ok()) << r1.status();
  ASSERT_TRUE((*sn)->Commit("c1", "k1", {}).ok());
  auto m2 = (*sn)->Prepare("k2", "c1", {});
  ASSERT_TRUE(m2.ok());
  ASSERT_EQ((*m2)[0].type, "overlay");
  StringReader l2(TarBuilder(TarCompression::kZstd)
                      .File("etc/.wh.a", "")
                      .Dir("opq")
                      .File("opq/.wh..wh..opq", "")
                      .File("opq/new", "n")
                      .File("sub/deep/file", "d")
                      .Finish());
  auto r2 = Apply("application/vnd.oci.image.layer.v1.tar+zstd", l2, *m2);
  ASSERT_TRUE(r2.ok()) << r2.status();
  ASSERT_TRUE((*sn)->Commit("c2", "k2", {}).ok());
  auto v = (*sn)->View("v", "c2", {});
  ASSERT_TRUE(v.ok());
  std::string mnt = dir_ + "/mnt";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  ASSERT_TRUE(snapshotter::MountAll(*v, mnt).ok());
  EXPECT_FALSE(Exists(mnt + "/etc/a"));
  EXPECT_EQ(Slurp(mnt + "/etc/b"), "B");
  EXPECT_FALSE(Exists(mnt + "/opq/old"));
  EXPECT_EQ(Slurp(mnt + "/opq/new"), "n");
  EXPECT_EQ(Slurp(mnt + "/sub/deep/file"), "d");
  ASSERT_TRUE(snapshotter::UnmountAll(mnt).ok());
}

}  // namespace
}  // namespace berth::diff
