// Db is berth's metadata store: one SQLite database (WAL journal, synchronous=FULL so a
// committed transaction survives power loss) holding namespaces, content references, images,
// leases, snapshots references and containers. Every change is one transaction, so a crash
// leaves the old state or the new one.
//
// Thread-safety: Db is safe to use from any thread. Transactions are serialized by a mutex
// (SQLite allows one writer anyway); keep them short and never do I/O other than SQLite inside.
//
// Schema versions live in PRAGMA user_version and are migrated forward at Open (schema.cc).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::metadata {

using Labels = std::map<std::string, std::string>;

// A prepared statement; binds are 1-based as in SQLite, columns 0-based.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* st) : db_(db), st_(st) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), st_(std::exchange(o.st_, nullptr)) {}
  Stmt(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(st_); }

  Stmt& Bind(int i, std::string_view v);
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, int64_t v);
  Stmt& BindBlob(int i, std::string_view v);
  Stmt& BindNull(int i);

  // Advances: true when a row is available, false when done.
  StatusOr<bool> Step();
  // Runs a statement that returns no rows.
  Status Run();
  void Reset();

  std::string Text(int col) const;
  int64_t Int(int col) const;
  bool IsNull(int col) const;
  // Number of rows changed by the last Run().
  int Changes() const { return sqlite3_changes(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_;
};

// A transaction in progress; valid only inside Db::Update / Db::View.
class Tx {
 public:
  explicit Tx(sqlite3* db) : db_(db) {}
  StatusOr<Stmt> Prepare(std::string_view sql);
  Status Exec(std::string_view sql);

  // Generic labels: every labelled object (kind = "namespace", "content", "image", "lease",
  // "snapshot", "container") keeps its labels in one table keyed (namespace, kind, object, key).
  StatusOr<Labels> GetLabels(std::string_view ns, std::string_view kind, std::string_view object);
  Status SetLabels(std::string_view ns, std::string_view kind, std::string_view object, const Labels& labels);
  Status DeleteLabels(std::string_view ns, std::string_view kind, std::string_view object);

  // Records namespace `ns` if it is not yet known (namespaces exist implicitly in containerd).
  Status EnsureNamespace(std::string_view ns);

 private:
  sqlite3* db_;
};

class Db {
 public:
  // Opens (creating if needed) and migrates the database at `path`.
  static StatusOr<std::unique_ptr<Db>> Open(const std::string& path);
  ~Db();

  // Runs `fn` in a write transaction; commits when it returns OK, rolls back otherwise.
  //
  // Disk full: next to the database a reserve file holds kReserveBytes. When the filesystem has
  // less than that free, the reserve is released before the transaction, so that deletes (the way
  // out of a full disk: a client removing what a failed unpack left) still commit; it is taken
  // again once kReserveBytes * 16 are free.
  Status Update(const std::function<Status(Tx&)>& fn);
  static constexpr int64_t kReserveBytes = 1 << 20;
  // Runs `fn` in a read transaction.
  Status View(const std::function<Status(Tx&)>& fn);

  int schema_version() const { return version_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  Status Migrate();
  void BalanceReserve(bool before_write);

  sqlite3* db_;
  std::mutex mu_;
  int version_ = 0;
  std::string reserve_path_;  // "" for an in-memory database
};

// Timestamps are stored as nanoseconds since the Unix epoch.
int64_t NowNanos();

}  // namespace berth::metadata
