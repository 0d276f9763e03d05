// Unpack: turning an image's layers into committed snapshots, exactly as ctr's client-side
// unpacker does (CTR-API-MAP 2.3 step 6), so an image unpacked by berthd and one unpacked by
// `ctr images pull` leave the same snapshots and labels behind:
//
//   for each layer i (chainID_i from the config's diff_ids):
//     Stat(chainID_i)                      found -> done
//     Prepare("extract-<nanos>-<rand> <chainID_i>", chainID_{i-1})
//     Apply(layer_i) -> diffID             must equal diff_ids[i]
//     Commit(chainID_i, key)               AlreadyExists -> someone else did it: fine
//     label layer blob containerd.io/uncompressed = diffID
//   label config blob containerd.io/gc.ref.snapshot.<snapshotter> = chainID_top
//
// On any failure after Prepare the extract snapshot is removed. Unpack talks to the content
// store, the snapshotter and the layer applier only through UnpackBackend (one namespace, one
// lease), so it is testable with a fake and the daemon adapts its stores to it.
//
// Thread-safety: Unpack is reentrant; concurrent unpacks of one image race benignly (the
// AlreadyExists rules above) as they do in containerd.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "images/manifest.h"
#include "images/platform.h"

namespace berth::images {

class UnpackBackend {
 public:
  virtual ~UnpackBackend() = default;
  // The bytes of a (small) blob. NotFound when absent.
  virtual StatusOr<std::string> ReadBlob(const std::string& digest) = 0;
  // Sets one label on a blob (an empty value deletes it).
  virtual Status SetBlobLabel(const std::string& digest, const std::string& key, const std::string& value) = 0;
  // OK when snapshot `key` exists, NotFound when it does not.
  virtual Status StatSnapshot(const std::string& key) = 0;
  // Prepares active snapshot `key` on `parent` ("" for none). AlreadyExists / NotFound.
  virtual Status PrepareSnapshot(const std::string& key, const std::string& parent) = 0;
  // Applies `layer` (a blob in the content store) onto active snapshot `key`; returns the diffID.
  virtual StatusOr<std::string> ApplyLayer(const std::string& key, const Descriptor& layer) = 0;
  // Commits active `key` as `name`. AlreadyExists when `name` exists.
  virtual Status CommitSnapshot(const std::string& name, const std::string& key) = 0;
  virtual Status RemoveSnapshot(const std::string& key) = 0;
};

struct UnpackOptions {
  std::string snapshotter = "overlayfs";
  Platform platform = DefaultPlatform();
  // Called before layer `index` is applied; returns once its blob is in the content store
  // (lets a pull apply layer i while later layers still download). May be empty.
  std::function<Status(size_t index)> wait_for_layer;
  // Progress per layer: "unpacking", "unpacked" or "exists". May be empty.
  std::function<void(size_t index, const std::string& status)> progress;
};

struct UnpackResult {
  Descriptor manifest;
  Descriptor config;
  std::vector<std::string> chain_ids;  // one per layer; back() is the image's top snapshot
};

// Follows `target` (a manifest, or an index: the best match for `platform`, recursively) to a
// manifest descriptor. NotFound when no manifest matches the platform.
StatusOr<Descriptor> ResolveManifest(UnpackBackend& backend, const Descriptor& target, const Platform& platform);

// Unpacks the image whose root descriptor is `target`. InvalidArgument for inconsistent image
// JSON (layer count not matching diff_ids); FailedPrecondition when a layer's diffID differs
// from the config; errors of the backend otherwise.
StatusOr<UnpackResult> Unpack(UnpackBackend& backend, const Descriptor& target, const UnpackOptions& opts);

// An extract key as ctr makes them: "extract-<nanoseconds field>-<4 base64 chars> <chainID>".
std::string ExtractKey(const std::string& chain_id);

inline constexpr char kLabelUncompressed[] = "containerd.io/uncompressed";
inline constexpr char kLabelSnapshotRefPrefix[] = "containerd.io/gc.ref.snapshot.";

}  // namespace berth::images
