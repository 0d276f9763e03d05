// Applying a layer (containerd's diff.Applier): a tar stream, plain or gzip/zstd compressed, is
// unpacked onto the filesystem described by a snapshot's mounts, converting OCI whiteouts.
//
// Formats: the compression is detected from the stream's magic bytes (gzip 1f 8b, zstd
// 28 b5 2f fd; anything else is a plain tar); the media type is checked only to refuse what is
// not a layer. OCI (application/vnd.oci.image.layer.v1.tar[+gzip|+zstd], the non-distributable
// variants) and Docker (application/vnd.docker.image.rootfs.diff.tar[.gzip]) types are accepted.
//
// While unpacking, the *uncompressed* stream is hashed and counted: the result is the layer's
// diffID and its uncompressed size, which the caller checks against the image config.
//
// Targets:
//  - overlay mounts (an active snapshot with parents): entries are written straight into the
//    upperdir, as containerd does; a whiteout `.wh.x` becomes a 0/0 character device `x` and an
//    opaque marker `.wh..wh..opq` sets trusted.overlay.opaque="y" on its directory.
//  - bind mounts (parentless active snapshot, native snapshotter): entries are written into the
//    source directory; a whiteout deletes the path, an opaque marker empties the directory.
//
// Safety: every path is resolved inside the target root without following symlinks (openat2
// RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS); `..` components that would leave the root are
// refused, absolute names are taken relative to the root, hard links must point to files
// inside the root, symlinks are created as they are but never followed. The number of entries
// and the total size are bounded by ApplyOptions.
//
// Thread-safety: the functions are reentrant; concurrent applies to the same target are not
// supported (the snapshotter gives each extraction its own active snapshot).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/digest.h"
#include "common/status.h"
#include "snapshotter/mount.h"

namespace berth::diff {

// A source of layer bytes (e.g. a content-store blob). Read returns the number of bytes read,
// 0 at the end of the stream.
class Reader {
 public:
  virtual ~Reader() = default;
  virtual StatusOr<size_t> Read(void* buf, size_t n) = 0;
};

// A Reader over an open file descriptor (takes ownership). Handy for tests and for stores
// that hand out fds.
std::unique_ptr<Reader> FdReader(int fd);

// Wraps `src` so that reaching its end checks the bytes read against `expected` (and `size`
// when >= 0): FailedPrecondition on a mismatch ("digest mismatch"), so a corrupt blob fails the
// apply rather than yielding a wrong layer.
std::unique_ptr<Reader> VerifyingReader(std::unique_ptr<Reader> src, const Digest& expected, int64_t size);

// How Diff/Apply obtains a layer blob: open the blob `digest` as seen from namespace `ns`
// (NotFound when it is not there). The daemon wires this to the content store.
using BlobOpener = std::function<StatusOr<std::unique_ptr<Reader>>(const std::string& ns, const Digest& digest)>;

// The media type Apply reports for the uncompressed layer it applied.
inline constexpr char kLayerMediaType[] = "application/vnd.oci.image.layer.v1.tar";

struct ApplyOptions {
  int64_t max_entries = 1'000'000;       // ResourceExhausted beyond this
  int64_t max_size = int64_t{64} << 30;  // uncompressed bytes, ResourceExhausted beyond
  // Decompression bombs: ResourceExhausted when a compressed layer's uncompressed bytes exceed
  // max_ratio times the compressed bytes read, once more than ratio_floor bytes came out (small
  // layers of zeros compress far better than that legitimately). 0 = no ratio limit.
  int64_t max_ratio = 0;
  int64_t ratio_floor = int64_t{256} << 20;
  // Where temporary mount points are made when mounts must be mounted (bind targets are
  // applied in place without mounting; overlay targets too, into their upperdir).
  std::string temp_dir = "/tmp";
};

struct ApplyResult {
  Digest diff_id = Digest::FromHex("");  // sha256 of the uncompressed tar
  int64_t size = 0;                      // uncompressed bytes
};

// True for the layer media types listed above (and "" which means "detect").
bool IsLayerMediaType(const std::string& media_type);

// Applies `layer` onto `mounts`. InvalidArgument for a media type that is not a layer or an
// unusable set of mounts; DataLoss for a corrupt or truncated stream; PermissionDenied /
// InvalidArgument for an entry that would escape the root ("../x", a link outside);
// ResourceExhausted beyond the bounds. On error the target may hold part of the layer: the
// caller removes the active snapshot.
StatusOr<ApplyResult> Apply(const std::string& media_type, Reader& layer, const std::vector<snapshotter::Mount>& mounts,
                            const ApplyOptions& opts = {});

// How whiteouts are written when applying into a plain directory.
enum class WhiteoutMode {
  kOverlay,  // write overlayfs whiteouts (char 0/0, trusted.overlay.opaque)
  kDelete,   // delete the whited-out paths (bind/native targets)
};

// Applies a layer stream into directory `root` (the primitive Apply is built on).
StatusOr<ApplyResult> ApplyToDir(Reader& layer, const std::string& root, WhiteoutMode mode,
                                 const ApplyOptions& opts = {});

}  // namespace berth::diff
