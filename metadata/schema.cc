#include "metadata/schema.h"

namespace berth::metadata {

// Version 1: every object kind containerd's metadata store knows. Times are nanoseconds since
// the epoch. Labels of every kind live in one table (Tx::GetLabels/SetLabels).
static const char kSchemaV1[] = R"sql(
CREATE TABLE namespaces (
  name TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE labels (
  namespace TEXT NOT NULL,
  kind TEXT NOT NULL,
  object TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (namespace, kind, object, key)
) WITHOUT ROWID;
-- A blob is visible in a namespace once written or committed there.
CREATE TABLE content (
  namespace TEXT NOT NULL,
  digest TEXT NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, digest)
) WITHOUT ROWID;
CREATE INDEX content_by_digest ON content(digest);
-- Ingests started in a namespace (ref -> namespace), so ListStatuses is namespaced.
CREATE TABLE ingests (
  namespace TEXT NOT NULL,
  ref TEXT NOT NULL,
  expected TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, ref)
) WITHOUT ROWID;
CREATE TABLE images (
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  target_media_type TEXT NOT NULL,
  target_digest TEXT NOT NULL,
  target_size INTEGER NOT NULL,
  target_annotations TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, name)
) WITHOUT ROWID;
CREATE TABLE leases (
  namespace TEXT NOT NULL,
  id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, id)
) WITHOUT ROWID;
-- type is "content", "snapshots/<snapshotter>" or "ingests", as in containerd.
CREATE TABLE lease_resources (
  namespace TEXT NOT NULL,
  lease TEXT NOT NULL,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (namespace, lease, type, id)
) WITHOUT ROWID;
-- Namespaced snapshot records over the snapshotter's own storage.
CREATE TABLE snapshots (
  namespace TEXT NOT NULL,
  snapshotter TEXT NOT NULL,
  key TEXT NOT NULL,
  backend_key TEXT NOT NULL,
  parent TEXT NOT NULL DEFAULT '',
  kind INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, snapshotter, key)
) WITHOUT ROWID;
CREATE TABLE containers (
  namespace TEXT NOT NULL,
  id TEXT NOT NULL,
  image TEXT NOT NULL DEFAULT '',
  runtime_name TEXT NOT NULL DEFAULT '',
  runtime_options BLOB,
  spec BLOB,
  snapshotter TEXT NOT NULL DEFAULT '',
  snapshot_key TEXT NOT NULL DEFAULT '',
  extensions BLOB,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, id)
) WITHOUT ROWID;
)sql";

const std::vector<std::string>& Migrations() {
  static const std::vector<std::string> kMigrations = {kSchemaV1};
  return kMigrations;
}

}  // namespace berth::metadata
