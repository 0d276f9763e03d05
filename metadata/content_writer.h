// Internals of metadata::ContentStore shared by its two files: the namespaced Writer and the
// small SQL helpers for content records and lease resources. Not a public interface.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "metadata/content.h"

namespace berth::metadata {

// Drops one lease_resources row; a no-op when `lease` is empty. (Adding one is
// metadata::AttachToLease in metadata/leases.h.)
Status RemoveLeaseResource(Tx& tx, std::string_view ns, std::string_view lease, std::string_view type,
                           std::string_view id);
// Whether `ns` has a record of blob `digest`.
StatusOr<bool> HasContentRecord(Tx& tx, std::string_view ns, const Digest& digest);

// A Writer in one namespace. Backed by a LocalStore writer on BackendRef(ns, ref), or, for a
// "shared" ingest (the expected blob is on disk already), by nothing until a byte is written.
class NamespacedWriter final : public content::Writer {
 public:
  struct Shared {
    Digest digest;
    int64_t size;
  };
  NamespacedWriter(ContentStore& store, std::string ns, std::string lease, std::string ref,
                   std::unique_ptr<content::Writer> backend, std::optional<Shared> shared, int64_t total);

  content::IngestStatus GetStatus() const override;
  Digest CurrentDigest() const override;
  Status Write(std::string_view data) override;
  Status Truncate(int64_t size) override;
  Status Commit(int64_t size, const std::optional<Digest>& expected, const content::Labels& labels) override;
  Status Close() override;

 private:
  // Turns a shared ingest into a real one holding the first `size` bytes of the shared blob.
  Status Unshare(int64_t size);

  ContentStore& store_;
  std::string ns_, lease_, ref_;
  std::unique_ptr<content::Writer> backend_;
  std::optional<Shared> shared_;
  int64_t total_;
  int64_t started_at_;
  bool closed_ = false;
};

}  // namespace berth::metadata
