#include "metadata/leases.h"

#include <gtest/gtest.h>

#include "tests/unit/metadata/test_db.h"

namespace berth::metadata {
namespace {

const std::string kDigestA = "sha256:" + std::string(64, 'a');

class LeasesTest : public TempDbTest {
 protected:
  void SetUp() override {
    TempDbTest::SetUp();
    store_ = std::make_unique<LeaseStore>(*db_);
  }
  std::unique_ptr<LeaseStore> store_;
};

TEST_F(LeasesTest, CreateWithGivenAndGeneratedIds) {
  auto l = store_->Create("default", Lease{"my-lease", 0, {{"containerd.io/gc.expire", "2100-01-01T00:00:00Z"}}});
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_EQ(l->id, "my-lease");
  EXPECT_GT(l->created_at, 0);
  EXPECT_TRUE(absl::IsAlreadyExists(store_->Create("default", Lease{"my-lease", 0, {}}).status()));
  auto gen = store_->Create("default", Lease{});
  ASSERT_TRUE(gen.ok());
  EXPECT_FALSE(gen->id.empty());
  EXPECT_NE(gen->id.find('-'), std::string::npos);
  auto all = store_->List("default", {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  auto other = store_->List("other", {});
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->empty());
}

TEST_F(LeasesTest, ListFilters) {
  ASSERT_TRUE(store_->Create("default", Lease{"a", 0, {{"k", "v"}}}).ok());
  ASSERT_TRUE(store_->Create("default", Lease{"b", 0, {}}).ok());
  auto l = store_->List("default", {"id==b"});
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].id, "b");
  l = store_->List("default", {"labels.k==v"});
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].id, "a");
  EXPECT_EQ((*l)[0].labels.at("k"), "v");
}

TEST_F(LeasesTest, Resources) {
  ASSERT_TRUE(store_->Create("default", Lease{"l", 0, {}}).ok());
  EXPECT_TRUE(store_->AddResource("default", "l", {kDigestA, "content"}).ok());
  EXPECT_TRUE(store_->AddResource("default", "l", {kDigestA, "content"}).ok());  // idempotent
  EXPECT_TRUE(store_->AddResource("default", "l", {"extract-1 sha256:x", "snapshots/overlayfs"}).ok());
  EXPECT_TRUE(store_->AddResource("default", "l", {"layer-sha256:x", "ingests"}).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(store_->AddResource("default", "l", {"nope", "content"})));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->AddResource("default", "l", {"k", "snapshots"})));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->AddResource("default", "l", {"k", "snapshots/a/b"})));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->AddResource("default", "l", {"k", "content/x"})));
  EXPECT_TRUE(absl::IsUnimplemented(store_->AddResource("default", "l", {"k", "containers"})));
  EXPECT_TRUE(absl::IsNotFound(store_->AddResource("default", "missing", {kDigestA, "content"})));
  auto rs = store_->ListResources("default", "l");
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(rs->size(), 3u);
  EXPECT_TRUE(store_->DeleteResource("default", "l", {kDigestA, "content"}).ok());
  rs = store_->ListResources("default", "l");
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(rs->size(), 2u);
  EXPECT_TRUE(absl::IsNotFound(store_->ListResources("default", "missing").status()));
  EXPECT_TRUE(store_->Delete("default", "l").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Delete("default", "l")));
  // A recreated lease starts empty.
  ASSERT_TRUE(store_->Create("default", Lease{"l", 0, {}}).ok());
  rs = store_->ListResources("default", "l");
  ASSERT_TRUE(rs.ok());
  EXPECT_TRUE(rs->empty());
}

TEST_F(LeasesTest, AttachToLease) {
  ASSERT_TRUE(store_->Create("default", Lease{"l", 0, {}}).ok());
  Status s = db_->Update([&](Tx& tx) { return AttachToLease(tx, "default", "l", "content", kDigestA); });
  EXPECT_TRUE(s.ok()) << s;
  s = db_->Update([&](Tx& tx) { return AttachToLease(tx, "default", "", "content", kDigestA); });
  EXPECT_TRUE(s.ok());
  s = db_->Update([&](Tx& tx) { return AttachToLease(tx, "default", "gone", "content", kDigestA); });
  EXPECT_TRUE(absl::IsNotFound(s));
  auto rs = store_->ListResources("default", "l");
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(*rs, (std::vector<LeaseResource>{{kDigestA, "content"}}));
}

TEST(Rfc3339, Parses) {
  auto t = ParseRfc3339("1970-01-01T00:00:01Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, 1000000000);
  t = ParseRfc3339("1970-01-01T01:00:01.5+01:00");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, 1500000000);
  t = ParseRfc3339("2026-11-26T14:12:08.123456789-02:30");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(ParseRfc3339("tomorrow").ok());
  EXPECT_FALSE(ParseRfc3339("2026-11-26T14:12:08").ok());
  EXPECT_FALSE(ParseRfc3339("2026-11-26 14:12:08Z").ok());
}

TEST(LeaseId, LooksLikeCtrs) {
  std::string id = GenerateLeaseId();
  ASSERT_GE(id.size(), 6u);
  EXPECT_EQ(id[id.size() - 5], '-') << id;
}

}  // namespace
}  // namespace berth::metadata
