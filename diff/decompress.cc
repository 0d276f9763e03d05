#include "diff/decompress.h"

#include <zlib.h>
#include <zstd.h>

#include <cstring>

namespace berth::diff {
namespace {
constexpr size_t kInChunk = 1 << 17;
}  // namespace

struct DecompressingReader::Codec {
  z_stream z{};
  bool z_init = false;
  bool z_member_done = false;  // last inflate returned Z_STREAM_END
  ZSTD_DStream* zs = nullptr;
  size_t zs_last = 1;  // last ZSTD_decompressStream hint; 0 = frame complete
  ~Codec() {
    if (z_init) inflateEnd(&z);
    if (zs) ZSTD_freeDStream(zs);
  }
};

DecompressingReader::DecompressingReader(Reader& src, int64_t max_size, int64_t max_ratio, int64_t ratio_floor)
    : src_(src),
      max_size_(max_size),
      max_ratio_(max_ratio),
      ratio_floor_(ratio_floor),
      codec_(std::make_unique<Codec>()) {}
DecompressingReader::~DecompressingReader() = default;

StatusOr<size_t> DecompressingReader::FillInput() {
  if (in_pos_ > 0) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  if (src_eof_) return 0;
  size_t old = in_.size();
  in_.resize(old + kInChunk);
  auto n = src_.Read(in_.data() + old, kInChunk);
  if (!n.ok()) {
    in_.resize(old);
    return Annotate(n.status(), "read layer");
  }
  in_.resize(old + *n);
  compressed_ += static_cast<int64_t>(*n);
  if (*n == 0) src_eof_ = true;
  return *n;
}

Status DecompressingReader::Detect() {
  detected_ = true;
  while (in_.size() - in_pos_ < 4 && !src_eof_) {
    ASSIGN_OR_RETURN(size_t n, FillInput());
    (void)n;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + in_pos_);
  size_t avail = in_.size() - in_pos_;
  if (avail >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
    compression_ = Compression::kGzip;
    if (inflateInit2(&codec_->z, 15 + 16) != Z_OK) return absl::InternalError("inflateInit2 failed");
    codec_->z_init = true;
  } else if (avail >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) {
    compression_ = Compression::kZstd;
    codec_->zs = ZSTD_createDStream();
    if (codec_->zs == nullptr) return absl::InternalError("ZSTD_createDStream failed");
    ZSTD_initDStream(codec_->zs);
  }
  return Status();
}

StatusOr<size_t> DecompressingReader::ReadRaw(void* buf, size_t n) {
  if (done_ || n == 0) return 0;
  switch (compression_) {
    case Compression::kNone: {
      if (in_pos_ == in_.size()) {
        ASSIGN_OR_RETURN(size_t got, FillInput());
        if (got == 0) {
          done_ = true;
          return 0;
        }
      }
      size_t k = std::min(n, in_.size() - in_pos_);
      memcpy(buf, in_.data() + in_pos_, k);
      in_pos_ += k;
      return k;
    }
    case Compression::kGzip: {
      z_stream& z = codec_->z;
      for (;;) {
        if (in_pos_ == in_.size()) {
          ASSIGN_OR_RETURN(size_t got, FillInput());
          if (got == 0) {
            if (codec_->z_member_done) {
              done_ = true;
              return 0;
            }
            return absl::DataLossError("gzip: unexpected EOF (truncated layer)");
          }
        }
        if (codec_->z_member_done) {
          // Another gzip member follows.
          if (inflateReset(&z) != Z_OK) return absl::InternalError("inflateReset failed");
          codec_->z_member_done = false;
        }
        z.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
        z.avail_in = static_cast<uInt>(in_.size() - in_pos_);
        z.next_out = static_cast<Bytef*>(buf);
        z.avail_out = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
        int rc = inflate(&z, Z_NO_FLUSH);
        in_pos_ = in_.size() - z.avail_in;
        size_t produced = std::min<size_t>(n, 1u << 30) - z.avail_out;
        if (rc == Z_STREAM_END) {
          codec_->z_member_done = true;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
          return absl::DataLossError(StrCat("gzip: ", z.msg ? z.msg : "corrupt stream"));
        }
        if (produced > 0) return produced;
        if (rc == Z_STREAM_END) continue;
      }
    }
    case Compression::kZstd: {
      for (;;) {
        if (in_pos_ == in_.size()) {
          ASSIGN_OR_RETURN(size_t got, FillInput());
          if (got == 0) {
            if (codec_->zs_last == 0) {
              done_ = true;
              return 0;
            }
            return absl::DataLossError("zstd: unexpected EOF (truncated layer)");
          }
        }
        ZSTD_inBuffer in{in_.data(), in_.size(), in_pos_};
        ZSTD_outBuffer out{buf, n, 0};
        size_t rc = ZSTD_decompressStream(codec_->zs, &out, &in);
        in_pos_ = in.pos;
        if (ZSTD_isError(rc)) return absl::DataLossError(StrCat("zstd: ", ZSTD_getErrorName(rc)));
        codec_->zs_last = rc;
        if (out.pos > 0) return out.pos;
      }
    }
  }
  return 0;
}

StatusOr<size_t> DecompressingReader::Read(void* buf, size_t n) {
  if (!detected_) RETURN_IF_ERROR(Detect());
  ASSIGN_OR_RETURN(size_t k, ReadRaw(buf, n));
  if (k > 0) {
    hash_.Update(buf, k);
    size_ += static_cast<int64_t>(k);
    if (size_ > max_size_) {
      return absl::ResourceExhaustedError(StrCat("layer larger than the limit of ", max_size_, " bytes uncompressed"));
    }
    // The input is read ahead in chunks, so compressed_ may be ahead of what produced size_:
    // the check errs on the lenient side.
    if (max_ratio_ > 0 && size_ > ratio_floor_ && compression_ != Compression::kNone &&
        size_ / max_ratio_ > compressed_) {
      return absl::ResourceExhaustedError(StrCat("layer decompresses to more than ", max_ratio_,
                                                 " times its compressed size (", compressed_, " bytes gave ", size_,
                                                 "): refusing a decompression bomb"));
    }
  }
  return k;
}

Status DecompressingReader::Drain() {
  std::string buf(1 << 16, '\0');
  for (;;) {
    ASSIGN_OR_RETURN(size_t k, Read(buf.data(), buf.size()));
    if (k == 0) return Status();
  }
}

}  // namespace berth::diff
