// metadata::ContentStore: namespace visibility, labels, leases and the start-up ingest sweep.
#include "metadata/content.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/fs.h"

namespace berth::metadata {
namespace {

using content::Labels;

class ContentMetaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cmeta-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto local = content::LocalStore::Open(dir_ + "/content");
    ASSERT_TRUE(local.ok());
    local_ = std::move(*local);
    auto db = Db::Open(dir_ + "/meta.db");
    ASSERT_TRUE(db.ok());
    db_ = std::move(*db);
    cs_ = std::make_unique<ContentStore>(*db_, *local_);
  }
  void TearDown() override {
    cs_.reset();
    db_.reset();
    local_.reset();
    ASSERT_TRUE(RemoveAll(dir_).ok());
  }
  Status Write(content::Store& s, const std::string& ref, std::string_view data, const Labels& labels = {},
               bool with_expected = true) {
    std::optional<Digest> expected;
    if (with_expected) expected = Sha256::Of(data);
    auto w = s.OpenWriter({ref, static_cast<int64_t>(data.size()), expected});
    if (!w.ok()) return w.status();
    if ((*w)->GetStatus().offset == 0) RETURN_IF_ERROR((*w)->Write(data));
    return (*w)->Commit(data.size(), Sha256::Of(data), labels);
  }
  void AddLease(const std::string& ns, const std::string& id) {
    ASSERT_TRUE(db_->Update([&](Tx& tx) -> Status {
                     ASSIGN_OR_RETURN(Stmt st, tx.Prepare("INSERT INTO leases(namespace, id, created_at) VALUES(?1,?2,0)"));
                     st.Bind(1, ns).Bind(2, id);
                     return st.Run();
                   }).ok());
  }
  std::vector<std::string> LeaseResources(const std::string& ns, const std::string& lease) {
    std::vector<std::string> out;
    EXPECT_TRUE(db_->View([&](Tx& tx) -> Status {
                   ASSIGN_OR_RETURN(Stmt st, tx.Prepare("SELECT type, id FROM lease_resources WHERE namespace=?1 "
                                                        "AND lease=?2 ORDER BY type, id"));
                   st.Bind(1, ns).Bind(2, lease);
                   for (;;) {
                     ASSIGN_OR_RETURN(bool row, st.Step());
                     if (!row) break;
                     out.push_back(st.Text(0) + ":" + st.Text(1));
                   }
                   return Status();
                 }).ok());
    return out;
  }
  bool OnDisk(const Digest& d) { return ::access(local_->BlobPath(d).c_str(), F_OK) == 0; }

  std::string dir_;
  std::unique_ptr<content::LocalStore> local_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<ContentStore> cs_;
};

TEST_F(ContentMetaTest, BlobIsVisibleOnlyWhereCommitted) {
  auto a = cs_->Namespaced("a");
  auto b = cs_->Namespaced("b");
  ASSERT_TRUE(Write(*a, "r", "shared bytes").ok());
  Digest d = Sha256::Of("shared bytes");
  EXPECT_TRUE(a->GetInfo(d).ok());
  EXPECT_TRUE(absl::IsNotFound(b->GetInfo(d).status()));
  EXPECT_TRUE(absl::IsNotFound(b->OpenReader(d).status()));
  std::vector<std::string> seen;
  ASSERT_TRUE(b->Walk([&](const content::Info& i) { seen.push_back(i.digest.str()); return Status(); }, {}).ok());
  EXPECT_TRUE(seen.empty());
}

TEST_F(ContentMetaTest, WriteWithExpectedDigestVisibleIsAlreadyExists) {
  auto a = cs_->Namespaced("a");
  ASSERT_TRUE(Write(*a, "r", "bytes").ok());
  auto w = a->OpenWriter({"r2", 5, Sha256::Of("bytes")});
  EXPECT_TRUE(absl::IsAlreadyExists(w.status())) << w.status();
}

TEST_F(ContentMetaTest, BlobOnDiskForAnotherNamespaceIsSharedWithoutCopy) {
  auto a = cs_->Namespaced("a");
  auto b = cs_->Namespaced("b");
  ASSERT_TRUE(Write(*a, "r", "shared bytes").ok());
  Digest d = Sha256::Of("shared bytes");
  auto w = b->OpenWriter({"r", 0, d});
  ASSERT_TRUE(w.ok()) << w.status();
  // The ingest reports every byte held, so a client goes straight to commit.
  EXPECT_EQ((*w)->GetStatus().offset, 12);
  EXPECT_EQ((*w)->CurrentDigest(), d);
  ASSERT_TRUE((*w)->Commit(12, d, {{"k", "v"}}).ok());
  auto info = b->GetInfo(d);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->size, 12);
  EXPECT_EQ(info->labels, (Labels{{"k", "v"}}));
  EXPECT_TRUE(a->GetInfo(d)->labels.empty());  // labels are per namespace
}

TEST_F(ContentMetaTest, SharedIngestWithWrongSizeIsNotShared) {
  auto a = cs_->Namespaced("a");
  auto b = cs_->Namespaced("b");
  ASSERT_TRUE(Write(*a, "r", "abc").ok());
  auto w = b->OpenWriter({"r", 4, Sha256::Of("abc")});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->GetStatus().offset, 0);
}

TEST_F(ContentMetaTest, DeleteInOneNamespaceKeepsOthersAndBytesGoWithLastReference) {
  auto a = cs_->Namespaced("a");
  auto b = cs_->Namespaced("b");
  ASSERT_TRUE(Write(*a, "r", "data").ok());
  ASSERT_TRUE(Write(*b, "r", "data").ok());
  Digest d = Sha256::Of("data");
  ASSERT_TRUE(a->Delete(d).ok());
  EXPECT_TRUE(absl::IsNotFound(a->GetInfo(d).status()));
  ASSERT_TRUE(b->GetInfo(d).ok());
  EXPECT_TRUE(OnDisk(d));
  auto r = b->OpenReader(d);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(b->Delete(d).ok());
  EXPECT_FALSE(OnDisk(d));
  EXPECT_TRUE(absl::IsNotFound(b->Delete(d)));
}

TEST_F(ContentMetaTest, DeleteBlobIfUnreferencedKeepsExpectedByIngest) {
  auto a = cs_->Namespaced("a");
  auto b = cs_->Namespaced("b");
  ASSERT_TRUE(Write(*a, "r", "data").ok());
  Digest d = Sha256::Of("data");
  auto w = b->OpenWriter({"r", 0, d});  // shared ingest expecting d
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(a->Delete(d).ok());
  EXPECT_TRUE(OnDisk(d));  // still expected by b's ingest
  ASSERT_TRUE((*w)->Commit(4, d, {}).ok());
  auto r = b->OpenReader(d);
  EXPECT_TRUE(r.ok()) << r.status();
  auto gone = cs_->DeleteBlobIfUnreferenced(d);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(*gone);
}

TEST_F(ContentMetaTest, LabelsUpdateMasks) {
  auto a = cs_->Namespaced("a");
  ASSERT_TRUE(Write(*a, "r", "x", {{"one", "1"}, {"two", "2"}}).ok());
  Digest d = Sha256::Of("x");
  content::Info in;
  in.digest = d;
  in.labels = {{"two", "22"}, {"three", "3"}};
  auto out = a->Update(in, {"labels.two"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->labels, (Labels{{"one", "1"}, {"two", "22"}}));
  in.labels = {};
  out = a->Update(in, {"labels.one"});  // absent or empty value removes
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->labels, (Labels{{"two", "22"}}));
  in.labels = {{"only", "this"}};
  out = a->Update(in, {});  // no mask replaces all labels
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->labels, (Labels{{"only", "this"}}));
  in.labels = {{"x", "y"}};
  out = a->Update(in, {"labels"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(a->GetInfo(d)->labels, (Labels{{"x", "y"}}));
  EXPECT_GE(out->updated_at, out->created_at);
  EXPECT_TRUE(absl::IsInvalidArgument(a->Update(in, {"size"}).status()));
  in.labels = {{"big", std::string(5000, 'v')}};
  EXPECT_TRUE(absl::IsInvalidArgument(a->Update(in, {"labels.big"}).status()));
  in.digest = Sha256::Of("absent");
  EXPECT_TRUE(absl::IsNotFound(a->Update(in, {}).status()));
}

TEST_F(ContentMetaTest, WalkFiltersOnLabels) {
  auto a = cs_->Namespaced("a");
  ASSERT_TRUE(Write(*a, "1", "one", {{"kind", "layer"}}).ok());
  ASSERT_TRUE(Write(*a, "2", "two", {{"kind", "config"}}).ok());
  ASSERT_TRUE(Write(*a, "3", "three").ok());
  std::vector<std::string> seen;
  auto collect = [&](const content::Info& i) {
    seen.push_back(i.digest.str());
    return Status();
  };
  ASSERT_TRUE(a->Walk(collect, {"labels.kind==layer"}).ok());
  EXPECT_EQ(seen, std::vector<std::string>{Sha256::Of("one").str()});
  seen.clear();
  ASSERT_TRUE(a->Walk(collect, {"labels.kind"}).ok());
  EXPECT_EQ(seen.size(), 2u);
  seen.clear();
  ASSERT_TRUE(a->Walk(collect, {"labels.kind==layer", "labels.kind==config"}).ok());
  EXPECT_EQ(seen.size(), 2u);
}

TEST_F(ContentMetaTest, IngestsAreNamespaced) {
  auto a = cs_->Namespaced("a");
  auto b = cs_->Namespaced("b");
  auto wa = a->OpenWriter({"same-ref", 0, std::nullopt});
  auto wb = b->OpenWriter({"same-ref", 0, std::nullopt});  // no lock clash across namespaces
  ASSERT_TRUE(wa.ok() && wb.ok()) << wa.status() << wb.status();
  ASSERT_TRUE((*wa)->Write("aaa").ok());
  auto sa = a->ListStatuses({""});
  ASSERT_TRUE(sa.ok());
  ASSERT_EQ(sa->size(), 1u);
  EXPECT_EQ((*sa)[0].ref, "same-ref");
  EXPECT_EQ((*sa)[0].offset, 3);
  EXPECT_EQ(b->GetStatus("same-ref")->offset, 0);
  EXPECT_TRUE(absl::IsNotFound(cs_->Namespaced("c")->GetStatus("same-ref").status()));
  wa->reset();
  ASSERT_TRUE(a->Abort("same-ref").ok());
  EXPECT_TRUE(absl::IsNotFound(a->GetStatus("same-ref").status()));
  EXPECT_TRUE(b->GetStatus("same-ref").ok());
}

TEST_F(ContentMetaTest, LeaseRecordsIngestsThenContent) {
  AddLease("a", "L");
  auto a = cs_->Namespaced("a", "L");
  auto w = a->OpenWriter({"ref-1", 0, std::nullopt});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(LeaseResources("a", "L"), std::vector<std::string>{"ingests:ref-1"});
  ASSERT_TRUE((*w)->Write("leased").ok());
  ASSERT_TRUE((*w)->Commit(6, std::nullopt, {}).ok());
  EXPECT_EQ(LeaseResources("a", "L"), std::vector<std::string>{"content:" + Sha256::Of("leased").str()});
  // A write of a blob already there still adds it to the lease.
  AddLease("a", "M");
  auto again = cs_->Namespaced("a", "M")->OpenWriter({"ref-2", 0, Sha256::Of("leased")});
  EXPECT_TRUE(absl::IsAlreadyExists(again.status()));
  EXPECT_EQ(LeaseResources("a", "M"), std::vector<std::string>{"content:" + Sha256::Of("leased").str()});
  // An unknown lease is NotFound.
  auto bad = cs_->Namespaced("a", "nope")->OpenWriter({"ref-3", 0, std::nullopt});
  EXPECT_TRUE(absl::IsNotFound(bad.status())) << bad.status();
}

TEST_F(ContentMetaTest, CleanupIngestsDropsOrphansBothWays) {
  auto a = cs_->Namespaced("a");
  {
    auto w = a->OpenWriter({"kept", 0, std::nullopt});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("123").ok());
  }
  {
    auto w = a->OpenWriter({"bytes-lost", 0, std::nullopt});
    ASSERT_TRUE(w.ok());
  }
  ASSERT_TRUE(RemoveAll(local_->IngestPath(BackendRef("a", "bytes-lost"))).ok());
  {
    auto w = local_->OpenWriter({"a/unrecorded", 0, std::nullopt});
    ASSERT_TRUE(w.ok());
  }
  auto removed = cs_->CleanupIngests(int64_t{24} * 3600 * 1000000000);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1);
  auto list = a->ListStatuses({});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].ref, "kept");
  EXPECT_EQ((*list)[0].offset, 3);
  EXPECT_TRUE(absl::IsNotFound(local_->GetStatus("a/unrecorded").status()));
  EXPECT_TRUE(absl::IsNotFound(a->Abort("bytes-lost")));
}

TEST_F(ContentMetaTest, CommitLabelsAreValidated) {
  auto a = cs_->Namespaced("a");
  Status s = Write(*a, "r", "x", {{"big", std::string(5000, 'v')}});
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
}

}  // namespace
}  // namespace berth::metadata
