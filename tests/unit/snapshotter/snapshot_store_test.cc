// metadata::SnapshotStore: namespacing, backend keys, leases, orphans.
#include <gtest/gtest.h>
#include <unistd.h>

#include "metadata/snapshots.h"
#include "snapshotter/native.h"
#include "tests/unit/snapshotter/testutil.h"

namespace berth::metadata {
namespace {

using snapshotter::Info;
using snapshotter::Kind;

class SnapshotStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (the native snapshotter preserves owners)";
    dir_ = berth::testing::MakeTempDir("berth-sstore");
    auto db = Db::Open(dir_ + "/meta.db");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    auto be = snapshotter::NativeSnapshotter::Open(dir_ + "/native");
    ASSERT_TRUE(be.ok()) << be.status();
    backend_ = std::move(*be);
    store_ = std::make_unique<SnapshotStore>(*db_, "native", *backend_);
  }
  void TearDown() override {
    if (dir_.empty()) return;
    store_.reset();
    backend_.reset();
    db_.reset();
    EXPECT_TRUE(RemoveAll(dir_).ok());
  }
  std::vector<std::string> BackendKeys() {
    std::vector<std::string> out;
    EXPECT_TRUE(backend_
                    ->Walk([&](const Info& i) {
                      out.push_back(i.name);
                      return Status();
                    })
                    .ok());
    return out;
  }
  std::vector<std::string> LeaseResources(const std::string& ns, const std::string& lease) {
    std::vector<std::string> out;
    EXPECT_TRUE(db_->View([&](Tx& tx) -> Status {
                     ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT type, id FROM lease_resources WHERE namespace=?1 "
                                                          "AND lease=?2 ORDER BY id"));
                     st.Bind(1, ns).Bind(2, lease);
                     for (;;) {
                       ASSIGN_OR_RETURN(bool row, st.Step());
                       if (!row) break;
                       out.push_back(st.Text(0) + " " + st.Text(1));
                     }
                     return Status();
                   })
                    .ok());
    return out;
  }

  std::string dir_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<snapshotter::NativeSnapshotter> backend_;
  std::unique_ptr<SnapshotStore> store_;
};

TEST_F(SnapshotStoreTest, NamespacesAreIsolated) {
  ASSERT_TRUE(store_->Prepare("a", "", "k", "", {{"x", "1"}}).ok());
  ASSERT_TRUE(store_->Commit("a", "", "layer", "k", {}).ok());
  // The same names in another namespace are independent.
  EXPECT_TRUE(absl::IsNotFound(store_->Stat("b", "layer").status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Prepare("b", "", "k2", "layer", {}).status()));
  ASSERT_TRUE(store_->Prepare("b", "", "k", "", {}).ok());
  ASSERT_TRUE(store_->Commit("b", "", "layer", "k", {}).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(store_->Prepare("a", "", "layer", "", {}).status()));

  auto keys = BackendKeys();
  ASSERT_EQ(keys.size(), 2u);
  for (const auto& k : keys) EXPECT_TRUE(k.rfind("a/", 0) == 0 || k.rfind("b/", 0) == 0) << k;
  EXPECT_NE(keys[0].substr(keys[0].rfind('/')), "");
  EXPECT_EQ(keys[0].substr(keys[0].rfind('/') + 1), "layer");

  std::vector<std::string> in_a;
  ASSERT_TRUE(store_
                  ->Walk("a",
                         [&](const Info& i) {
                           in_a.push_back(i.name);
                           return Status();
                         })
                  .ok());
  EXPECT_EQ(in_a, std::vector<std::string>{"layer"});
  // Removing in one namespace leaves the other alone.
  ASSERT_TRUE(store_->Remove("a", "layer").ok());
  EXPECT_TRUE(store_->Stat("b", "layer").ok());
  EXPECT_EQ(BackendKeys().size(), 1u);
}

TEST_F(SnapshotStoreTest, InfoParentsKindsAndLabels) {
  ASSERT_TRUE(store_->Prepare("ns", "", "k", "", {}).ok());
  ASSERT_TRUE(store_->Commit("ns", "", "base", "k", {{"l", "v"}}).ok());
  ASSERT_TRUE(store_->View("ns", "", "view", "base", {}).ok());
  ASSERT_TRUE(store_->Prepare("ns", "", "act", "base", {}).ok());
  auto info = store_->Stat("ns", "act");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->parent, "base");
  EXPECT_EQ(info->kind, Kind::kActive);
  auto base = store_->Stat("ns", "base");
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(base->labels.at("l"), "v");
  EXPECT_EQ(base->kind, Kind::kCommitted);
  EXPECT_TRUE(absl::IsNotFound(store_->Stat("ns", "k").status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(store_->Remove("ns", "base")));
  EXPECT_TRUE(absl::IsFailedPrecondition(store_->Commit("ns", "", "x", "view", {})));
  EXPECT_TRUE(absl::IsFailedPrecondition(store_->Mounts("ns", "base").status()));
  EXPECT_TRUE(store_->Mounts("ns", "view").ok());

  Info up;
  up.name = "base";
  up.labels = {{"n", "2"}};
  auto u = store_->Update("ns", up, {"labels.n"});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->labels, (snapshotter::Labels{{"l", "v"}, {"n", "2"}}));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Update("ns", up, {"kind"}).status()));
}

TEST_F(SnapshotStoreTest, LeasesRecordSnapshots) {
  ASSERT_TRUE(db_->Update([](Tx& tx) -> Status {
                   ASSIGN_OR_RETURN(Stmt st,
                                    tx.Prepare("INSERT INTO leases(namespace, id, created_at) VALUES('ns','l1',1)"));
                   return st.Run();
                 })
                  .ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Prepare("ns", "nolease", "k", "", {}).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Stat("ns", "k").status()));
  EXPECT_TRUE(BackendKeys().empty());
  ASSERT_TRUE(store_->Prepare("ns", "l1", "extract-1 sha256:abc", "", {}).ok());
  EXPECT_EQ(LeaseResources("ns", "l1"), std::vector<std::string>{"snapshots/native extract-1 sha256:abc"});
  ASSERT_TRUE(store_->Commit("ns", "l1", "sha256:abc", "extract-1 sha256:abc", {}).ok());
  EXPECT_EQ(LeaseResources("ns", "l1"), std::vector<std::string>{"snapshots/native sha256:abc"});
  ASSERT_TRUE(store_->Remove("ns", "sha256:abc").ok());
  EXPECT_TRUE(LeaseResources("ns", "l1").empty());
}

TEST_F(SnapshotStoreTest, RemoveOrphansReclaimsBackendSnapshots) {
  ASSERT_TRUE(store_->Prepare("ns", "", "k", "", {}).ok());
  // Backend snapshots with no metadata (a crash between backend and metadata writes).
  ASSERT_TRUE(backend_->Prepare("ns/1/lost", "", {}).ok());
  ASSERT_TRUE(backend_->Commit("ns/2/lostbase", "ns/1/lost", {}).ok());
  ASSERT_TRUE(backend_->Prepare("ns/3/lostchild", "ns/2/lostbase", {}).ok());
  auto n = store_->RemoveOrphans();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(BackendKeys().size(), 1u);
  EXPECT_TRUE(store_->Stat("ns", "k").ok());
  EXPECT_TRUE(store_->Cleanup().ok());
}

TEST_F(SnapshotStoreTest, EmptyKeyIsInvalid) {
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Prepare("ns", "", "", "", {}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Commit("ns", "", "", "k", {})));
}

}  // namespace
}  // namespace berth::metadata
