// Client-side image plumbing shared by push, save and load: image records, blobs streamed
// through berthd's Content API (Read, Write with the ingest protocol, Update of labels), and an
// images::UnpackBackend over the Snapshots and Diff services, so `load` unpacks as ctr does.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cmd/berth/commands.h"
#include "common/status.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "images/manifest.h"
#include "images/unpack.h"
#include "remotes/registry.h"

namespace berth::cli {

namespace imv1 = containerd::services::images::v1;

// The image record called `name`, or (NotFound) its docker-normalised form.
StatusOr<imv1::Image> GetImageRecord(const Globals& g, const std::string& name);

// Streams blob `digest` to `chunk` in pieces (any size).
Status StreamBlob(const Globals& g, const std::string& digest, const std::function<Status(const std::string&)>& chunk);

// Writes a blob of `total` bytes and digest `expected` through Content.Write: `fill` is called
// with a sink and pushes the bytes into it in order. A blob already present is OK (nothing is
// sent). Labels are set on commit.
Status WriteBlob(const Globals& g, const std::string& expected, int64_t total,
                 const std::function<Status(const std::function<Status(const char*, size_t)>&)>& fill,
                 const std::map<std::string, std::string>& labels = {}, const std::string& lease = "");

// Sets `labels` on blob `digest` (merged into what it has).
Status LabelBlob(const Globals& g, const std::string& digest, const std::map<std::string, std::string>& labels);

// Content.Read as a remotes::BlobSource (for push).
class ContentSource : public remotes::BlobSource {
 public:
  ContentSource(const Globals& g, std::string digest);
  ~ContentSource() override;
  Status Open() override;
  StatusOr<size_t> Read(char* buf, size_t n) override;

 private:
  struct Stream;
  const Globals& g_;
  std::string digest_;
  std::unique_ptr<Stream> s_;
};

// The blobs an image consists of that are in the content store: the root, every manifest and
// index below it, configs and layers (each once, root first). Index children absent from the
// store are skipped (other platforms, not pulled); `skipped` counts them.
struct ImageBlob {
  images::Descriptor desc;
  bool is_manifest = false;  // manifest or index: pushed with PUT /manifests
};
StatusOr<std::vector<ImageBlob>> ImageBlobs(const Globals& g, const images::Descriptor& root, int* skipped = nullptr);

// images::UnpackBackend over berthd's services in `snapshotter`, under lease `lease` ("" = none).
std::unique_ptr<images::UnpackBackend> NewRemoteUnpackBackend(const Globals& g, const std::string& snapshotter,
                                                              const std::string& lease);

// A lease that expires in a day (containerd.io/gc.expire), deleted by the destructor.
class TempLease {
 public:
  explicit TempLease(const Globals& g);
  ~TempLease();
  const std::string& id() const { return id_; }

 private:
  const Globals& g_;
  std::string id_;
};

}  // namespace berth::cli
