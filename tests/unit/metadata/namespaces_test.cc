#include "metadata/namespaces.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/fs.h"

namespace berth::metadata {
namespace {

class NamespacesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-meta-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    ASSERT_TRUE(RemoveAll(dir_).ok());
  }
  void Reopen() {
    store_.reset();
    db_.reset();
    auto db = Db::Open(dir_ + "/meta.db");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    store_ = std::make_unique<NamespaceStore>(*db_);
  }
  std::string dir_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<NamespaceStore> store_;
};

TEST_F(NamespacesTest, SchemaIsMigrated) { EXPECT_GE(db_->schema_version(), 1); }

TEST_F(NamespacesTest, GetOfUnknownNamespaceIsEmptyNotNotFound) {
  auto ns = store_->Get("never-created");
  ASSERT_TRUE(ns.ok()) << ns.status();
  EXPECT_EQ(ns->name, "never-created");
  EXPECT_TRUE(ns->labels.empty());
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Get("bad/name").status()));
}

TEST_F(NamespacesTest, CreateListDuplicateAndPersist) {
  ASSERT_TRUE(store_->Create({"a", {{"k", "v"}}}).ok());
  auto dup = store_->Create({"a", {}});
  EXPECT_TRUE(absl::IsAlreadyExists(dup.status())) << dup.status();
  Reopen();
  auto all = store_->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].name, "a");
  EXPECT_EQ((*all)[0].labels.at("k"), "v");
}

TEST_F(NamespacesTest, UpdateMasks) {
  ASSERT_TRUE(store_->Create({"a", {{"x", "1"}, {"y", "2"}}}).ok());
  auto u = store_->Update({"a", {{"x", "9"}, {"z", "3"}}}, {"labels.x"});
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->labels, (Labels{{"x", "9"}, {"y", "2"}}));
  u = store_->Update({"a", {{"y", ""}}}, {"labels.y"});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->labels, (Labels{{"x", "9"}}));
  u = store_->Update({"a", {{"q", "1"}}}, {"labels"});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->labels, (Labels{{"q", "1"}}));
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Update({"a", {}}, {"name"}).status()));
  // Updating an implicit namespace records it.
  ASSERT_TRUE(store_->Update({"implicit", {{"k", "v"}}}, {"labels.k"}).ok());
  EXPECT_EQ(store_->List()->size(), 2u);
}

TEST_F(NamespacesTest, DeleteRefusesNonEmpty) {
  ASSERT_TRUE(store_->Create({"a", {}}).ok());
  ASSERT_TRUE(db_->Update([](Tx& tx) -> Status {
                  ASSIGN_OR_RETURN(Stmt st, tx.Prepare("INSERT INTO images(namespace,name,target_media_type,"
                                                       "target_digest,target_size,created_at,updated_at) "
                                                       "VALUES('a','img','m','d',1,0,0)"));
                  return st.Run();
                }).ok());
  Status s = store_->Delete("a");
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("images"), std::string::npos);
  EXPECT_TRUE(absl::IsNotFound(store_->Delete("missing")));
}

TEST_F(NamespacesTest, LabelSizeLimit) {
  auto s = store_->Create({"a", {{"k", std::string(5000, 'v')}}});
  EXPECT_TRUE(absl::IsInvalidArgument(s.status()));
}

}  // namespace
}  // namespace berth::metadata
