// LocalStore specifics: on-disk layout, stale ingest cleanup, malformed input.
#include "content/local_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "common/fs.h"

namespace berth::content {
namespace {

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-local-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto s = LocalStore::Open(dir_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    ASSERT_TRUE(RemoveAll(dir_).ok());
  }
  // Leaves an ingest holding `data` (closed, not committed).
  void Ingest(const std::string& ref, std::string_view data) {
    auto w = store_->OpenWriter({ref, 0, std::nullopt});
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->Write(data).ok());
  }
  // Makes an ingest look untouched for `age_s` seconds.
  void Age(const std::string& ref, int age_s) {
    std::string dir = store_->IngestPath(ref);
    int64_t then = (static_cast<int64_t>(time(nullptr)) - age_s) * 1000000000;
    ASSERT_TRUE(WriteFileAtomic(dir + "/updatedat", std::to_string(then)).ok());
    struct timespec ts[2] = {{time(nullptr) - age_s, 0}, {time(nullptr) - age_s, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (dir + "/data").c_str(), ts, 0), 0);
  }
  std::string dir_;
  std::unique_ptr<LocalStore> store_;
};

TEST_F(LocalStoreTest, IngestLayoutFollowsContainerd) {
  Ingest("layer-sha256:abc", "12345");
  std::string dir = store_->IngestPath("layer-sha256:abc");
  EXPECT_EQ(dir, dir_ + "/ingest/" + Sha256::Of("layer-sha256:abc").hex());
  auto ref = ReadFile(dir + "/ref");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(*ref, "layer-sha256:abc");
  for (const char* f : {"data", "startedat", "updatedat"}) {
    EXPECT_EQ(::access((dir + "/" + f).c_str(), F_OK), 0) << f;
  }
  auto names = store_->IngestRefs();
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->size(), 1u);
  EXPECT_EQ((*names)[0], "layer-sha256:abc");
}

TEST_F(LocalStoreTest, StaleIngestsAreCleaned) {
  Ingest("fresh", "a");
  Ingest("old", "b");
  Ingest("old-but-kept", "c");
  Ingest("no-data", "d");
  Ingest("old-locked", "e");
  Age("old", 48 * 3600);
  Age("old-but-kept", 48 * 3600);
  Age("old-locked", 48 * 3600);
  ASSERT_EQ(::unlink((store_->IngestPath("no-data") + "/data").c_str()), 0);
  ASSERT_EQ(::mkdir((dir_ + "/ingest/.tmp-leftover").c_str(), 0755), 0);
  auto held = store_->OpenWriter({"old-locked", 0, std::nullopt});
  ASSERT_TRUE(held.ok());

  int64_t cutoff = (static_cast<int64_t>(time(nullptr)) - 24 * 3600) * 1000000000;
  int removed = store_->RemoveStaleIngests(cutoff, [](const std::string& ref) { return ref == "old-but-kept"; });
  EXPECT_EQ(removed, 3);  // old, no-data, .tmp-leftover
  EXPECT_TRUE(store_->GetStatus("fresh").ok());
  EXPECT_TRUE(store_->GetStatus("old-but-kept").ok());
  EXPECT_TRUE(store_->GetStatus("old-locked").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->GetStatus("old").status()));
  EXPECT_NE(::access(store_->IngestPath("no-data").c_str(), F_OK), 0);
  EXPECT_NE(::access((dir_ + "/ingest/.tmp-leftover").c_str(), F_OK), 0);
}

TEST_F(LocalStoreTest, BrokenIngestIsRecreatedOnOpen) {
  Ingest("broken", "partial");
  ASSERT_EQ(::unlink((store_->IngestPath("broken") + "/data").c_str()), 0);
  auto w = store_->OpenWriter({"broken", 0, std::nullopt});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ((*w)->GetStatus().offset, 0);
}

TEST_F(LocalStoreTest, ResumeWithDifferentTotalStartsOver) {
  auto w = store_->OpenWriter({"r", 10, std::nullopt});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("12345").ok());
  w->reset();
  auto again = store_->OpenWriter({"r", 20, std::nullopt});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->GetStatus().offset, 0);
  EXPECT_EQ((*again)->GetStatus().total, 20);
}

TEST_F(LocalStoreTest, MalformedDigestsAreInvalidArgument) {
  for (const char* bad : {"sha256:xyz", "md5:d41d8cd98f00b204e9800998ecf8427e", "nonsense", "",
                          "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(Digest::Parse(bad).status())) << bad;
  }
}

TEST_F(LocalStoreTest, UpdateIsUnimplemented) {
  Info info;
  info.digest = EmptyDigest();
  EXPECT_TRUE(absl::IsUnimplemented(store_->Update(info, {}).status()));
}

TEST_F(LocalStoreTest, CommitAfterCloseIsFailedPrecondition) {
  auto w = store_->OpenWriter({"closed", 0, std::nullopt});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_TRUE(absl::IsFailedPrecondition((*w)->Commit(0, std::nullopt, {})));
  EXPECT_TRUE(absl::IsFailedPrecondition((*w)->Write("x")));
}

}  // namespace
}  // namespace berth::content
