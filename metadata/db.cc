#include "metadata/db.h"

#include <fcntl.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "metadata/schema.h"

namespace berth::metadata {
namespace {

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  absl::StatusCode code = absl::StatusCode::kInternal;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = absl::StatusCode::kUnavailable;
      break;
    case SQLITE_CONSTRAINT:
      code = absl::StatusCode::kAlreadyExists;
      break;
    case SQLITE_FULL:
      code = absl::StatusCode::kResourceExhausted;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      code = absl::StatusCode::kDataLoss;
      break;
    default:
      break;
  }
  return Status(code, StrCat("metadata: ", what, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

}  // namespace

int64_t NowNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Stmt& Stmt::Bind(int i, std::string_view v) {
  sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::Bind(int i, int64_t v) {
  sqlite3_bind_int64(st_, i, v);
  return *this;
}
Stmt& Stmt::BindBlob(int i, std::string_view v) {
  sqlite3_bind_blob(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::BindNull(int i) {
  sqlite3_bind_null(st_, i);
  return *this;
}

StatusOr<bool> Stmt::Step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, sqlite3_sql(st_));
}

Status Stmt::Run() {
  ASSIGN_OR_RETURN(bool row, Step());
  (void)row;
  return Status();
}

void Stmt::Reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

std::string Stmt::Text(int col) const {
  const void* p = sqlite3_column_blob(st_, col);
  int n = sqlite3_column_bytes(st_, col);
  if (p == nullptr) return {};
  return std::string(static_cast<const char*>(p), static_cast<size_t>(n));
}
int64_t Stmt::Int(int col) const { return sqlite3_column_int64(st_, col); }
bool Stmt::IsNull(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }

StatusOr<Stmt> Tx::Prepare(std::string_view sql) {
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &st, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, sql);
  return Stmt(db_, st);
}

Status Tx::Exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Status(absl::StatusCode::kInternal, "metadata: " + msg);
  }
  return Status();
}

StatusOr<Labels> Tx::GetLabels(std::string_view ns, std::string_view kind, std::string_view object) {
  ASSIGN_OR_RETURN(Stmt st, Prepare("SELECT key, value FROM labels WHERE namespace=?1 AND kind=?2 AND object=?3"));
  st.Bind(1, ns).Bind(2, kind).Bind(3, object);
  Labels out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.emplace(st.Text(0), st.Text(1));
  }
  return out;
}

Status Tx::SetLabels(std::string_view ns, std::string_view kind, std::string_view object, const Labels& labels) {
  RETURN_IF_ERROR(DeleteLabels(ns, kind, object));
  if (labels.empty()) return Status();
  ASSIGN_OR_RETURN(Stmt st, Prepare("INSERT INTO labels(namespace, kind, object, key, value) VALUES(?1,?2,?3,?4,?5)"));
  for (const auto& [k, v] : labels) {
    st.Reset();
    st.Bind(1, ns).Bind(2, kind).Bind(3, object).Bind(4, k).Bind(5, v);
    RETURN_IF_ERROR(st.Run());
  }
  return Status();
}

Status Tx::DeleteLabels(std::string_view ns, std::string_view kind, std::string_view object) {
  ASSIGN_OR_RETURN(Stmt st, Prepare("DELETE FROM labels WHERE namespace=?1 AND kind=?2 AND object=?3"));
  st.Bind(1, ns).Bind(2, kind).Bind(3, object);
  return st.Run();
}

Status Tx::EnsureNamespace(std::string_view ns) {
  ASSIGN_OR_RETURN(Stmt st, Prepare("INSERT OR IGNORE INTO namespaces(name, created_at, updated_at) VALUES(?1, ?2, ?2)"));
  st.Bind(1, ns).Bind(2, NowNanos());
  return st.Run();
}

StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqliteError(raw, rc, "open " + path);
    sqlite3_close(raw);
    return s;
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 5000);
  Tx tx(raw);
  RETURN_IF_ERROR(Annotate(tx.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"),
                           "open " + path));
  RETURN_IF_ERROR(Annotate(db->Migrate(), "migrate " + path));
  if (path != ":memory:" && !path.empty()) {
    db->reserve_path_ = path + ".reserve";
    db->BalanceReserve(false);
  }
  return db;
}

void Db::BalanceReserve(bool before_write) {
  if (reserve_path_.empty()) return;
  struct statvfs fs;
  const size_t slash = reserve_path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : reserve_path_.substr(0, slash + 1);
  if (::statvfs(dir.c_str(), &fs) != 0) return;
  const int64_t free_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  const bool have = ::access(reserve_path_.c_str(), F_OK) == 0;
  if (before_write && have && free_bytes < kReserveBytes) {
    ::unlink(reserve_path_.c_str());
    return;
  }
  if (!have && free_bytes >= kReserveBytes * 16) {
    int fd = ::open(reserve_path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    if (::posix_fallocate(fd, 0, kReserveBytes) != 0) {
      ::close(fd);
      ::unlink(reserve_path_.c_str());
      return;
    }
    ::close(fd);
  }
}

Db::~Db() { sqlite3_close(db_); }

Status Db::Migrate() {
  Tx tx(db_);
  ASSIGN_OR_RETURN(Stmt st, tx.Prepare("PRAGMA user_version"));
  ASSIGN_OR_RETURN(bool row, st.Step());
  version_ = row ? static_cast<int>(st.Int(0)) : 0;
  const auto& migrations = Migrations();
  if (version_ > static_cast<int>(migrations.size())) {
    return absl::FailedPreconditionError(StrCat("database schema version ", version_,
                                                      " is newer than this berthd understands (",
                                                      migrations.size(), ")"));
  }
  for (size_t v = static_cast<size_t>(version_); v < migrations.size(); ++v) {
    Status s = Update([&](Tx& t) {
      RETURN_IF_ERROR(t.Exec(migrations[v]));
      return t.Exec(StrCat("PRAGMA user_version=", v + 1));
    });
    RETURN_IF_ERROR(Annotate(s, StrCat("schema version ", v + 1)));
    version_ = static_cast<int>(v + 1);
  }
  return Status();
}

Status Db::Update(const std::function<Status(Tx&)>& fn) {
  std::lock_guard<std::mutex> l(mu_);
  BalanceReserve(true);
  Tx tx(db_);
  RETURN_IF_ERROR(tx.Exec("BEGIN IMMEDIATE"));
  Status s = fn(tx);
  if (s.ok()) s = tx.Exec("COMMIT");
  if (!s.ok()) (void)tx.Exec("ROLLBACK");
  if (s.ok()) BalanceReserve(false);
  return s;
}

Status Db::View(const std::function<Status(Tx&)>& fn) {
  std::lock_guard<std::mutex> l(mu_);
  Tx tx(db_);
  RETURN_IF_ERROR(tx.Exec("BEGIN"));
  Status s = fn(tx);
  (void)tx.Exec(s.ok() ? "COMMIT" : "ROLLBACK");
  return s;
}

}  // namespace berth::metadata
