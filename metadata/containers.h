// Containers: containerd's container records (metadata only; a running process is a task, see
// runtime/). A container names its image, its runtime (name + options), its OCI spec, the
// snapshot holding its root filesystem, free-form labels and extensions. Everything is stored
// verbatim so a client reads back exactly what it wrote.
//
// Storage: one row of the `containers` table per (namespace, id); labels in the generic labels
// table (kind "container"). Any values (runtime options, spec, extensions) are kept as the
// protobuf wire encoding of google.protobuf.Any (and of a map<string, Any> for extensions), so
// the metadata layer needs no protobuf library. The garbage collector reads `snapshotter`,
// `snapshot_key` and the `containerd.io/gc.ref.*` labels of every row as references.
//
// Thread-safety: ContainerStore is safe to use from any thread (Db serializes transactions).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/filters.h"
#include "metadata/db.h"

namespace berth::metadata {

// A protobuf Any as bytes: `type_url` is a bare message name or a types.containerd.io URL.
struct AnyValue {
  std::string type_url;
  std::string value;
  bool operator==(const AnyValue&) const = default;
};

struct Container {
  std::string id;
  Labels labels;
  std::string image;
  std::string runtime_name;
  std::optional<AnyValue> runtime_options;
  std::optional<AnyValue> spec;
  std::string snapshotter;
  std::string snapshot_key;
  std::map<std::string, AnyValue> extensions;
  int64_t created_at = 0;  // nanoseconds since the epoch; set by the store
  int64_t updated_at = 0;
};

// The value at a containerd filter field path: id, image, runtime.name, labels.<key>.
std::optional<std::string> ContainerField(const Container& c, const FieldPath& path);

// containerd's validation: id is an identifier, runtime name and spec are set, labels valid,
// extension keys non-empty, a snapshot key requires a snapshotter. InvalidArgument otherwise.
Status ValidateContainer(const Container& c);

class ContainerStore {
 public:
  explicit ContainerStore(Db& db) : db_(db) {}

  // NotFound "container \"<id>\": not found"; InvalidArgument for a bad id.
  StatusOr<Container> Get(const std::string& ns, const std::string& id);
  // Containers of `ns` matching `filter`, ordered by id.
  StatusOr<std::vector<Container>> List(const std::string& ns, const Filter& filter);
  // AlreadyExists when the id is taken; InvalidArgument when validation fails. Fills timestamps.
  StatusOr<Container> Create(const std::string& ns, Container c);
  // containerd's field-mask rules: with no paths, labels/spec/extensions/image/snapshotkey are
  // replaced and a changed snapshotter or runtime name is InvalidArgument ("immutable"); paths
  // may be labels, labels.<k>, extensions, extensions.<k>, spec, image, snapshotkey; anything else
  // is InvalidArgument. NotFound when the container does not exist.
  StatusOr<Container> Update(const std::string& ns, const Container& c, const std::vector<std::string>& paths);
  // NotFound when unknown.
  Status Delete(const std::string& ns, const std::string& id);

 private:
  Db& db_;
};

// Wire helpers, exposed for tests: the protobuf encoding of Any and of map<string, Any> (field 1).
std::string EncodeAny(const AnyValue& a);
std::optional<AnyValue> DecodeAny(std::string_view data);
std::string EncodeAnyMap(const std::map<std::string, AnyValue>& m);
std::optional<std::map<std::string, AnyValue>> DecodeAnyMap(std::string_view data);

}  // namespace berth::metadata
