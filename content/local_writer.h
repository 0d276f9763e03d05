// LocalWriter: the Writer of LocalStore, one open ingest directory. It owns the ref's lock from
// construction until Commit, Close or destruction. Not thread-safe (one caller at a time).
#pragma once

#include <memory>
#include <string>

#include "common/unique_fd.h"
#include "content/local_store.h"

namespace berth::content {

class LocalWriter final : public Writer {
 public:
  // `fd` is `dir`/data opened for writing and positioned at `status.offset`; `hash` holds the
  // digest state of those bytes. The caller has taken the lock on `status.ref`.
  LocalWriter(LocalStore& store, std::string dir, UniqueFd fd, std::unique_ptr<Sha256> hash, IngestStatus status)
      : store_(store), dir_(std::move(dir)), fd_(std::move(fd)), hash_(std::move(hash)), status_(std::move(status)) {}
  ~LocalWriter() override;

  IngestStatus GetStatus() const override { return status_; }
  Digest CurrentDigest() const override { return hash_->Current(); }
  Status Write(std::string_view data) override;
  Status Truncate(int64_t size) override;
  Status Commit(int64_t size, const std::optional<Digest>& expected, const Labels& labels) override;
  Status Close() override;

 private:
  // Closes the data file and releases the ref lock (without touching the ingest).
  void Release();

  LocalStore& store_;
  std::string dir_;
  UniqueFd fd_;
  std::unique_ptr<Sha256> hash_;
  IngestStatus status_;
  bool closed_ = false;
};

}  // namespace berth::content
