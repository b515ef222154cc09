#include "store/sqlite_persistence.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <fmt/format.h>
#include <array>
#include <utility>

namespace bulwark::store {
namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv (
  key BLOB PRIMARY KEY, value BLOB NOT NULL, create_revision INTEGER NOT NULL,
  mod_revision INTEGER NOT NULL, version INTEGER NOT NULL, lease INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  revision INTEGER NOT NULL, seq INTEGER NOT NULL, type INTEGER NOT NULL, key BLOB NOT NULL,
  value BLOB NOT NULL, create_revision INTEGER NOT NULL, version INTEGER NOT NULL,
  lease INTEGER NOT NULL, PRIMARY KEY (revision, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (
  id INTEGER PRIMARY KEY, ttl_seconds INTEGER NOT NULL, expires_unix_ms INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('revision', 1), ('compact_revision', 0), ('next_lease_id', 1);
)sql";

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string message =
      fmt::format("store: {}: {}", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return UnavailableError(message + " (is another process using the store file?)");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLossError(message);
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return UnavailableError(message);
    default:
      return InternalError(message);
  }
}

void BindText(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_blob64(s, i, v.data(), v.size(), SQLITE_TRANSIENT);
}

std::string ColumnBlob(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  int n = sqlite3_column_bytes(s, i);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

class SqlitePersistence final : public Persistence {
 public:
  explicit SqlitePersistence(Db db) : db_(std::move(db)) {}

  Status Prepare() {
    static constexpr std::array<const char*, kStatementCount> kSql = {
        "INSERT INTO kv VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(key) DO UPDATE SET "
        "value = ?2, create_revision = ?3, mod_revision = ?4, version = ?5, lease = ?6",
        "DELETE FROM kv WHERE key = ?1",
        "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        "INSERT OR REPLACE INTO leases VALUES (?1, ?2, ?3)",
        "DELETE FROM leases WHERE id = ?1",
        "UPDATE meta SET value = ?2 WHERE name = ?1",
        "DELETE FROM events WHERE revision < ?1",
    };
    for (size_t i = 0; i < kSql.size(); ++i) {
      sqlite3_stmt* s = nullptr;
      int rc = sqlite3_prepare_v3(db_.get(), kSql[i], -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
      if (rc != SQLITE_OK) return SqliteError(db_.get(), rc, "prepare");
      stmts_[i].reset(s);
    }
    return OkStatus();
  }

  Result<PersistedState> Load() override {
    PersistedState state;
    BULWARK_RETURN_IF_ERROR(Query("SELECT name, value FROM meta", [&](sqlite3_stmt* s) {
      std::string_view name(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
      int64_t value = sqlite3_column_int64(s, 1);
      if (name == "revision") state.revision = value;
      if (name == "compact_revision") state.compact_revision = value;
      if (name == "next_lease_id") state.next_lease_id = value;
    }));
    BULWARK_RETURN_IF_ERROR(Query("SELECT * FROM kv ORDER BY key", [&](sqlite3_stmt* s) {
      state.kvs.push_back({ColumnBlob(s, 0), ColumnBlob(s, 1), sqlite3_column_int64(s, 2),
                           sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4),
                           sqlite3_column_int64(s, 5)});
    }));
    BULWARK_RETURN_IF_ERROR(
        Query("SELECT revision, type, key, value, create_revision, version, lease FROM events "
              "ORDER BY revision, seq",
              [&](sqlite3_stmt* s) {
                Event e;
                e.kv.mod_revision = sqlite3_column_int64(s, 0);
                e.type = sqlite3_column_int(s, 1) == 0 ? EventType::kPut : EventType::kDelete;
                e.kv.key = ColumnBlob(s, 2);
                e.kv.value = ColumnBlob(s, 3);
                e.kv.create_revision = sqlite3_column_int64(s, 4);
                e.kv.version = sqlite3_column_int64(s, 5);
                e.kv.lease = sqlite3_column_int64(s, 6);
                state.events.push_back(std::move(e));
              }));
    BULWARK_RETURN_IF_ERROR(
        Query("SELECT id, ttl_seconds, expires_unix_ms FROM leases", [&](sqlite3_stmt* s) {
          state.leases.push_back(
              {sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2)});
        }));
    return state;
  }

  Status Write(const Commit& c) override {
    BULWARK_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE", "begin"));
    Status status = WriteInTransaction(c);
    if (status.ok()) status = Exec("COMMIT", "commit");
    if (!status.ok()) (void)Exec("ROLLBACK", "rollback");
    return status;
  }

 private:
  enum Statement {
    kPutKv,
    kDeleteKv,
    kInsertEvent,
    kPutLease,
    kDeleteLease,
    kSetMeta,
    kCompact,
    kStatementCount
  };

  Status WriteInTransaction(const Commit& c) {
    for (const KeyValue& kv : c.puts) {
      sqlite3_stmt* s = Reset(kPutKv);
      BindText(s, 1, kv.key);
      BindText(s, 2, kv.value);
      sqlite3_bind_int64(s, 3, kv.create_revision);
      sqlite3_bind_int64(s, 4, kv.mod_revision);
      sqlite3_bind_int64(s, 5, kv.version);
      sqlite3_bind_int64(s, 6, kv.lease);
      BULWARK_RETURN_IF_ERROR(Step(s, "write key"));
    }
    for (const std::string& key : c.deletes) {
      sqlite3_stmt* s = Reset(kDeleteKv);
      BindText(s, 1, key);
      BULWARK_RETURN_IF_ERROR(Step(s, "delete key"));
    }
    for (size_t i = 0; i < c.events.size(); ++i) {
      const Event& e = c.events[i];
      sqlite3_stmt* s = Reset(kInsertEvent);
      sqlite3_bind_int64(s, 1, e.kv.mod_revision);
      sqlite3_bind_int64(s, 2, static_cast<int64_t>(i));
      sqlite3_bind_int(s, 3, e.type == EventType::kPut ? 0 : 1);
      BindText(s, 4, e.kv.key);
      BindText(s, 5, e.kv.value);
      sqlite3_bind_int64(s, 6, e.kv.create_revision);
      sqlite3_bind_int64(s, 7, e.kv.version);
      sqlite3_bind_int64(s, 8, e.kv.lease);
      BULWARK_RETURN_IF_ERROR(Step(s, "write event"));
    }
    for (const LeaseRecord& l : c.lease_upserts) {
      sqlite3_stmt* s = Reset(kPutLease);
      sqlite3_bind_int64(s, 1, l.id);
      sqlite3_bind_int64(s, 2, l.ttl_seconds);
      sqlite3_bind_int64(s, 3, l.expires_unix_ms);
      BULWARK_RETURN_IF_ERROR(Step(s, "write lease"));
    }
    for (int64_t id : c.lease_deletes) {
      sqlite3_stmt* s = Reset(kDeleteLease);
      sqlite3_bind_int64(s, 1, id);
      BULWARK_RETURN_IF_ERROR(Step(s, "delete lease"));
    }
    BULWARK_RETURN_IF_ERROR(SetMeta("revision", c.revision));
    BULWARK_RETURN_IF_ERROR(SetMeta("next_lease_id", c.next_lease_id));
    if (c.compact_revision) {
      BULWARK_RETURN_IF_ERROR(SetMeta("compact_revision", *c.compact_revision));
      sqlite3_stmt* s = Reset(kCompact);
      sqlite3_bind_int64(s, 1, *c.compact_revision);
      BULWARK_RETURN_IF_ERROR(Step(s, "compact"));
    }
    return OkStatus();
  }

  Status SetMeta(const char* name, int64_t value) {
    sqlite3_stmt* s = Reset(kSetMeta);
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, value);
    return Step(s, "write meta");
  }

  sqlite3_stmt* Reset(Statement which) {
    sqlite3_stmt* s = stmts_[which].get();
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
  }

  Status Step(sqlite3_stmt* s, std::string_view what) {
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return SqliteError(db_.get(), rc, what);
    return OkStatus();
  }

  Status Exec(const char* sql, std::string_view what) {
    int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_.get(), rc, what);
    return OkStatus();
  }

  template <typename RowFn>
  Status Query(const char* sql, RowFn&& on_row) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_.get(), rc, "load");
    Stmt s(raw);
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) on_row(s.get());
    if (rc != SQLITE_DONE) return SqliteError(db_.get(), rc, "load");
    return OkStatus();
  }

  Db db_;
  std::array<Stmt, kStatementCount> stmts_;
};

Status ExecOn(sqlite3* db, const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db, rc, what);
  return OkStatus();
}

Result<int64_t> PragmaInt(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  if (rc != SQLITE_OK) return Err(SqliteError(db, rc, "open"));
  Stmt s(raw);
  rc = sqlite3_step(s.get());
  if (rc != SQLITE_ROW) return Err(SqliteError(db, rc, "open"));
  return sqlite3_column_int64(s.get(), 0);
}

}  // namespace

Result<std::unique_ptr<Persistence>> OpenSqlitePersistence(const std::string& path) {
  if (path.empty()) return Err(InvalidArgumentError("store: sqlite path is empty"));
  // Create the file owner-only before SQLite does, so it is never world-readable.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Err(UnavailableError(fmt::format("store: cannot open '{}'", path)));
  ::close(fd);

  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) return Err(SqliteError(raw, rc, "open"));
  sqlite3_extended_result_codes(db.get(), 1);

  // Exclusive locking is set before WAL so the WAL index lives in heap memory
  // and the lock, taken by the first write below, is held until close.
  BULWARK_RETURN_IF_ERROR(ExecOn(db.get(), "PRAGMA locking_mode = EXCLUSIVE", "open"));
  BULWARK_RETURN_IF_ERROR(ExecOn(db.get(), "PRAGMA journal_mode = WAL", "open"));
  BULWARK_RETURN_IF_ERROR(ExecOn(db.get(), "PRAGMA synchronous = FULL", "open"));
  BULWARK_ASSIGN_OR_RETURN(int64_t version, PragmaInt(db.get(), "PRAGMA user_version"));
  if (version > kSchemaVersion) {
    return Err(FailedPreconditionError(
        fmt::format("store: '{}' has schema version {}, newer than this build's {}", path, version,
                    kSchemaVersion)));
  }
  BULWARK_RETURN_IF_ERROR(ExecOn(db.get(), "BEGIN IMMEDIATE", "open"));
  Status schema = ExecOn(db.get(), kSchema, "create schema");
  if (schema.ok()) schema = ExecOn(db.get(), "PRAGMA user_version = 1", "create schema");
  if (schema.ok()) schema = ExecOn(db.get(), "COMMIT", "create schema");
  if (!schema.ok()) {
    (void)ExecOn(db.get(), "ROLLBACK", "rollback");
    return Err(std::move(schema));
  }

  auto persistence = std::make_unique<SqlitePersistence>(std::move(db));
  BULWARK_RETURN_IF_ERROR(persistence->Prepare());
  return std::unique_ptr<Persistence>(std::move(persistence));
}

}  // namespace bulwark::store
