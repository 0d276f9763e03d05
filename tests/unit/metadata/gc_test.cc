#include "metadata/gc.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "metadata/images.h"
#include "metadata/leases.h"
#include "tests/unit/metadata/test_db.h"

namespace berth::metadata {
namespace {

std::string D(char c) { return "sha256:" + std::string(64, c); }

class GcTest : public TempDbTest {
 protected:
  void SetUp() override {
    TempDbTest::SetUp();
    GarbageCollector::Backends b;
    b.remove_blob = [this](const std::string& d) {
      removed_blobs_.push_back(d);
      return Status();
    };
    b.remove_snapshot = [this](const std::string& ns, const std::string& ss, const std::string& key) {
      removed_snaps_.push_back(ns + "/" + ss + "/" + key);
      std::string sql = "DELETE FROM snapshots WHERE namespace='" + ns + "' AND snapshotter='" + ss +
                        "' AND key='" + key + "'";
      return db_->Update([&](Tx& tx) { return tx.Exec(sql); });
    };
    b.content_deleted = [this](const std::string& ns, const std::string& d) { deleted_events_.push_back(ns + " " + d); };
    gc_ = std::make_unique<GarbageCollector>(*db_, b, /*period_ms=*/0);
  }
  void TearDown() override {
    gc_.reset();
    TempDbTest::TearDown();
  }
  void Blob(const std::string& ns, const std::string& d, const Labels& labels = {}) {
    Sql("INSERT INTO content(namespace, digest, size, created_at, updated_at) VALUES('" + ns + "','" + d +
        "',1,1,1)");
    if (!labels.empty()) SetLabels(ns, "content", d, labels);
  }
  void Snap(const std::string& ns, const std::string& key, const std::string& parent, const Labels& labels = {}) {
    Sql("INSERT INTO snapshots(namespace, snapshotter, key, backend_key, parent, kind, created_at, updated_at)"
        " VALUES('" + ns + "','overlayfs','" + key + "','b/" + key + "','" + parent + "',3,1,1)");
    if (!labels.empty()) SetLabels(ns, "snapshot", "overlayfs/" + key, labels);
  }
  void Image(const std::string& ns, const std::string& name, const std::string& target) {
    ImageStore s(*db_);
    metadata::Image im;
    im.name = name;
    im.target = {"application/vnd.oci.image.manifest.v1+json", target, 10, {}};
    ASSERT_TRUE(s.Create(ns, im).ok());
  }
  std::vector<std::string> Blobs(const std::string& ns) {
    std::vector<std::string> out;
    EXPECT_TRUE(db_->View([&](Tx& tx) -> Status {
                     ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT digest FROM content WHERE namespace=?1 ORDER BY digest"));
                     st.Bind(1, ns);
                     for (;;) {
                       ASSIGN_OR_RETURN(bool row, st.Step());
                       if (!row) break;
                       out.push_back(st.Text(0));
                     }
                     return Status();
                   }).ok());
    return out;
  }
  std::vector<std::string> Snaps(const std::string& ns) {
    std::vector<std::string> out;
    EXPECT_TRUE(db_->View([&](Tx& tx) -> Status {
                     ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT key FROM snapshots WHERE namespace=?1 ORDER BY key"));
                     st.Bind(1, ns);
                     for (;;) {
                       ASSIGN_OR_RETURN(bool row, st.Step());
                       if (!row) break;
                       out.push_back(st.Text(0));
                     }
                     return Status();
                   }).ok());
    return out;
  }
  // An image: index -> manifest -> config (+ snapshot ref) + two layers, unpacked as s1 <- s2.
  void PulledImage(const std::string& ns) {
    Blob(ns, D('1'), {{"containerd.io/gc.ref.content.m.0", D('2')}});
    Blob(ns, D('2'), {{"containerd.io/gc.ref.content.config", D('3')},
                      {"containerd.io/gc.ref.content.l.0", D('4')},
                      {"containerd.io/gc.ref.content.l.1", D('5')}});
    Blob(ns, D('3'), {{"containerd.io/gc.ref.snapshot.overlayfs", "s2"}});
    Blob(ns, D('4'));
    Blob(ns, D('5'));
    Snap(ns, "s1", "");
    Snap(ns, "s2", "s1");
  }

  std::unique_ptr<GarbageCollector> gc_;
  std::vector<std::string> removed_blobs_, removed_snaps_, deleted_events_;
};

TEST_F(GcTest, ImageKeepsItsWholeGraph) {
  PulledImage("default");
  Blob("default", D('9'));  // unreferenced
  Snap("default", "orphan", "");
  Image("default", "img", D('1'));
  auto st = gc_->CollectNow();
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(Blobs("default"), (std::vector<std::string>{D('1'), D('2'), D('3'), D('4'), D('5')}));
  EXPECT_EQ(Snaps("default"), (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(removed_blobs_, (std::vector<std::string>{D('9')}));
  EXPECT_EQ(removed_snaps_, (std::vector<std::string>{"default/overlayfs/orphan"}));
  EXPECT_EQ(deleted_events_, (std::vector<std::string>{"default " + D('9')}));
}

TEST_F(GcTest, DeletingTheImageFreesEverythingChildrenFirst) {
  PulledImage("default");
  Snap("default", "s3", "s2");
  Image("default", "img", D('1'));
  ASSERT_TRUE(ImageStore(*db_).Delete("default", "img").ok());
  ASSERT_TRUE(gc_->CollectNow().ok());
  EXPECT_TRUE(Blobs("default").empty());
  EXPECT_TRUE(Snaps("default").empty());
  EXPECT_EQ(removed_blobs_.size(), 5u);
  EXPECT_EQ(removed_snaps_, (std::vector<std::string>{"default/overlayfs/s3", "default/overlayfs/s2",
                                                      "default/overlayfs/s1"}));
}

TEST_F(GcTest, BlobSharedWithAnotherNamespaceStaysOnDisk) {
  PulledImage("a");
  PulledImage("b");
  Image("b", "img", D('1'));
  ASSERT_TRUE(gc_->CollectNow().ok());
  EXPECT_TRUE(Blobs("a").empty());
  EXPECT_EQ(Blobs("b").size(), 5u);
  EXPECT_TRUE(removed_blobs_.empty());  // rows gone in "a", files still used by "b"
  EXPECT_EQ(deleted_events_.size(), 5u);
}

TEST_F(GcTest, LeaseKeepsResourcesUntilDeletedOrExpired) {
  LeaseStore leases(*db_);
  ASSERT_TRUE(leases.Create("default", Lease{"pull", 0, {}}).ok());
  ASSERT_TRUE(leases.Create("default", Lease{"old", 0, {{kLabelGcExpire, "2000-01-01T00:00:00Z"}}}).ok());
  ASSERT_TRUE(leases.Create("default", Lease{"future", 0, {{kLabelGcExpire, "2999-01-01T00:00:00Z"}}}).ok());
  PulledImage("default");
  Blob("default", D('a'));
  Blob("default", D('b'));
  ASSERT_TRUE(leases.AddResource("default", "pull", {D('1'), "content"}).ok());
  ASSERT_TRUE(leases.AddResource("default", "old", {D('a'), "content"}).ok());
  ASSERT_TRUE(leases.AddResource("default", "future", {D('b'), "content"}).ok());
  auto st = gc_->CollectNow();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(Blobs("default").size(), 6u);  // the image graph + b; a went with the expired lease
  EXPECT_EQ(st->leases, (std::vector<std::pair<std::string, std::string>>{{"default", "old"}}));
  auto ls = leases.List("default", {});
  ASSERT_TRUE(ls.ok());
  EXPECT_EQ(ls->size(), 2u);
  ASSERT_TRUE(leases.Delete("default", "pull").ok());
  ASSERT_TRUE(gc_->CollectNow().ok());
  EXPECT_EQ(Blobs("default"), (std::vector<std::string>{D('b')}));
}

TEST_F(GcTest, LeasedSnapshotKeepsParents) {
  LeaseStore leases(*db_);
  ASSERT_TRUE(leases.Create("default", Lease{"l", 0, {}}).ok());
  Snap("default", "base", "");
  Snap("default", "extract-1 top", "base");
  ASSERT_TRUE(leases.AddResource("default", "l", {"extract-1 top", "snapshots/overlayfs"}).ok());
  ASSERT_TRUE(gc_->CollectNow().ok());
  EXPECT_EQ(Snaps("default").size(), 2u);
}

TEST_F(GcTest, RootLabelsAndIngestsAndContainers) {
  Blob("default", D('1'), {{kLabelGcRoot, "x"}, {"containerd.io/gc.ref.content", D('2')}});
  Blob("default", D('2'));
  Blob("default", D('3'));  // the expected blob of an ingest in progress
  Blob("default", D('4'));  // unreferenced
  Sql("INSERT INTO ingests(namespace, ref, expected, created_at) VALUES('default','layer-x','" + D('3') + "',1)");
  Snap("default", "rootsnap", "", {{kLabelGcRoot, "1"}});
  Snap("default", "cparent", "");
  Snap("default", "ctr1", "cparent");
  Sql("INSERT INTO containers(namespace, id, snapshotter, snapshot_key, created_at, updated_at)"
      " VALUES('default','c1','overlayfs','ctr1',1,1)");
  Blob("default", D('5'));
  SetLabels("default", "container", "c1", {{"containerd.io/gc.ref.content.spec", D('5')}});
  ASSERT_TRUE(gc_->CollectNow().ok());
  EXPECT_EQ(Blobs("default"), (std::vector<std::string>{D('1'), D('2'), D('3'), D('5')}));
  EXPECT_EQ(Snaps("default"), (std::vector<std::string>{"cparent", "ctr1", "rootsnap"}));
}

TEST_F(GcTest, ScheduleRunsInTheBackground) {
  Blob("default", D('9'));
  gc_->Schedule();
  for (int i = 0; i < 500 && !Blobs("default").empty(); ++i) usleep(10000);
  EXPECT_TRUE(Blobs("default").empty());
}

}  // namespace
}  // namespace berth::metadata
