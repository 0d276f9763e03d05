// One suite for every content::Store implementation: LocalStore, and the namespaced view of
// metadata::ContentStore over it. Behaviour that only the namespaced store has (labels,
// visibility, leases) is tested in tests/unit/metadata/content_test.cc.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <regex>
#include <thread>

#include "common/fs.h"
#include "content/local_store.h"
#include "metadata/content.h"
#include "metadata/db.h"

namespace berth::content {
namespace {

enum class Impl { kLocal, kNamespaced };

class StoreTest : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-content-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Open();
  }
  void TearDown() override {
    store_.reset();
    meta_.reset();
    db_.reset();
    local_.reset();
    ASSERT_TRUE(RemoveAll(dir_).ok());
  }
  void Open() {
    store_.reset();
    meta_.reset();
    db_.reset();
    auto local = LocalStore::Open(dir_ + "/content");
    ASSERT_TRUE(local.ok()) << local.status();
    local_ = std::move(*local);
    if (GetParam() == Impl::kLocal) {
      struct NonOwning final : Store {
        explicit NonOwning(Store& s) : s(s) {}
        StatusOr<std::unique_ptr<ReaderAt>> OpenReader(const Digest& d) override { return s.OpenReader(d); }
        StatusOr<std::unique_ptr<Writer>> OpenWriter(const WriterOptions& o) override { return s.OpenWriter(o); }
        StatusOr<Info> GetInfo(const Digest& d) override { return s.GetInfo(d); }
        StatusOr<Info> Update(const Info& i, const std::vector<std::string>& p) override { return s.Update(i, p); }
        Status Walk(const WalkFn& fn, const std::vector<std::string>& f) override { return s.Walk(fn, f); }
        Status Delete(const Digest& d) override { return s.Delete(d); }
        StatusOr<IngestStatus> GetStatus(const std::string& r) override { return s.GetStatus(r); }
        StatusOr<std::vector<IngestStatus>> ListStatuses(const std::vector<std::string>& f) override {
          return s.ListStatuses(f);
        }
        Status Abort(const std::string& r) override { return s.Abort(r); }
        Store& s;
      };
      store_ = std::make_unique<NonOwning>(*local_);
    } else {
      auto db = metadata::Db::Open(dir_ + "/meta.db");
      ASSERT_TRUE(db.ok()) << db.status();
      db_ = std::move(*db);
      meta_ = std::make_unique<metadata::ContentStore>(*db_, *local_);
      store_ = meta_->Namespaced("test");
    }
  }

  // Writes `data` under `ref` and commits it; returns the commit status.
  Status WriteBlob(const std::string& ref, std::string_view data, int64_t size = -1,
                   std::optional<Digest> expected = std::nullopt) {
    auto w = store_->OpenWriter({ref, 0, std::nullopt});
    if (!w.ok()) return w.status();
    RETURN_IF_ERROR((*w)->Write(data));
    return (*w)->Commit(size < 0 ? static_cast<int64_t>(data.size()) : size,
                        expected ? expected : std::optional<Digest>(Sha256::Of(data)), {});
  }

  std::string ReadAll(const Digest& d) {
    auto r = store_->OpenReader(d);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return "";
    std::string out((*r)->Size(), '\0');
    auto n = (*r)->ReadAt(out.data(), out.size(), 0);
    EXPECT_TRUE(n.ok());
    out.resize(n.ok() ? *n : 0);
    return out;
  }

  std::string dir_;
  std::unique_ptr<LocalStore> local_;
  std::unique_ptr<metadata::Db> db_;
  std::unique_ptr<metadata::ContentStore> meta_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, WriteCommitVerifyAndRead) {
  std::string data = "hello, berth";
  Digest d = Sha256::Of(data);
  auto w = store_->OpenWriter({"ref-1", static_cast<int64_t>(data.size()), d});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ((*w)->CurrentDigest(), EmptyDigest());
  ASSERT_TRUE((*w)->Write(data.substr(0, 5)).ok());
  ASSERT_TRUE((*w)->Write(data.substr(5)).ok());
  EXPECT_EQ((*w)->GetStatus().offset, static_cast<int64_t>(data.size()));
  EXPECT_EQ((*w)->CurrentDigest(), d);
  ASSERT_TRUE((*w)->Commit(data.size(), d, {}).ok());

  auto info = store_->GetInfo(d);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->size, static_cast<int64_t>(data.size()));
  EXPECT_GT(info->created_at, 0);
  EXPECT_EQ(ReadAll(d), data);
  struct stat st;
  ASSERT_EQ(::stat(local_->BlobPath(d).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  // The ingest is gone.
  EXPECT_TRUE(absl::IsNotFound(store_->GetStatus("ref-1").status()));
  EXPECT_TRUE(absl::IsNotFound(local_->GetStatus("ref-1").status()));
}

TEST_P(StoreTest, ReadAtOffsets) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data.push_back(static_cast<char>('a' + i % 26));
  Digest d = Sha256::Of(data);
  ASSERT_TRUE(WriteBlob("r", data).ok());
  auto r = store_->OpenReader(d);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->Size(), 100000);
  char buf[10];
  auto n = (*r)->ReadAt(buf, sizeof buf, 99995);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 5u);
  EXPECT_EQ(std::string(buf, 5), data.substr(99995));
  n = (*r)->ReadAt(buf, sizeof buf, 1234);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), data.substr(1234, 10));
  n = (*r)->ReadAt(buf, sizeof buf, 100000);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_P(StoreTest, WrongSizeOrDigestLeavesNoBlob) {
  std::string data = "some bytes";
  Digest d = Sha256::Of(data);
  Status s = WriteBlob("bad-size", data, data.size() + 1);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_TRUE(absl::IsNotFound(store_->GetInfo(d).status()));
  EXPECT_NE(::access(local_->BlobPath(d).c_str(), F_OK), 0);

  Digest wrong = Sha256::Of("other");
  s = WriteBlob("bad-digest", data, -1, wrong);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_TRUE(absl::IsNotFound(store_->GetInfo(d).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->GetInfo(wrong).status()));
  EXPECT_NE(::access(local_->BlobPath(d).c_str(), F_OK), 0);
  // The failed ingest stays (it can be resumed or aborted) and its lock is released.
  ASSERT_TRUE(store_->Abort("bad-digest").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Abort("bad-digest")));
}

TEST_P(StoreTest, CommitOfExistingBlobIsAlreadyExists) {
  ASSERT_TRUE(WriteBlob("a", "same").ok());
  Status s = WriteBlob("b", "same");
  EXPECT_TRUE(absl::IsAlreadyExists(s)) << s;
  EXPECT_TRUE(absl::IsNotFound(store_->GetStatus("b").status()));
  // Opening with the expected digest of a present blob fails at once.
  auto w = store_->OpenWriter({"c", 0, Sha256::Of("same")});
  EXPECT_TRUE(absl::IsAlreadyExists(w.status())) << w.status();
}

TEST_P(StoreTest, ResumeRehashesExistingBytes) {
  std::string data(300000, 'x');
  for (size_t i = 0; i < data.size(); i += 7) data[i] = static_cast<char>(i);
  {
    auto w = store_->OpenWriter({"resume", static_cast<int64_t>(data.size()), std::nullopt});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(std::string_view(data).substr(0, 123456)).ok());
    ASSERT_TRUE((*w)->Close().ok());
  }
  // A fresh store object (as after a restart) resumes from disk.
  Open();
  auto st = store_->GetStatus("resume");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->offset, 123456);
  EXPECT_EQ(st->total, static_cast<int64_t>(data.size()));
  auto w = store_->OpenWriter({"resume", static_cast<int64_t>(data.size()), std::nullopt});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ((*w)->GetStatus().offset, 123456);
  EXPECT_EQ((*w)->CurrentDigest(), Sha256::Of(std::string_view(data).substr(0, 123456)));
  ASSERT_TRUE((*w)->Write(std::string_view(data).substr(123456)).ok());
  ASSERT_TRUE((*w)->Commit(data.size(), Sha256::Of(data), {}).ok());
  EXPECT_EQ(ReadAll(Sha256::Of(data)), data);
}

TEST_P(StoreTest, TruncateStartsOver) {
  auto w = store_->OpenWriter({"t", 0, std::nullopt});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("garbage").ok());
  ASSERT_TRUE((*w)->Truncate(0).ok());
  EXPECT_EQ((*w)->GetStatus().offset, 0);
  EXPECT_TRUE(absl::IsInvalidArgument((*w)->Truncate(3)));
  ASSERT_TRUE((*w)->Write("good").ok());
  ASSERT_TRUE((*w)->Commit(4, Sha256::Of("good"), {}).ok());
  EXPECT_EQ(ReadAll(Sha256::Of("good")), "good");
}

TEST_P(StoreTest, SecondWriterOnSameRefIsUnavailable) {
  auto w1 = store_->OpenWriter({"locked", 0, std::nullopt});
  ASSERT_TRUE(w1.ok());
  ASSERT_TRUE((*w1)->Write("abc").ok());
  auto w2 = store_->OpenWriter({"locked", 0, std::nullopt});
  ASSERT_TRUE(absl::IsUnavailable(w2.status())) << w2.status();
  // containerd's message: "ref <ref> locked for <duration> (since <time>): unavailable".
  EXPECT_TRUE(std::regex_match(std::string(w2.status().message()),
                               std::regex("ref .*locked locked for [0-9.]+(ns|µs|ms|s) \\(since "
                                          "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ \\+0000 UTC\\): unavailable")))
      << w2.status();
  w1->reset();  // closing releases the ref at once; the next writer resumes
  auto w3 = store_->OpenWriter({"locked", 0, std::nullopt});
  ASSERT_TRUE(w3.ok()) << w3.status();
  EXPECT_EQ((*w3)->GetStatus().offset, 3);
}

TEST_P(StoreTest, FailedCommitKeepsAResumableIngest) {
  // Wrong size: FailedPrecondition, the bytes stay, the ref is free again.
  {
    auto w = store_->OpenWriter({"retry", 0, std::nullopt});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("1234").ok());
    Status s = (*w)->Commit(5, std::nullopt, {});
    ASSERT_TRUE(absl::IsFailedPrecondition(s)) << s;
    // containerd's messages: the namespaced store checks the size itself, the local one in Commit.
    const std::string want = GetParam() == Impl::kLocal ? "unexpected commit size 4, expected 5: failed precondition"
                                                        : "\"retry\" failed size validation: 4 != 5: failed precondition";
    EXPECT_EQ(s.message(), want);
    EXPECT_TRUE(absl::IsFailedPrecondition((*w)->Write("x"))) << "the writer is closed";
  }
  auto st = store_->GetStatus("retry");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->offset, 4);
  // Wrong digest: the same, with containerd's message.
  {
    auto w = store_->OpenWriter({"retry", 0, std::nullopt});
    ASSERT_TRUE(w.ok()) << w.status();
    EXPECT_EQ((*w)->GetStatus().offset, 4);
    ASSERT_TRUE((*w)->Write("5").ok());
    Status s = (*w)->Commit(5, Sha256::Of("other"), {});
    ASSERT_TRUE(absl::IsFailedPrecondition(s)) << s;
    EXPECT_EQ(s.message(), StrCat("unexpected commit digest ", Sha256::Of("12345").str(), ", expected ",
                                  Sha256::Of("other").str(), ": failed precondition"));
  }
  // Resumed once more, the right expectations commit.
  auto w = store_->OpenWriter({"retry", 0, std::nullopt});
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ((*w)->GetStatus().offset, 5);
  EXPECT_EQ((*w)->CurrentDigest(), Sha256::Of("12345"));
  ASSERT_TRUE((*w)->Commit(5, Sha256::Of("12345"), {}).ok());
  EXPECT_EQ(ReadAll(Sha256::Of("12345")), "12345");
  EXPECT_TRUE(absl::IsNotFound(store_->GetStatus("retry").status()));
}

TEST_P(StoreTest, CommitOnClosedWriterIsFailedPrecondition) {
  auto w = store_->OpenWriter({"closed", 0, std::nullopt});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Close().ok());
  Status s = (*w)->Commit(0, std::nullopt, {});
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_TRUE(store_->GetStatus("closed").ok()) << "the ingest stays";
}

TEST_P(StoreTest, AbortUnderAnOpenWriter) {
  // As containerd: Abort removes the ingest at once, even while a writer holds the ref.
  auto w = store_->OpenWriter({"doomed", 0, std::nullopt});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("bytes").ok());
  ASSERT_TRUE(store_->Abort("doomed").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->GetStatus("doomed").status()));
  // The open writer still holds the ref until it ends; its commit cannot succeed.
  EXPECT_TRUE(absl::IsUnavailable(store_->OpenWriter({"doomed", 0, std::nullopt}).status()));
  Status s = (*w)->Commit(5, std::nullopt, {});
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsNotFound(store_->GetInfo(Sha256::Of("bytes")).status()));
  // Afterwards the ref starts afresh.
  auto again = store_->OpenWriter({"doomed", 0, std::nullopt});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->GetStatus().offset, 0);
  EXPECT_EQ((*again)->CurrentDigest(), EmptyDigest());
}

TEST_P(StoreTest, TruncateThenCloseIsResumedEmpty) {
  {
    auto w = store_->OpenWriter({"trunc", 0, std::nullopt});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("old bytes").ok());
    ASSERT_TRUE((*w)->Truncate(0).ok());
    ASSERT_TRUE((*w)->Write("new").ok());
  }
  auto st = store_->GetStatus("trunc");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->offset, 3);
  auto w = store_->OpenWriter({"trunc", 0, std::nullopt});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->CurrentDigest(), Sha256::Of("new"));
}

TEST_P(StoreTest, EmptyRefIsInvalid) {
  EXPECT_TRUE(absl::IsInvalidArgument(store_->OpenWriter({"", 0, std::nullopt}).status()));
}

TEST_P(StoreTest, ConcurrentWritersOnDifferentRefs) {
  constexpr int kWriters = 8;
  std::vector<std::thread> threads;
  std::vector<Status> results(kWriters);
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      std::string data(50000 + i, static_cast<char>('A' + i));
      auto w = store_->OpenWriter({"c-" + std::to_string(i), 0, std::nullopt});
      if (!w.ok()) {
        results[i] = w.status();
        return;
      }
      for (size_t off = 0; off < data.size(); off += 4096) {
        Status s = (*w)->Write(std::string_view(data).substr(off, 4096));
        if (!s.ok()) {
          results[i] = s;
          return;
        }
      }
      results[i] = (*w)->Commit(data.size(), Sha256::Of(data), {});
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kWriters; ++i) {
    EXPECT_TRUE(results[i].ok()) << i << ": " << results[i];
    std::string data(50000 + i, static_cast<char>('A' + i));
    EXPECT_EQ(ReadAll(Sha256::Of(data)), data);
  }
}

TEST_P(StoreTest, WalkWithFilters) {
  ASSERT_TRUE(WriteBlob("1", "one").ok());
  ASSERT_TRUE(WriteBlob("2", "two!").ok());
  std::vector<std::string> seen;
  auto collect = [&](const Info& i) {
    seen.push_back(i.digest.str());
    return Status();
  };
  ASSERT_TRUE(store_->Walk(collect, {}).ok());
  EXPECT_EQ(seen.size(), 2u);
  seen.clear();
  ASSERT_TRUE(store_->Walk(collect, {"digest==" + Sha256::Of("one").str()}).ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], Sha256::Of("one").str());
  seen.clear();
  ASSERT_TRUE(store_->Walk(collect, {"size==4"}).ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], Sha256::Of("two!").str());
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Walk(collect, {"digest=="})));
}

TEST_P(StoreTest, StatusesAndFilters) {
  auto a = store_->OpenWriter({"layer-a", 10, std::nullopt});
  auto b = store_->OpenWriter({"config-b", 0, std::nullopt});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Write("12345").ok());
  auto all = store_->ListStatuses({""});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  auto layers = store_->ListStatuses({"ref~=^layer-"});
  ASSERT_TRUE(layers.ok());
  ASSERT_EQ(layers->size(), 1u);
  EXPECT_EQ((*layers)[0].ref, "layer-a");
  EXPECT_EQ((*layers)[0].offset, 5);
  EXPECT_EQ((*layers)[0].total, 10);
  EXPECT_GT((*layers)[0].started_at, 0);
}

TEST_P(StoreTest, DeleteAndMissing) {
  ASSERT_TRUE(WriteBlob("x", "delete me").ok());
  Digest d = Sha256::Of("delete me");
  ASSERT_TRUE(store_->Delete(d).ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Delete(d)));
  EXPECT_TRUE(absl::IsNotFound(store_->GetInfo(d).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->OpenReader(d).status()));
  EXPECT_NE(::access(local_->BlobPath(d).c_str(), F_OK), 0);
}

TEST_P(StoreTest, LargeBlobStreams) {
  // 64 MiB in 1 MiB writes; the writer never holds more than one write.
  std::string chunk(1 << 20, 'z');
  auto w = store_->OpenWriter({"big", 64 << 20, std::nullopt});
  ASSERT_TRUE(w.ok());
  Sha256 h;
  for (int i = 0; i < 64; ++i) {
    chunk[0] = static_cast<char>(i);
    h.Update(chunk);
    ASSERT_TRUE((*w)->Write(chunk).ok());
  }
  ASSERT_TRUE((*w)->Commit(64 << 20, h.Current(), {}).ok());
  auto info = store_->GetInfo(h.Current());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 64 << 20);
}

INSTANTIATE_TEST_SUITE_P(Impls, StoreTest, ::testing::Values(Impl::kLocal, Impl::kNamespaced),
                         [](const auto& info) { return info.param == Impl::kLocal ? "Local" : "Namespaced"; });

}  // namespace
}  // namespace berth::content
