// LeaseStore: containerd's leases (metadata/leases.go). A lease is a namespaced record that
// keeps resources alive for the garbage collector while a client works with them (a pull
// fetches blobs and unpacks snapshots under one lease, and deletes it at the end).
//
// Resources are rows of `lease_resources` (namespace, lease, type, id) with containerd's types:
//   "content"                 id = a digest ("sha256:<hex>")
//   "snapshots/<snapshotter>" id = a snapshot key or name in that snapshotter
//   "ingests"                 id = an ingest ref
// Any other type is Unimplemented (as containerd's "not supported yet"); a malformed one is
// InvalidArgument. The content and snapshot stores attach the objects they create under the
// `containerd-lease` header with AttachToLease() inside their own transaction.
//
// A lease labelled "containerd.io/gc.expire" (RFC 3339 time) stops protecting its resources
// once that time has passed, and the next collection deletes it (metadata/gc.h).
//
// Thread-safety: safe from any thread (every call is one Db transaction).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "metadata/db.h"

namespace berth::metadata {

struct Lease {
  std::string id;
  int64_t created_at = 0;  // ns since the epoch
  Labels labels;
};

struct LeaseResource {
  std::string id;
  std::string type;
  bool operator==(const LeaseResource&) const = default;
};

class LeaseStore {
 public:
  explicit LeaseStore(Db& db) : db_(db) {}

  // Creates lease `lease.id` (a random id when empty). InvalidArgument for a bad id or labels;
  // AlreadyExists when the id is taken.
  StatusOr<Lease> Create(const std::string& ns, const Lease& lease);
  // Deletes the lease and its resource list (the resources themselves are left to GC).
  // NotFound when missing.
  Status Delete(const std::string& ns, const std::string& id);
  // Leases of `ns` matching filters on id and labels.<k>, in id order. InvalidArgument for a
  // malformed filter.
  StatusOr<std::vector<Lease>> List(const std::string& ns, const std::vector<std::string>& filters);
  // NotFound for a missing lease; InvalidArgument/Unimplemented for a bad resource type.
  // Adding a resource twice is not an error.
  Status AddResource(const std::string& ns, const std::string& id, const LeaseResource& r);
  // NotFound for a missing lease; removing an absent resource is not an error.
  Status DeleteResource(const std::string& ns, const std::string& id, const LeaseResource& r);
  // NotFound for a missing lease.
  StatusOr<std::vector<LeaseResource>> ListResources(const std::string& ns, const std::string& id);

 private:
  Db& db_;
};

// containerd's resource validation: returns the canonical id (a parsed digest for "content").
StatusOr<std::string> ValidateLeaseResource(const LeaseResource& r);

// Attaches resource (type, id) to `lease` inside an open transaction. Does nothing when `lease`
// is "" (the call was made outside a lease); NotFound ("lease does not exist") when the lease
// is unknown in `ns`. Used by the content and snapshot stores.
Status AttachToLease(Tx& tx, const std::string& ns, const std::string& lease, const std::string& type,
                     const std::string& id);

// Removes resource (type, id) from every lease of `ns` (when the object itself is deleted).
Status DetachFromLeases(Tx& tx, const std::string& ns, const std::string& type, const std::string& id);

// A lease id as ctr makes them: "<nanoseconds field of now>-<4 URL-safe base64 chars>".
std::string GenerateLeaseId();

// Parses containerd.io/gc.expire (RFC 3339, as Go's time.RFC3339 accepts it, with fraction and
// zone) into ns since the epoch. InvalidArgument when malformed.
StatusOr<int64_t> ParseRfc3339(const std::string& s);

inline constexpr char kLabelGcExpire[] = "containerd.io/gc.expire";

}  // namespace berth::metadata
