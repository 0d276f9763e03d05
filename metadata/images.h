// ImageStore: containerd's image records (metadata/images.go), one row per (namespace, name) in
// the `images` table, labels in the generic labels table (kind "image").
//
// An image names a target descriptor (a manifest or an index). Garbage collection treats every
// image as a root: its target blob and the blobs and snapshots its labels reference
// (containerd.io/gc.ref.*) are kept (metadata/gc.h).
//
// Semantics follow containerd: Create fails with AlreadyExists for a name already recorded;
// Update with no field paths replaces the whole record (labels and target), with paths it
// applies "labels", "labels.<k>", "target", "annotations", "annotations.<k>" only; an empty
// label value removes the label. Timestamps are set by the store (created_at kept on update).
//
// Thread-safety: safe from any thread (every call is one Db transaction).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "metadata/db.h"

namespace berth::metadata {

// An OCI descriptor as containerd's Image.target stores it.
struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
};

struct Image {
  std::string name;
  Labels labels;
  Descriptor target;
  int64_t created_at = 0;  // ns since the epoch
  int64_t updated_at = 0;
};

class ImageStore {
 public:
  explicit ImageStore(Db& db) : db_(db) {}

  // NotFound when `name` is not an image of `ns`.
  StatusOr<Image> Get(const std::string& ns, const std::string& name);
  // Images of `ns` matching containerd filters (name, target.digest, target.mediatype,
  // labels.<k>, annotations.<k>), in name order. InvalidArgument for a malformed filter.
  StatusOr<std::vector<Image>> List(const std::string& ns, const std::vector<std::string>& filters);
  // InvalidArgument for an empty name, bad labels or an invalid target (digest, size > 0,
  // media type set); AlreadyExists when the name is taken. Returns the stored record.
  StatusOr<Image> Create(const std::string& ns, const Image& image);
  // NotFound when missing; InvalidArgument for an unknown field path or an invalid result.
  StatusOr<Image> Update(const std::string& ns, const Image& image, const std::vector<std::string>& paths);
  // NotFound when missing.
  Status Delete(const std::string& ns, const std::string& name);

 private:
  Db& db_;
};

// Reads image `name` of `ns` inside an open transaction (NotFound when missing).
StatusOr<Image> ReadImage(Tx& tx, const std::string& ns, const std::string& name);

}  // namespace berth::metadata
