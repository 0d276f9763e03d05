// Conformance suite for snapshotter backends, run against overlay and native (containerd's
// snapshots/testsuite in spirit). Needs root (mounting); overlay also needs overlayfs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <functional>
#include <memory>

#include "common/fs.h"
#include "snapshotter/native.h"
#include "snapshotter/overlay.h"
#include "tests/unit/snapshotter/testutil.h"

namespace berth::snapshotter {
namespace {

using berth::testing::Exists;
using berth::testing::MakeTempDir;
using berth::testing::Slurp;
using berth::testing::Spit;

struct Backend {
  std::string name;
  std::function<StatusOr<std::unique_ptr<Snapshotter>>(const std::string&)> open;
};

std::vector<Backend> Backends() {
  return {
      {"overlay",
       [](const std::string& root) -> StatusOr<std::unique_ptr<Snapshotter>> {
         ASSIGN_OR_RETURN(auto s, OverlaySnapshotter::Open(root));
         return std::unique_ptr<Snapshotter>(std::move(s));
       }},
      {"native",
       [](const std::string& root) -> StatusOr<std::unique_ptr<Snapshotter>> {
         ASSIGN_OR_RETURN(auto s, NativeSnapshotter::Open(root));
         return std::unique_ptr<Snapshotter>(std::move(s));
       }},
  };
}

class SnapshotterTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (GetParam().name == "overlay" && !OverlaySupported()) GTEST_SKIP() << "no overlayfs";
    dir_ = MakeTempDir("berth-snap");
    ASSERT_FALSE(dir_.empty());
    root_ = dir_ + "/root";
    auto s = GetParam().open(root_);
    ASSERT_TRUE(s.ok()) << s.status();
    sn_ = std::move(*s);
    mnt_ = dir_ + "/mnt";
    ASSERT_EQ(mkdir(mnt_.c_str(), 0755), 0);
  }
  void TearDown() override {
    if (dir_.empty()) return;
    (void)UnmountAll(mnt_);
    sn_.reset();
    EXPECT_TRUE(RemoveAll(dir_).ok());
  }

  // Mounts `mounts` on mnt_, runs fn, unmounts.
  void WithMounted(const std::vector<Mount>& mounts, const std::function<void(const std::string&)>& fn) {
    Status s = MountAll(mounts, mnt_);
    ASSERT_TRUE(s.ok()) << s;
    fn(mnt_);
    ASSERT_TRUE(UnmountAll(mnt_).ok());
  }

  // Prepares `key` on `parent`, writes files into it, commits it as `name`.
  void Layer(const std::string& name, const std::string& parent, const std::map<std::string, std::string>& files) {
    std::string key = "prep-" + name;
    auto m = sn_->Prepare(key, parent, {});
    ASSERT_TRUE(m.ok()) << m.status();
    WithMounted(*m, [&](const std::string& root) {
      for (const auto& [p, data] : files) Spit(root + "/" + p, data);
    });
    Status c = sn_->Commit(name, key, {{"layer", name}});
    ASSERT_TRUE(c.ok()) << c;
  }

  std::string dir_, root_, mnt_;
  std::unique_ptr<Snapshotter> sn_;
};

TEST_P(SnapshotterTest, PrepareCommitViewRoundTrip) {
  Layer("base", "", {{"a", "A"}, {"b", "B"}});
  Layer("top", "base", {{"c", "C"}, {"a", "A2"}});
  auto info = sn_->Stat("top");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->kind, Kind::kCommitted);
  EXPECT_EQ(info->parent, "base");
  EXPECT_EQ(info->labels.at("layer"), "top");
  EXPECT_GT(info->created_at, 0);

  auto view = sn_->View("v", "top", {});
  ASSERT_TRUE(view.ok()) << view.status();
  WithMounted(*view, [&](const std::string& root) {
    EXPECT_EQ(Slurp(root + "/a"), "A2");
    EXPECT_EQ(Slurp(root + "/b"), "B");
    EXPECT_EQ(Slurp(root + "/c"), "C");
  });
  auto vi = sn_->Stat("v");
  ASSERT_TRUE(vi.ok());
  EXPECT_EQ(vi->kind, Kind::kView);
  // The prepared key is gone once committed.
  EXPECT_TRUE(absl::IsNotFound(sn_->Stat("prep-top").status()));
}

TEST_P(SnapshotterTest, ActiveOnParentsSeesThemAndWritesOnTop) {
  Layer("l1", "", {{"f", "1"}});
  Layer("l2", "l1", {{"g", "2"}});
  auto m = sn_->Prepare("work", "l2", {});
  ASSERT_TRUE(m.ok());
  WithMounted(*m, [&](const std::string& root) {
    EXPECT_EQ(Slurp(root + "/f"), "1");
    EXPECT_EQ(Slurp(root + "/g"), "2");
    Spit(root + "/h", "3");
  });
  // Mounts() returns the same mounts again.
  auto again = sn_->Mounts("work");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *m);
  WithMounted(*again, [&](const std::string& root) { EXPECT_EQ(Slurp(root + "/h"), "3"); });
}

TEST_P(SnapshotterTest, ErrorsMatchContainerd) {
  Layer("base", "", {{"a", "A"}});
  EXPECT_TRUE(absl::IsAlreadyExists(sn_->Prepare("base", "", {}).status()));
  ASSERT_TRUE(sn_->Prepare("k", "", {}).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(sn_->Prepare("k", "", {}).status()));
  EXPECT_TRUE(absl::IsAlreadyExists(sn_->View("k", "base", {}).status()));
  EXPECT_TRUE(absl::IsNotFound(sn_->Prepare("k2", "missing", {}).status()));
  EXPECT_TRUE(absl::IsNotFound(sn_->Stat("missing").status()));
  EXPECT_TRUE(absl::IsNotFound(sn_->Mounts("missing").status()));
  EXPECT_TRUE(absl::IsNotFound(sn_->Remove("missing")));
  EXPECT_TRUE(absl::IsNotFound(sn_->Commit("x", "missing", {})));
  // Committing onto an existing name.
  EXPECT_TRUE(absl::IsAlreadyExists(sn_->Commit("base", "k", {})));
  // A parent that is not committed.
  EXPECT_FALSE(sn_->Prepare("k3", "k", {}).ok());
  // Committing a committed snapshot or a view.
  EXPECT_TRUE(absl::IsFailedPrecondition(sn_->Commit("y", "base", {})));
  ASSERT_TRUE(sn_->View("v", "base", {}).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(sn_->Commit("y", "v", {})));
  // Removing a parent with children.
  EXPECT_TRUE(absl::IsFailedPrecondition(sn_->Remove("base")));
  ASSERT_TRUE(sn_->Remove("v").ok());
  EXPECT_TRUE(sn_->Remove("base").ok());
  EXPECT_TRUE(absl::IsNotFound(sn_->Stat("base").status()));
}

TEST_P(SnapshotterTest, UpdateLabelsWithFieldPaths) {
  ASSERT_TRUE(sn_->Prepare("k", "", {{"a", "1"}, {"b", "2"}}).ok());
  Info in;
  in.name = "k";
  in.labels = {{"b", "20"}, {"c", "3"}};
  auto out = sn_->Update(in, {"labels.b", "labels.a"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->labels, (Labels{{"b", "20"}}));
  out = sn_->Update(in, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->labels, (Labels{{"b", "20"}, {"c", "3"}}));
  EXPECT_TRUE(absl::IsInvalidArgument(sn_->Update(in, {"parent"}).status()));
  in.name = "missing";
  EXPECT_TRUE(absl::IsNotFound(sn_->Update(in, {}).status()));
}

TEST_P(SnapshotterTest, UsageCountsOwnLayer) {
  auto m = sn_->Prepare("k", "", {});
  ASSERT_TRUE(m.ok());
  WithMounted(*m, [&](const std::string& root) { Spit(root + "/big", std::string(1 << 20, 'x')); });
  auto u = sn_->GetUsage("k");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_GE(u->size, 1 << 20);
  EXPECT_EQ(u->inodes, 2);  // the directory and the file
  ASSERT_TRUE(sn_->Commit("c", "k", {}).ok());
  auto uc = sn_->GetUsage("c");
  ASSERT_TRUE(uc.ok());
  EXPECT_EQ(uc->size, u->size);
  EXPECT_EQ(uc->inodes, 2);
}

TEST_P(SnapshotterTest, WalkListsEverySnapshot) {
  Layer("base", "", {{"a", "A"}});
  ASSERT_TRUE(sn_->Prepare("act", "base", {}).ok());
  ASSERT_TRUE(sn_->View("vw", "base", {}).ok());
  std::map<std::string, Info> seen;
  ASSERT_TRUE(sn_->Walk([&](const Info& i) {
                   seen[i.name] = i;
                   return Status();
                 })
                  .ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen["base"].kind, Kind::kCommitted);
  EXPECT_EQ(seen["act"].kind, Kind::kActive);
  EXPECT_EQ(seen["act"].parent, "base");
  EXPECT_EQ(seen["vw"].kind, Kind::kView);
}

TEST_P(SnapshotterTest, CleanupRemovesDirectoriesWithoutMetadata) {
  Layer("base", "", {{"a", "A"}});
  std::string snaps = root_ + "/snapshots";
  ASSERT_EQ(mkdir((snaps + "/new-crashed").c_str(), 0700), 0);
  ASSERT_EQ(mkdir((snaps + "/9999").c_str(), 0700), 0);
  Spit(snaps + "/9999/junk", "x");
  ASSERT_TRUE(sn_->Cleanup().ok());
  EXPECT_FALSE(Exists(snaps + "/new-crashed"));
  EXPECT_FALSE(Exists(snaps + "/9999"));
  EXPECT_TRUE(sn_->Stat("base").ok());
  auto v = sn_->View("v", "base", {});
  ASSERT_TRUE(v.ok());
  WithMounted(*v, [&](const std::string& root) { EXPECT_EQ(Slurp(root + "/a"), "A"); });
}

TEST_P(SnapshotterTest, RemoveDeletesTheDirectory) {
  auto m = sn_->Prepare("k", "", {});
  ASSERT_TRUE(m.ok());
  std::string src = (*m)[0].type == "bind" ? (*m)[0].source : "";
  ASSERT_FALSE(src.empty());
  ASSERT_TRUE(Exists(src));
  ASSERT_TRUE(sn_->Remove("k").ok());
  EXPECT_FALSE(Exists(src));
  EXPECT_FALSE(Exists(DirName(src)));
}

TEST_P(SnapshotterTest, SurvivesReopen) {
  Layer("base", "", {{"a", "A"}});
  sn_.reset();
  auto s = GetParam().open(root_);
  ASSERT_TRUE(s.ok());
  sn_ = std::move(*s);
  auto i = sn_->Stat("base");
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(i->kind, Kind::kCommitted);
  // Ids are not reused after a removal.
  ASSERT_TRUE(sn_->Prepare("x", "", {}).ok());
  auto m1 = sn_->Mounts("x");
  ASSERT_TRUE(sn_->Remove("x").ok());
  auto m2 = sn_->Prepare("x", "", {});
  ASSERT_TRUE(m1.ok() && m2.ok());
  EXPECT_NE((*m1)[0].source, (*m2)[0].source);
}

INSTANTIATE_TEST_SUITE_P(Backends, SnapshotterTest, ::testing::ValuesIn(Backends()),
                         [](const ::testing::TestParamInfo<Backend>& i) { return i.param.name; });

// Mount shapes are specific to overlay: they must match containerd's exactly.
class OverlayMountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || !OverlaySupported()) GTEST_SKIP() << "needs root and overlayfs";
    dir_ = MakeTempDir("berth-ovl");
    auto s = OverlaySnapshotter::Open(dir_ + "/root");
    ASSERT_TRUE(s.ok()) << s.status();
    sn_ = std::move(*s);
  }
  void TearDown() override {
    if (dir_.empty()) return;
    sn_.reset();
    EXPECT_TRUE(RemoveAll(dir_).ok());
  }
  std::string dir_;
  std::unique_ptr<OverlaySnapshotter> sn_;
};

TEST_F(OverlayMountsTest, ShapesAsContainerd) {
  auto m = sn_->Prepare("k1", "", {});
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].type, "bind");
  EXPECT_EQ((*m)[0].source, sn_->UpperPath(1));
  EXPECT_EQ((*m)[0].options, (std::vector<std::string>{"rw", "rbind"}));
  ASSERT_TRUE(sn_->Commit("c1", "k1", {}).ok());

  auto v1 = sn_->View("v1", "c1", {});
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ((*v1)[0].type, "bind");
  EXPECT_EQ((*v1)[0].source, sn_->UpperPath(1));
  EXPECT_EQ((*v1)[0].options, (std::vector<std::string>{"ro", "rbind"}));

  auto k2 = sn_->Prepare("k2", "c1", {});
  ASSERT_TRUE(k2.ok());
  ASSERT_TRUE(sn_->Commit("c2", "k2", {}).ok());
  auto k3 = sn_->Prepare("k3", "c2", {});
  ASSERT_TRUE(k3.ok());
  ASSERT_EQ(k3->size(), 1u);
  const Mount& o = (*k3)[0];
  EXPECT_EQ(o.type, "overlay");
  EXPECT_EQ(o.source, "overlay");
  EXPECT_EQ(MountOption(o, "lowerdir"), sn_->UpperPath(3) + ":" + sn_->UpperPath(1));
  EXPECT_EQ(MountOption(o, "upperdir"), sn_->UpperPath(4));
  EXPECT_EQ(MountOption(o, "workdir"), sn_->WorkPath(4));
  struct stat sb;
  if (stat("/sys/module/overlay/parameters/index", &sb) == 0) {
    EXPECT_EQ(o.options.front(), "index=off");
  }

  auto v2 = sn_->View("v2", "c2", {});
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ((*v2)[0].type, "overlay");
  EXPECT_EQ(MountOption((*v2)[0], "upperdir"), "");
  EXPECT_EQ(MountOption((*v2)[0], "lowerdir"), sn_->UpperPath(3) + ":" + sn_->UpperPath(1));
}

TEST_F(OverlayMountsTest, SingleOverlayAcceptsAnExtraRo) {
  // ctr appends "ro" to a single overlay mount when it mounts a snapshot itself.
  auto k = sn_->Prepare("k", "", {});
  ASSERT_TRUE(k.ok());
  berth::testing::Spit((*k)[0].source + "/f", "x");
  ASSERT_TRUE(sn_->Commit("c", "k", {}).ok());
  auto a = sn_->Prepare("a", "c", {});
  ASSERT_TRUE(a.ok());
  std::vector<Mount> ms = *a;
  ms[0].options.push_back("ro");
  std::string mnt = dir_ + "/mnt";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  Status s = MountAll(ms, mnt);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Slurp(mnt + "/f"), "x");
  EXPECT_NE(access((mnt + "/g").c_str(), F_OK), 0);
  FILE* f = fopen((mnt + "/g").c_str(), "w");
  EXPECT_EQ(f, nullptr);  // read-only
  if (f) fclose(f);
  ASSERT_TRUE(UnmountAll(mnt).ok());
}

}  // namespace
}  // namespace berth::snapshotter
