#include "diff/apply.h"

#include <errno.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "diff/decompress.h"
#include "diff/extract.h"

namespace berth::diff {
namespace {

class FdReaderImpl final : public Reader {
 public:
  explicit FdReaderImpl(int fd) : fd_(fd) {}
  StatusOr<size_t> Read(void* buf, size_t n) override {
    for (;;) {
      ssize_t r = ::read(fd_.get(), buf, n);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno != EINTR) return ErrnoStatus(errno, "read");
    }
  }

 private:
  UniqueFd fd_;
};

class VerifyingReaderImpl final : public Reader {
 public:
  VerifyingReaderImpl(std::unique_ptr<Reader> src, Digest expected, int64_t size)
      : src_(std::move(src)), expected_(std::move(expected)), size_(size) {}
  StatusOr<size_t> Read(void* buf, size_t n) override {
    ASSIGN_OR_RETURN(size_t k, src_->Read(buf, n));
    if (k > 0) {
      hash_.Update(buf, k);
      read_ += static_cast<int64_t>(k);
      return k;
    }
    if (size_ >= 0 && read_ != size_) {
      return absl::FailedPreconditionError(StrCat("layer ", expected_.str(), ": unexpected size ", read_, ", expected ",
                                                  size_, ": failed precondition"));
    }
    Digest got = hash_.Current();
    if (!(got == expected_)) {
      return absl::FailedPreconditionError(
          StrCat("layer ", expected_.str(), ": digest mismatch: got ", got.str(), ": failed precondition"));
    }
    return 0;
  }

 private:
  std::unique_ptr<Reader> src_;
  Digest expected_;
  int64_t size_;
  Sha256 hash_;
  int64_t read_ = 0;
};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(sep, i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

StatusOr<ApplyResult> ApplyTarget(Reader& layer, const ExtractTarget& target, const ApplyOptions& opts) {
  DecompressingReader plain(layer, opts.max_size, opts.max_ratio, opts.ratio_floor);
  RETURN_IF_ERROR(Annotate(Extract(plain, target, opts), "apply layer"));
  // The diffID covers the whole uncompressed stream, padding after the end marker included.
  RETURN_IF_ERROR(Annotate(plain.Drain(), "apply layer"));
  ApplyResult r;
  r.diff_id = plain.digest();
  r.size = plain.size();
  return r;
}

}  // namespace

std::unique_ptr<Reader> FdReader(int fd) { return std::make_unique<FdReaderImpl>(fd); }

std::unique_ptr<Reader> VerifyingReader(std::unique_ptr<Reader> src, const Digest& expected, int64_t size) {
  return std::make_unique<VerifyingReaderImpl>(std::move(src), expected, size);
}

bool IsLayerMediaType(const std::string& mt) {
  static const char* const kTypes[] = {
      "",
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.v1.tar+gzip",
      "application/vnd.oci.image.layer.v1.tar+zstd",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
      "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
      "application/vnd.docker.image.rootfs.diff.tar",
      "application/vnd.docker.image.rootfs.diff.tar.gzip",
      "application/vnd.docker.image.rootfs.diff.tar.zstd",
      "application/vnd.docker.image.rootfs.foreign.diff.tar",
      "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  };
  for (const char* t : kTypes) {
    if (mt == t) return true;
  }
  return false;
}

StatusOr<ApplyResult> ApplyToDir(Reader& layer, const std::string& root, WhiteoutMode mode, const ApplyOptions& opts) {
  ExtractTarget t;
  t.root = root;
  t.mode = mode;
  return ApplyTarget(layer, t, opts);
}

StatusOr<ApplyResult> Apply(const std::string& media_type, Reader& layer, const std::vector<snapshotter::Mount>& mounts,
                            const ApplyOptions& opts) {
  if (!IsLayerMediaType(media_type)) {
    return absl::InvalidArgumentError(StrCat("unsupported diff media type: ", media_type, ": invalid argument"));
  }
  if (mounts.empty()) return absl::InvalidArgumentError("apply layer: no mounts given");
  if (mounts.size() == 1 && mounts[0].type == "overlay") {
    // As containerd: write straight into the upper layer, with overlay whiteouts.
    ExtractTarget t;
    t.root = snapshotter::MountOption(mounts[0], "upperdir");
    if (t.root.empty()) return absl::InvalidArgumentError("apply layer: overlay mount without upperdir (read-only)");
    t.mode = WhiteoutMode::kOverlay;
    t.lowerdirs = Split(snapshotter::MountOption(mounts[0], "lowerdir"), ':');
    return ApplyTarget(layer, t, opts);
  }
  const auto& m = mounts[0];
  bool bind =
      m.type == "bind" || m.type == "rbind" || snapshotter::HasOption(m, "bind") || snapshotter::HasOption(m, "rbind");
  if (mounts.size() == 1 && bind && m.target.empty()) {
    if (snapshotter::HasOption(m, "ro")) return absl::InvalidArgumentError("apply layer: read-only bind mount");
    ExtractTarget t;
    t.root = m.source;
    t.mode = WhiteoutMode::kDelete;
    return ApplyTarget(layer, t, opts);
  }
  ASSIGN_OR_RETURN(auto tm, snapshotter::TempMount::Create(mounts, opts.temp_dir));
  ExtractTarget t;
  t.root = tm->path();
  t.mode = WhiteoutMode::kDelete;
  return ApplyTarget(layer, t, opts);
}

}  // namespace berth::diff
