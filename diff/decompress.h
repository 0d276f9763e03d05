// DecompressingReader: turns a (possibly gzip- or zstd-compressed) layer stream into the plain
// tar stream, detecting the compression from the first bytes, and hashes and counts the plain
// bytes as they pass (the layer's diffID and uncompressed size).
//
// A truncated or corrupt compressed stream is DataLoss; a gzip stream of several members is
// read through (as Go's gzip reader does). Not thread-safe (one reader per apply).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/digest.h"
#include "diff/apply.h"

namespace berth::diff {

enum class Compression { kNone, kGzip, kZstd };

class DecompressingReader final : public Reader {
 public:
  // `max_size` bounds the uncompressed bytes (ResourceExhausted beyond). `max_ratio` > 0 bounds
  // uncompressed/compressed bytes once more than `ratio_floor` uncompressed bytes came out
  // (ResourceExhausted "decompression bomb"); 0 = no ratio limit.
  DecompressingReader(Reader& src, int64_t max_size, int64_t max_ratio = 0, int64_t ratio_floor = 0);
  ~DecompressingReader() override;

  StatusOr<size_t> Read(void* buf, size_t n) override;

  // Reads (and hashes) whatever is left, e.g. after the tar's end marker.
  Status Drain();

  Compression compression() const { return compression_; }
  Digest digest() const { return hash_.Current(); }
  int64_t size() const { return size_; }
  int64_t compressed_size() const { return compressed_; }

 private:
  struct Codec;
  Status Detect();
  StatusOr<size_t> FillInput();
  StatusOr<size_t> ReadRaw(void* buf, size_t n);

  Reader& src_;
  int64_t max_size_;
  int64_t max_ratio_;
  int64_t ratio_floor_;
  int64_t compressed_ = 0;  // bytes read from src_
  bool detected_ = false;
  Compression compression_ = Compression::kNone;
  std::string in_;     // compressed input buffer
  size_t in_pos_ = 0;  // consumed part of in_
  bool src_eof_ = false;
  bool done_ = false;
  std::unique_ptr<Codec> codec_;
  Sha256 hash_;
  int64_t size_ = 0;
};

}  // namespace berth::diff
