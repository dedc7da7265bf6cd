// SqliteStore: the Store in one SQLite database, dir/residue.db.
//
// Schema (its version is meta's 'schema_version', kSchemaVersion below):
//   meta(key TEXT PRIMARY KEY, value INTEGER)
//   tasks(name TEXT PRIMARY KEY, params_json TEXT, params_hash BLOB (16 bytes),
//         tally BLOB (encode_tally), batches INTEGER, reports INTEGER, last_batch INTEGER,
//         domain TEXT (Domain::id(); '' for bare indices))
//   batches(sequence INTEGER PRIMARY KEY, id BLOB UNIQUE, task TEXT REFERENCES
//           tasks(name), received INTEGER, reports INTEGER, body BLOB)
//   batches_by_task(task, sequence)
// The UNIQUE batch id is the ledger. The sequence is the rowid, so rows lie in commit order;
// SQLite gives each new row the largest rowid plus one, and no batch row is ever deleted, so
// sequences run 1, 2, 3... without gaps (AUTOINCREMENT would burn a number on every duplicate).
// Nothing identifies a client: no address, token or user agent is stored.
// Version 2 added tasks.domain; a version 1 file is upgraded in place when opened, its tasks
// getting '' (version 1 hashed no dictionary into a task's parameter hash, so '' is what their
// stored hashes say).
//
// Concurrency: one write connection, used by commit() and register_task() under write_mutex_,
// with its statements prepared once. tasks() and for_each_batch() borrow a query_only
// connection from a pool (opened on demand): in WAL mode they read a committed snapshot while a
// commit runs, and a slow for_each_batch callback blocks nobody. The tallies live in memory
// under tallies_mutex_ and change only after COMMIT returned. If another process committed to
// the database (PRAGMA data_version moved), the tallies are reloaded inside the next write
// transaction before they are updated, so neither process overwrites the other's counts.
#include "sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>

#include "registration.h"
#include "residue/core/error.h"
#include "residue/core/hex.h"
#include "residue/wire/tally_codec.h"
#include "stored_rows.h"

namespace residue {
namespace {

constexpr int64_t kSchemaVersion = 2;
constexpr int kBusyTimeoutMs = 10'000;

constexpr const char* kSchema = R"sql(
CREATE TABLE tasks(
  name TEXT PRIMARY KEY,
  params_json TEXT NOT NULL,
  params_hash BLOB NOT NULL,
  tally BLOB NOT NULL,
  batches INTEGER NOT NULL DEFAULT 0,
  reports INTEGER NOT NULL DEFAULT 0,
  last_batch INTEGER NOT NULL DEFAULT 0,
  domain TEXT NOT NULL DEFAULT '');
CREATE TABLE batches(
  sequence INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  task TEXT NOT NULL REFERENCES tasks(name),
  received INTEGER NOT NULL,
  reports INTEGER NOT NULL,
  body BLOB NOT NULL);
CREATE INDEX batches_by_task ON batches(task, sequence);
)sql";

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

/// One connection to the database file; every error it throws names the file.
class Connection {
 public:
  enum class Mode { kWrite, kRead };

  Connection(const std::filesystem::path& file, Mode mode) : path_(file.string()) {
    sqlite3* raw = nullptr;
    // NOMUTEX: the store's own mutexes keep each connection to one thread at a time.
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                      (mode == Mode::kWrite ? SQLITE_OPEN_CREATE : 0);
    const int rc = sqlite3_open_v2(path_.c_str(), &raw, flags, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) fail("cannot open the database");
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, kBusyTimeoutMs);
    if (mode == Mode::kRead) {
      exec("PRAGMA query_only=ON");
      return;
    }
    // WAL + FULL: every COMMIT fsyncs the log, so a commit that returned survives a crash.
    if (pragma_text("PRAGMA journal_mode=WAL") != "wal") {
      throw Error("sqlite store: " + path_ + ": cannot switch the database to WAL journal mode.");
    }
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
  }

  sqlite3* get() const { return db_.get(); }
  const std::string& path() const { return path_; }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error("sqlite store: " + path_ + ": " + what + ": " +
                (db_ ? sqlite3_errmsg(db_.get()) : "out of memory") + ".");
  }

  void exec(const char* sql) const {
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      fail(std::string("\"") + sql + "\" failed");
    }
  }

  Stmt prepare(const char* sql) const {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) !=
        SQLITE_OK) {
      fail(std::string("cannot prepare \"") + sql + "\"");
    }
    return Stmt(raw);
  }

 private:
  std::string pragma_text(const char* sql) const {
    Stmt stmt = prepare(sql);
    if (sqlite3_step(stmt.get()) != SQLITE_ROW) fail(std::string("\"") + sql + "\" failed");
    const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
    return text ? reinterpret_cast<const char*>(text) : "";
  }

  std::string path_;
  Db db_;
};

/// One use of a prepared statement: binds, steps, and on leaving resets it, so a cached
/// statement holds neither a read snapshot nor stale bindings between uses.
class Query {
 public:
  Query(const Connection& db, const Stmt& stmt) : db_(db), stmt_(stmt.get()) {}
  ~Query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind_int(int index, int64_t value) {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  Query& bind_text(int index, std::string_view text) {
    check(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8));
    return *this;
  }
  Query& bind_blob(int index, std::span<const uint8_t> blob) {
    // A null pointer would bind NULL rather than an empty blob.
    static constexpr uint8_t kEmpty = 0;
    check(sqlite3_bind_blob64(stmt_, index, blob.empty() ? &kEmpty : blob.data(), blob.size(),
                              SQLITE_STATIC));
    return *this;
  }

  /// True when a row is ready, false when the statement is done.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) db_.fail(std::string("\"") + sqlite3_sql(stmt_) + "\" failed");
    return false;
  }

  int64_t int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text ? std::string(reinterpret_cast<const char*>(text),
                              static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)))
                : std::string();
  }
  /// Valid until the next step.
  std::span<const uint8_t> bytes(int column) const {
    const void* data = sqlite3_column_blob(stmt_, column);
    return {static_cast<const uint8_t*>(data),
            static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) db_.fail(std::string("cannot bind \"") + sqlite3_sql(stmt_) + "\"");
  }

  const Connection& db_;
  sqlite3_stmt* stmt_;
};

/// BEGIN IMMEDIATE (takes the write lock now, so no later statement meets SQLITE_BUSY) until
/// commit(); leaving the scope without commit() rolls back.
class Transaction {
 public:
  Transaction(const Connection& db, const Stmt& begin, const Stmt& commit, const Stmt& rollback)
      : db_(db), commit_(commit), rollback_(rollback) {
    Query(db_, begin).step();
  }
  ~Transaction() {
    // A failed COMMIT may already have rolled back; then there is nothing left to undo.
    if (!committed_ && !sqlite3_get_autocommit(db_.get())) {
      sqlite3_step(rollback_.get());
      sqlite3_reset(rollback_.get());
    }
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit() {
    Query(db_, commit_).step();
    committed_ = true;
  }

 private:
  const Connection& db_;
  const Stmt& commit_;
  const Stmt& rollback_;
  bool committed_ = false;
};

bool same_shape(const Tally& a, const Tally& b) {
  if (a.protocol_id() != b.protocol_id() || a.block_count() != b.block_count()) return false;
  for (uint32_t j = 0; j < a.block_count(); ++j) {
    if (a.universe(j) != b.universe(j)) return false;
  }
  return true;
}

std::string describe_shape(const Tally& tally) {
  std::string out = "\"" + tally.protocol_id() + "\" with universes (";
  for (uint32_t j = 0; j < tally.block_count(); ++j) {
    out += (j ? ", " : "") + std::to_string(tally.universe(j));
  }
  return out + ")";
}

/// Creates `dir` with mode 0700 (its parents with the default mode) unless it exists.
void make_private_dir(const std::filesystem::path& dir) {
  std::filesystem::path leaf = dir.lexically_normal();
  if (!leaf.has_filename()) leaf = leaf.parent_path();  // "a/b/" -> "a/b"
  std::error_code ec;
  if (leaf.has_parent_path()) std::filesystem::create_directories(leaf.parent_path(), ec);
  if (ec) {
    throw Error("sqlite store: cannot create the directory " + leaf.parent_path().string() + ": " +
                ec.message() + ".");
  }
  if (::mkdir(leaf.c_str(), 0700) != 0 && errno != EEXIST) {
    throw Error("sqlite store: cannot create the data directory " + leaf.string() + ": " +
                std::strerror(errno) + ".");
  }
  if (!std::filesystem::is_directory(leaf, ec)) {
    throw Error("sqlite store: the data directory " + leaf.string() + " is not a directory.");
  }
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const std::filesystem::path& dir);

  void register_task(const std::string& name, const std::string& params_json,
                     const std::string& domain_id, const ParamsHash& params_hash,
                     const Tally& empty) override;
  std::vector<CommitOutcome> commit(std::span<const PendingBatch> batches) override;
  Tally tally(const std::string& task) const override;
  std::vector<TaskRecord> tasks() const override;
  void for_each_batch(const std::string& task,
                      const std::function<void(const StoredBatch&)>& fn) const override;

 private:
  struct Reader {
    // tasks and batches select their columns in the order stored_rows.h decodes.
    explicit Reader(const std::filesystem::path& file)
        : db(file, Connection::Mode::kRead),
          tasks(db.prepare("SELECT name, params_json, params_hash, batches, reports, last_batch, "
                           "domain FROM tasks ORDER BY name")),
          batches(db.prepare("SELECT id, sequence, received, body FROM batches "
                             "WHERE task = ?1 ORDER BY sequence")),
          task_exists(db.prepare("SELECT 1 FROM tasks WHERE name = ?1")) {}
    Connection db;
    Stmt tasks;
    Stmt batches;
    Stmt task_exists;
  };

  /// A reader borrowed from the pool (or opened when none is idle) and given back on leaving.
  class ReaderLease {
   public:
    explicit ReaderLease(const SqliteStore& store) : store_(store) {
      {
        std::lock_guard lock(store_.readers_mutex_);
        if (!store_.idle_readers_.empty()) {
          reader_ = std::move(store_.idle_readers_.back());
          store_.idle_readers_.pop_back();
        }
      }
      if (!reader_) reader_ = std::make_unique<Reader>(store_.file_);
    }
    ~ReaderLease() {
      std::lock_guard lock(store_.readers_mutex_);
      store_.idle_readers_.push_back(std::move(reader_));
    }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    Reader* operator->() const { return reader_.get(); }

   private:
    const SqliteStore& store_;
    std::unique_ptr<Reader> reader_;
  };

  Transaction begin() { return Transaction(db_, begin_, commit_, rollback_); }
  void create_or_check_schema();
  std::map<std::string, Tally> load_tallies();
  int64_t data_version();
  /// Inside a write transaction: reloads the tallies if another connection committed.
  void refresh_if_changed();

  std::filesystem::path file_;
  Connection db_;
  Stmt begin_, commit_, rollback_, data_version_query_;
  Stmt select_tallies_, select_task_hash_, insert_task_, insert_batch_, update_task_;
  int64_t data_version_ = 0;  // of db_, when the tallies were last read from it

  std::mutex write_mutex_;
  mutable std::mutex tallies_mutex_;
  std::map<std::string, Tally> tallies_;
  mutable std::mutex readers_mutex_;
  mutable std::vector<std::unique_ptr<Reader>> idle_readers_;
};

SqliteStore::SqliteStore(const std::filesystem::path& dir)
    : file_(dir / "residue.db"),
      db_(file_, Connection::Mode::kWrite),
      begin_(db_.prepare("BEGIN IMMEDIATE")),
      commit_(db_.prepare("COMMIT")),
      rollback_(db_.prepare("ROLLBACK")),
      data_version_query_(db_.prepare("PRAGMA data_version")) {
  Transaction tx = begin();
  create_or_check_schema();
  select_tallies_ = db_.prepare("SELECT name, tally FROM tasks");
  select_task_hash_ = db_.prepare("SELECT params_hash, domain FROM tasks WHERE name = ?1");
  insert_task_ = db_.prepare(
      "INSERT INTO tasks(name, params_json, params_hash, tally, domain) "
      "VALUES(?1, ?2, ?3, ?4, ?5)");
  // DO NOTHING on a known id only: any other constraint failure is still an error.
  insert_batch_ = db_.prepare(
      "INSERT INTO batches(id, task, received, reports, body) VALUES(?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT(id) DO NOTHING");
  update_task_ = db_.prepare(
      "UPDATE tasks SET tally = ?2, batches = batches + ?3, reports = reports + ?4, "
      "last_batch = MAX(last_batch, ?5) WHERE name = ?1");
  tallies_ = load_tallies();
  data_version_ = data_version();
  tx.commit();
}

void SqliteStore::create_or_check_schema() {
  db_.exec("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
  std::optional<int64_t> stored;
  {
    Stmt select = db_.prepare("SELECT value FROM meta WHERE key = 'schema_version'");
    Query version(db_, select);
    if (version.step()) stored = version.int64(0);
  }
  if (!stored) {
    db_.exec(kSchema);
    Stmt insert = db_.prepare("INSERT INTO meta(key, value) VALUES('schema_version', ?1)");
    Query(db_, insert).bind_int(1, kSchemaVersion).step();
    return;
  }
  if (*stored > kSchemaVersion) {
    throw Error("sqlite store: " + db_.path() + " has schema version " + std::to_string(*stored) +
                ", newer than this program's " + std::to_string(kSchemaVersion) +
                "; open it with the newer Residue that wrote it.");
  }
  if (*stored == 1) {
    db_.exec("ALTER TABLE tasks ADD COLUMN domain TEXT NOT NULL DEFAULT ''");
    db_.exec("UPDATE meta SET value = 2 WHERE key = 'schema_version'");
    return;
  }
  if (*stored != kSchemaVersion) {
    throw Error("sqlite store: " + db_.path() + " has unknown schema version " +
                std::to_string(*stored) + " (this program's is " + std::to_string(kSchemaVersion) +
                ").");
  }
}

std::map<std::string, Tally> SqliteStore::load_tallies() {
  std::map<std::string, Tally> out;
  Query rows(db_, select_tallies_);
  while (rows.step()) {
    const std::string name = rows.text(0);
    ParseResult<Tally> tally = decode_tally(rows.bytes(1));
    if (!tally.ok()) {
      throw Error("sqlite store: " + db_.path() + ": the stored tally of task \"" + name +
                  "\" is corrupt: " + tally.error().message + " (byte " +
                  std::to_string(tally.error().offset) + ").");
    }
    out.emplace(name, std::move(tally).value());
  }
  return out;
}

int64_t SqliteStore::data_version() {
  Query q(db_, data_version_query_);
  q.step();
  return q.int64(0);
}

void SqliteStore::refresh_if_changed() {
  const int64_t version = data_version();
  if (version == data_version_) return;
  // Committed state, read under our write lock: safe to publish before this transaction ends.
  std::map<std::string, Tally> fresh = load_tallies();
  {
    std::lock_guard lock(tallies_mutex_);
    tallies_.swap(fresh);
  }
  data_version_ = version;
}

void SqliteStore::register_task(const std::string& name, const std::string& params_json,
                                const std::string& domain_id, const ParamsHash& params_hash,
                                const Tally& empty) {
  const std::string where = "sqlite store: " + file_.string();
  check_empty_for_registration(where, name, empty);
  std::lock_guard write(write_mutex_);
  Transaction tx = begin();
  refresh_if_changed();
  {
    Query select(db_, select_task_hash_);
    if (select.bind_text(1, name).step()) {
      check_same_task(where, name, select.bytes(0), select.text(1), params_hash, domain_id);
      std::lock_guard lock(tallies_mutex_);
      const Tally& stored_tally = tallies_.at(name);
      if (!same_shape(stored_tally, empty)) {
        throw Error("sqlite store: task \"" + name + "\" stores a tally of " +
                    describe_shape(stored_tally) + ", but its protocol makes one of " +
                    describe_shape(empty) + ".");
      }
      return;  // nothing written; the transaction rolls back
    }
  }
  Query(db_, insert_task_)
      .bind_text(1, name)
      .bind_text(2, params_json)
      .bind_blob(3, params_hash)
      .bind_blob(4, encode_tally(empty))
      .bind_text(5, domain_id)
      .step();
  tx.commit();
  std::lock_guard lock(tallies_mutex_);
  tallies_.insert_or_assign(name, empty);
}

std::vector<CommitOutcome> SqliteStore::commit(std::span<const PendingBatch> batches) {
  if (batches.empty()) return {};
  // What one group does to one task; swapped into tallies_ only after COMMIT returned.
  struct TaskChange {
    Tally tally;
    uint64_t batches = 0;
    uint64_t reports = 0;
    int64_t last_batch = 0;
  };
  std::vector<CommitOutcome> outcomes;
  outcomes.reserve(batches.size());
  std::map<std::string, TaskChange> changes;

  std::lock_guard write(write_mutex_);
  Transaction tx = begin();
  refresh_if_changed();
  for (const PendingBatch& batch : batches) {
    auto change = changes.find(batch.task);
    if (change == changes.end()) {
      std::lock_guard lock(tallies_mutex_);
      const auto committed = tallies_.find(batch.task);
      if (committed == tallies_.end()) {
        throw Error("sqlite store: batch " + to_hex(batch.id) + " is for task \"" + batch.task +
                    "\", which is not registered; nothing of the group was committed.");
      }
      change = changes.emplace(batch.task, TaskChange{.tally = committed->second}).first;
    }
    // The ledger: a known id (stored earlier, or earlier in this group) inserts nothing.
    Query insert(db_, insert_batch_);
    insert.bind_blob(1, batch.id)
        .bind_text(2, batch.task)
        .bind_int(3, batch.received)
        .bind_int(4, static_cast<int64_t>(batch.reports.size()))
        .bind_blob(5, batch.raw)
        .step();
    if (sqlite3_changes(db_.get()) == 0) {
      outcomes.push_back(CommitOutcome::kDuplicate);
      continue;
    }
    try {
      change->second.tally.add(std::span<const Report>(batch.reports));
    } catch (const Error& e) {
      throw Error("sqlite store: batch " + to_hex(batch.id) + " of task \"" + batch.task +
                  "\": " + e.what() + " Nothing of the group was committed.");
    }
    ++change->second.batches;
    change->second.reports += batch.reports.size();
    change->second.last_batch = std::max(change->second.last_batch, batch.received);
    outcomes.push_back(CommitOutcome::kAccepted);
  }
  for (const auto& [task, change] : changes) {
    if (change.batches == 0) continue;
    Query(db_, update_task_)
        .bind_text(1, task)
        .bind_blob(2, encode_tally(change.tally))
        .bind_int(3, static_cast<int64_t>(change.batches))
        .bind_int(4, static_cast<int64_t>(change.reports))
        .bind_int(5, change.last_batch)
        .step();
  }
  tx.commit();
  std::lock_guard lock(tallies_mutex_);
  for (auto& [task, change] : changes) {
    if (change.batches != 0) std::swap(tallies_.at(task), change.tally);
  }
  return outcomes;
}

Tally SqliteStore::tally(const std::string& task) const {
  std::lock_guard lock(tallies_mutex_);
  const auto it = tallies_.find(task);
  if (it == tallies_.end()) {
    throw Error("sqlite store: task \"" + task + "\" is not registered in " + file_.string() + ".");
  }
  return it->second;
}

std::vector<TaskRecord> SqliteStore::tasks() const {
  ReaderLease reader(*this);
  std::vector<TaskRecord> out;
  Query rows(reader->db, reader->tasks);
  const std::string where = "sqlite store: " + file_.string();
  while (rows.step()) out.push_back(read_task_record(rows, where));
  return out;
}

void SqliteStore::for_each_batch(const std::string& task,
                                 const std::function<void(const StoredBatch&)>& fn) const {
  ReaderLease reader(*this);
  // Read from the database, like the batches: another process may have registered the task.
  // Tasks are never removed, so a separate snapshot is enough.
  if (!Query(reader->db, reader->task_exists).bind_text(1, task).step()) {
    throw Error("sqlite store: task \"" + task + "\" is not registered in " + file_.string() + ".");
  }
  StoredBatch batch{.task = task};
  // One statement, one read snapshot: rows stream in commit order, none held past its turn.
  Query rows(reader->db, reader->batches);
  rows.bind_text(1, task);
  const std::string where = "sqlite store: " + file_.string();
  while (rows.step()) {
    read_stored_batch(rows, where, batch);
    fn(batch);
  }
}

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::filesystem::path& dir) {
  make_private_dir(dir);
  return std::make_unique<SqliteStore>(dir);
}

}  // namespace residue
