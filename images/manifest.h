// OCI and Docker image JSON: manifests, indexes (manifest lists) and configs.
//
// Parsing is tolerant as containerd's is (unknown fields ignored) but checks what berth relies
// on: media types where present, digests (sha256 only), sizes, and the config's rootfs. Both the
// OCI types (application/vnd.oci.image.*) and Docker schema 2 types
// (application/vnd.docker.distribution.manifest.*, application/vnd.docker.container.image.v1+json)
// are understood; Docker schema 1 is refused (Unimplemented).
//
// All functions are pure and thread-safe. JSON errors never throw out of here: they become
// InvalidArgument with the parser's message.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "images/platform.h"

namespace berth::images {

inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kOciConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kOciLayer[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char kOciLayerGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kOciLayerZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerManifestList[] = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kDockerConfig[] = "application/vnd.docker.container.image.v1+json";
inline constexpr char kDockerLayerGzip[] = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr char kDockerLayer[] = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr char kDockerSchema1[] = "application/vnd.docker.distribution.manifest.v1+prettyjws";

bool IsManifestType(const std::string& media_type);
bool IsIndexType(const std::string& media_type);
bool IsConfigType(const std::string& media_type);
bool IsLayerType(const std::string& media_type);

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;  // index entries only
};

struct Manifest {
  std::string media_type;  // from the JSON, may be "" for old OCI manifests
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

struct Index {
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

// The parts of an image config berth uses.
struct ImageConfig {
  std::string architecture;
  std::string os;
  std::string variant;
  std::string created;                 // RFC 3339, may be ""
  std::vector<std::string> diff_ids;   // rootfs.diff_ids, base layer first
  // config.*: what the container process is made of. Absent fields stay empty.
  std::vector<std::string> env;         // Env, KEY=VALUE
  std::vector<std::string> entrypoint;  // Entrypoint
  std::vector<std::string> cmd;         // Cmd
  std::string working_dir;              // WorkingDir
  std::string user;                     // User
};

// InvalidArgument for malformed JSON or a missing/invalid required field.
StatusOr<Manifest> ParseManifest(const std::string& json);
StatusOr<Index> ParseIndex(const std::string& json);
StatusOr<ImageConfig> ParseConfig(const std::string& json);

// Detects the kind of a blob from its "mediaType" field or, when absent, its shape
// ("manifests" -> index, "config"+"layers" -> manifest). InvalidArgument when it is neither.
StatusOr<std::string> DetectMediaType(const std::string& json);

// The children of a manifest or index, as containerd's images.Children lists them (config first,
// then layers; or the index's manifests in order).
StatusOr<std::vector<Descriptor>> Children(const std::string& media_type, const std::string& json);

}  // namespace berth::images
