// CRI images: the ImageService of the Kubernetes CRI over berthd's image records, as containerd
// 1.6's CRI plugin keeps them, so `ctr -n k8s.io images ls` and containerd agree with berthd.
//
// Storage (containerd's CRI layout). A pulled image is three records in namespace k8s.io, each
// targeting the image's root descriptor (index or manifest) and labelled
// io.cri-containerd.image=managed:
//   <normalised ref>              docker.io/library/busybox:latest      (a repo tag)
//   <repository>@<root digest>    docker.io/library/busybox@sha256:...  (a repo digest)
//   <image id>                    sha256:<config digest>
// A CRI image is the set of records whose platform manifest (for the default platform) has the
// same config digest: that digest is its id. Records not written by the CRI (e.g. `ctr -n k8s.io
// images pull`) count too, as containerd's CRI image store sees every record of the namespace.
//
// Lookup (ImageStatus, RemoveImage, and sandbox/container images) takes a tag, a digest
// reference, a full id or a unique id prefix, like containerd's localResolve: a valid digest is an
// id; otherwise the reference is normalised (busybox -> docker.io/library/busybox:latest) and
// resolved through its record; failing that the text is tried as an id prefix.
//
// Thread-safety: safe from any thread; one mutex serialises pulls and removals of the same
// manager (records are small, contention is rare).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "metadata/content.h"
#include "metadata/images.h"
#include "metadata/snapshots.h"

namespace berth::cri {

inline constexpr char kNamespace[] = "k8s.io";
inline constexpr char kImageLabel[] = "io.cri-containerd.image";
inline constexpr char kImageLabelManaged[] = "managed";

struct Image {
  std::string id;  // sha256:<config digest>
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;
  uint64_t size = 0;  // index + platform manifest + config + layers, packed (containerd's Size)
  // From the config's User ("uid[:gid]" or "name[:group]"): a numeric user is `uid`, anything
  // else `username`.
  std::optional<int64_t> uid;
  std::string username;
  std::string chain_id;     // the top layer's snapshot name
  std::string config_json;  // the config blob (verbose status)
  metadata::Descriptor target;  // the root descriptor of the records
  std::string manifest_digest;  // the platform manifest
  // Image config parts containers start from.
  std::vector<std::string> env, entrypoint, cmd;
  std::string working_dir, user;
};

// CRI AuthConfig.
struct Auth {
  std::string username, password;
  std::string auth;  // base64("user:password"), used when username/password are empty
  std::string server_address;
  std::string identity_token;  // sent as the password with an empty user name
  std::string registry_token;
};

// The (username, password) an Auth amounts to. InvalidArgument for an `auth` that is not base64
// of "user:password".
StatusOr<std::pair<std::string, std::string>> Credentials(const Auth& auth);

// Splits the records of an image into repo tags and repo digests (id records and names that are
// not references are skipped); sorted, without duplicates.
void ClassifyNames(const std::vector<std::string>& names, std::vector<std::string>* tags,
                   std::vector<std::string>* digests);

// uid / username from a config's User.
void UserFromConfig(const std::string& user, std::optional<int64_t>* uid, std::string* username);

struct FsUsage {
  int64_t timestamp_ns = 0;
  std::string mountpoint;
  uint64_t used_bytes = 0;
  uint64_t inodes_used = 0;
};

class ImageManager {
 public:
  // Pulls `ref` (normalised) into namespace k8s.io, unpacked to the configured snapshotter, and
  // returns the root descriptor. Its image record (`ref`) is written by the puller.
  using PullFn = std::function<StatusOr<metadata::Descriptor>(const std::string& ref, const std::string& username,
                                                              const std::string& password)>;
  struct Deps {
    metadata::ImageStore* images = nullptr;
    metadata::ContentStore* content = nullptr;
    metadata::SnapshotStore* snapshots = nullptr;  // the CRI snapshotter
    std::string snapshotter;                       // its name, e.g. "overlayfs"
    std::string snapshotter_root;                  // ImageFsInfo's mountpoint
    PullFn pull;
  };
  explicit ImageManager(Deps deps) : d_(std::move(deps)) {}

  // Every image of namespace k8s.io, in id order.
  StatusOr<std::vector<Image>> List();
  // The image `ref_or_id` names; NotFound when there is none.
  StatusOr<Image> Find(const std::string& ref_or_id);
  // Pulls and records the image; returns its id. InvalidArgument for a bad reference, and the
  // puller's codes (NotFound, Unauthenticated, Unavailable, ...).
  StatusOr<std::string> Pull(const std::string& ref, const Auth& auth);
  // Writes the CRI records (ref, repo digest, id) of an image already in the content store whose
  // root descriptor is `target`; returns its id.
  StatusOr<std::string> Record(const std::string& ref, const metadata::Descriptor& target);
  // Removes every record of the image `ref_or_id` names. OK when there is none (as containerd).
  Status Remove(const std::string& ref_or_id);
  // Usage of the CRI snapshotter in namespace k8s.io.
  StatusOr<FsUsage> FsInfo();

 private:
  // The image a record's target amounts to, without names.
  StatusOr<Image> Load(const metadata::Descriptor& target);
  StatusOr<std::string> ReadBlob(const std::string& digest);

  Deps d_;
  std::mutex mu_;
};

}  // namespace berth::cri
