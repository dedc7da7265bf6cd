// PostgresStore: the Store in PostgreSQL, shared by many daemons. Its tables and their
// migrations are in postgres_schema.h, the libpq layer it speaks through in pg_connection.h.
//
// Commit: one transaction for the group of batches the daemon's CommitQueue hands in:
//   1. the ledger rows (INSERT ... ON CONFLICT (id) DO NOTHING RETURNING id) and, for the ids
//      that were new, their raw bodies: one statement;
//   2. per task with new batches: this shard's totals row is locked (SELECT ... FOR UPDATE);
//      the store keeps the shard's counts in memory and, if the row's version is not the one
//      it last wrote (another process wrote the shard, or a COMMIT whose reply was lost went
//      through), reloads them under that lock; then it writes the changed blocks' counts with
//      the new batches' reports added, and the totals with version + 1;
//   3. COMMIT. The daemon replies after COMMIT returned; the memory copy changes only then.
// A batch another daemon committed first inserts no ledger row and adds nothing; one another
// daemon is committing makes the insert wait for that transaction's end, then adds nothing if
// it committed. A group is atomic: each of its batches is ledger row, raw bytes and counts
// together or not at all, which is all that exactly-once needs; grouping only shares one WAL
// flush among the batches. Ids go in sorted and shard rows are locked in task order, so two
// groups cannot deadlock; should one happen anyway, the group is retried (nothing committed).
// Counts are written whole rather than added in SQL: an element-wise add in PL/pgSQL costs
// about 0.4 us per counter, 5-10 ms per commit at k = 1024; writing the arrays costs 0.2 ms.
//
// Connection loss: when it happens before COMMIT was sent, nothing can have committed, so the
// group is retried once on a fresh connection (a database restart then costs an idle daemon no
// 503). Otherwise commit() throws (the daemon answers 503 and the client retries; if COMMIT did
// go through, the retry finds the id in the ledger). Reconnects back off exponentially; while
// the next attempt is not due, commit() throws at once.
#include "postgres_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>

#include "pg_connection.h"
#include "postgres_schema.h"
#include "registration.h"
#include "residue/core/error.h"
#include "residue/core/hex.h"
#include "residue/wire/tally_codec.h"
#include "stored_rows.h"

namespace residue {
namespace {

using Clock = std::chrono::steady_clock;
using pg::append_be64;
using pg::BinaryArray;
using pg::Connection;
using pg::DatabaseError;
using pg::kByteaOid;
using pg::kInt4Oid;
using pg::kInt8Oid;
using pg::kTextOid;
using pg::Params;
using pg::read_be;
using pg::Result;
using pg::Row;
using pg::Statement;
using pg::Transaction;

constexpr int64_t kSecondsPerDay = 86400;

// ---- statements ----

constexpr Statement kInsertBatches = {"residue_insert_batches", R"sql(
WITH input AS (
  SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::integer[], $5::bytea[])
    AS t(id, task, received, reports, body)),
ledger AS (
  INSERT INTO residue.batches(id, task, shard, received, received_day, reports)
  SELECT id, task, $6::integer, received, (received / 86400)::integer, reports FROM input
  ORDER BY id
  ON CONFLICT (id) DO NOTHING
  RETURNING id, received_day),
bodies AS (
  INSERT INTO residue.batch_bodies(received_day, id, body)
  SELECT ledger.received_day, ledger.id, input.body FROM ledger JOIN input USING (id))
SELECT id FROM ledger)sql"};

constexpr Statement kLockShard = {"residue_lock_shard", R"sql(
SELECT version FROM residue.shard_totals WHERE task = $1::text AND shard = $2::integer
FOR UPDATE)sql"};

constexpr Statement kCreateShard = {"residue_create_shard", R"sql(
INSERT INTO residue.shard_totals(task, shard) VALUES ($1::text, $2::integer)
ON CONFLICT (task, shard) DO NOTHING)sql"};

constexpr Statement kSelectShardTally = {
    "residue_select_shard_tally",
    "SELECT block, reports, counts FROM residue.tally WHERE task = $1::text AND shard = "
    "$2::integer"};

constexpr Statement kWriteTally = {"residue_write_tally", R"sql(
INSERT INTO residue.tally AS t (task, shard, block, reports, counts)
SELECT $1::text, $2::integer, b.block, b.reports, b.counts
FROM unnest($3::integer[], $4::bigint[], $5::bytea[]) AS b(block, reports, counts)
ON CONFLICT (task, shard, block) DO UPDATE
  SET reports = EXCLUDED.reports, counts = EXCLUDED.counts)sql"};

constexpr Statement kAddTotals = {"residue_add_totals", R"sql(
UPDATE residue.shard_totals
SET batches = batches + $3::bigint, reports = reports + $4::bigint,
    last_batch = GREATEST(last_batch, $5::bigint), version = version + 1
WHERE task = $1::text AND shard = $2::integer)sql"};

constexpr Statement kEnsureDay = {"residue_ensure_day",
                                  "SELECT residue.ensure_day_partition($1::integer)"};

constexpr Statement kInsertTask = {"residue_insert_task", R"sql(
INSERT INTO residue.tasks(name, params_json, params_hash, empty_tally, domain)
VALUES ($1::text, $2::text, $3::bytea, $4::bytea, $5::text) ON CONFLICT (name) DO NOTHING)sql"};

constexpr Statement kSelectTask = {
    "residue_select_task",
    "SELECT params_hash, empty_tally, domain FROM residue.tasks WHERE name = $1::text"};

constexpr Statement kSelectTally = {
    "residue_select_tally",
    "SELECT block, reports, counts FROM residue.tally WHERE task = $1::text ORDER BY shard, block"};

// kSelectTasks and kSelectBatches select their columns in the order stored_rows.h decodes.
constexpr Statement kSelectTasks = {"residue_select_tasks", R"sql(
SELECT t.name, t.params_json, t.params_hash, coalesce(sum(s.batches), 0)::bigint,
       coalesce(sum(s.reports), 0)::bigint, coalesce(max(s.last_batch), 0)::bigint, t.domain
FROM residue.tasks t LEFT JOIN residue.shard_totals s ON s.task = t.name
GROUP BY t.name, t.params_json, t.params_hash, t.domain ORDER BY t.name)sql"};

constexpr Statement kSelectBatches = {"residue_select_batches", R"sql(
SELECT b.id, b.sequence, b.received, d.body
FROM residue.batches b JOIN residue.batch_bodies d ON d.received_day = b.received_day AND d.id = b.id
WHERE b.task = $1::text ORDER BY b.sequence)sql"};

int32_t day_of(int64_t unix_seconds) {
  return static_cast<int32_t>(unix_seconds / kSecondsPerDay);
}

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(const PostgresStoreOptions& options);

  void register_task(const std::string& name, const std::string& params_json,
                     const std::string& domain_id, const ParamsHash& params_hash,
                     const Tally& empty) override;
  std::vector<CommitOutcome> commit(std::span<const PendingBatch> batches) override;
  Tally tally(const std::string& task) const override;
  std::vector<TaskRecord> tasks() const override;
  void for_each_batch(const std::string& task,
                      const std::function<void(const StoredBatch&)>& fn) const override;

 private:
  std::unique_ptr<Connection> connect() const {
    return std::make_unique<Connection>(options_.conninfo, application_name_, where_);
  }
  /// The write connection, (re)connecting when it is due. REQUIRES: write_mutex_ held.
  Connection& writer();
  void writer_lost(const std::string& why);
  std::vector<CommitOutcome> commit_once(Connection& db, std::span<const PendingBatch> batches,
                                         bool& commit_sent);
  void ensure_days(Connection& db, const std::set<int32_t>& days);
  /// This shard's counts of `task` as committed, its shard_totals row locked until the end of
  /// the transaction. REQUIRES: in a transaction on the writer, task registered.
  struct ShardState {
    Tally tally;
    int64_t version = 0;
  };
  ShardState locked_shard(Connection& db, const std::string& task);
  /// Adds one tally row (block, reports, counts) to `into`, checking it fits.
  void add_row(const std::string& task, const Row& row, Tally& into) const;
  /// The stored empty tally of `task` (cached: it never changes), or nullopt if unknown.
  std::optional<Tally> empty_tally(Connection& db, const std::string& task) const;

  /// Runs fn(connection) on a pooled reader; once more on a fresh connection if a pooled one
  /// turns out dead.
  template <typename Fn>
  auto with_reader(Fn&& fn) const -> decltype(fn(std::declval<Connection&>()));

  const PostgresStoreOptions options_;
  const std::string where_;
  const std::string application_name_;

  std::mutex write_mutex_;
  std::unique_ptr<Connection> writer_;
  Clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  std::string last_error_;
  std::set<int32_t> ready_days_;
  /// This shard's counts per task as last committed by this object, with their version.
  std::map<std::string, ShardState> shards_;

  mutable std::mutex readers_mutex_;
  mutable std::vector<std::unique_ptr<Connection>> idle_readers_;
  mutable std::mutex empties_mutex_;
  mutable std::map<std::string, Tally> empties_;
};

PostgresStore::PostgresStore(const PostgresStoreOptions& options)
    : options_(options),
      where_("postgres store (" + describe_conninfo(options.conninfo) + ")"),
      application_name_("residue shard " + std::to_string(options.shard)) {
  if (options_.shard > static_cast<uint32_t>(INT32_MAX)) {
    throw Error(where_ + ": shard must be in [0, 2^31), but is " + std::to_string(options_.shard) +
                ".");
  }
  if (options_.reconnect_min.count() <= 0 || options_.reconnect_max < options_.reconnect_min) {
    throw Error(where_ + ": reconnect waits must satisfy 0 < min <= max.");
  }
  std::unique_ptr<Connection> db = connect();
  pg::migrate_schema(*db, options_.migrate);
  writer_ = std::move(db);
}

Connection& PostgresStore::writer() {
  if (writer_ && writer_->ok()) return *writer_;
  writer_.reset();
  const auto now = Clock::now();
  if (now < next_attempt_) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - now);
    throw Error(where_ + ": not connected (" + last_error_ + "); next attempt in " +
                std::to_string(wait.count()) + " ms.");
  }
  try {
    writer_ = connect();
  } catch (const DatabaseError& e) {
    backoff_ = backoff_.count() == 0 ? options_.reconnect_min
                                     : std::min(backoff_ * 2, options_.reconnect_max);
    next_attempt_ = now + backoff_;
    last_error_ = e.what();
    throw;
  }
  backoff_ = std::chrono::milliseconds(0);
  return *writer_;
}

void PostgresStore::writer_lost(const std::string& why) {
  writer_.reset();
  last_error_ = why;
  ready_days_.clear();
}

void PostgresStore::ensure_days(Connection& db, const std::set<int32_t>& days) {
  for (const int32_t day : days) {
    // Tomorrow's partition too: at midnight no commit waits on creating one.
    for (const int32_t d : {day, day + 1}) {
      if (ready_days_.count(d)) continue;
      db.exec(kEnsureDay, Params().int4(d));
      ready_days_.insert(d);
    }
  }
}

std::optional<Tally> PostgresStore::empty_tally(Connection& db, const std::string& task) const {
  {
    std::lock_guard lock(empties_mutex_);
    if (const auto it = empties_.find(task); it != empties_.end()) return it->second;
  }
  Result r = db.exec(kSelectTask, Params().bytes(std::string(task)));
  if (PQntuples(r.get()) == 0) return std::nullopt;
  const ParseResult<Tally> empty = decode_tally(Row(r.get(), 0, where_).bytes(1));
  if (!empty.ok()) {
    throw Error(where_ + ": the stored shape of task \"" + task +
                "\" is corrupt: " + empty.error().message + ".");
  }
  std::lock_guard lock(empties_mutex_);
  return empties_.insert_or_assign(task, empty.value()).first->second;
}

void PostgresStore::register_task(const std::string& name, const std::string& params_json,
                                  const std::string& domain_id, const ParamsHash& params_hash,
                                  const Tally& empty) {
  check_empty_for_registration(where_, name, empty);
  const std::vector<uint8_t> shape = encode_tally(empty);
  std::lock_guard write(write_mutex_);
  Connection& db = writer();
  Transaction tx(db);
  db.exec(kInsertTask, Params()
                           .bytes(std::string(name))
                           .bytes(std::string(params_json))
                           .bytes(params_hash)
                           .bytes(shape)
                           .bytes(std::string(domain_id)));
  Result r = db.exec(kSelectTask, Params().bytes(std::string(name)));
  const Row row(r.get(), 0, where_);
  check_same_task(where_, name, row.bytes(0), row.text(2), params_hash, domain_id);
  // The encoding of an empty tally is its protocol id and shape, byte for byte.
  const std::span<const uint8_t> stored_shape = row.bytes(1);
  if (!std::equal(stored_shape.begin(), stored_shape.end(), shape.begin(), shape.end())) {
    throw Error(where_ + ": task \"" + name +
                "\" is stored with another protocol id or tally shape than its protocol makes.");
  }
  db.exec(kCreateShard,
          Params().bytes(std::string(name)).int4(static_cast<int32_t>(options_.shard)));
  tx.commit();
  std::lock_guard lock(empties_mutex_);
  empties_.insert_or_assign(name, empty);
}

std::vector<CommitOutcome> PostgresStore::commit(std::span<const PendingBatch> batches) {
  if (batches.empty()) return {};
  std::lock_guard write(write_mutex_);
  for (int attempt = 0;; ++attempt) {
    Connection& db = writer();
    bool commit_sent = false;
    try {
      return commit_once(db, batches, commit_sent);
    } catch (const DatabaseError& e) {
      ready_days_.clear();  // in case a partition went missing under us
      if (e.connection_lost() || !db.ok()) {
        writer_lost(e.what());
        if (commit_sent || attempt > 0) {
          throw Error(e.what() +
                      std::string(commit_sent ? " The outcome of COMMIT is unknown;"
                                              : " Nothing was committed;") +
                      " retry the batches.");
        }
        continue;  // nothing committed: once more on a fresh connection
      }
      if (!e.retryable() || attempt >= 3) throw;
    }
  }
}

std::vector<CommitOutcome> PostgresStore::commit_once(Connection& db,
                                                      std::span<const PendingBatch> batches,
                                                      bool& commit_sent) {
  // The first of each id goes to the database (in id order); later copies in the group are
  // duplicates of it, like ids already in the ledger.
  std::vector<std::size_t> order(batches.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return batches[a].id < batches[b].id; });
  std::vector<std::size_t> firsts;
  for (const std::size_t i : order) {
    if (firsts.empty() || batches[firsts.back()].id != batches[i].id) firsts.push_back(i);
  }

  struct TaskChange {
    Tally delta;
    uint64_t batches = 0;
    uint64_t reports = 0;
    int64_t last_batch = 0;
  };
  std::map<std::string, TaskChange> changes;
  std::set<int32_t> days;
  BinaryArray ids(kByteaOid), tasks(kTextOid), received(kInt8Oid), reports(kInt4Oid),
      bodies(kByteaOid);
  for (const std::size_t i : firsts) {
    const PendingBatch& b = batches[i];
    if (!changes.count(b.task)) {
      std::lock_guard lock(empties_mutex_);
      const auto empty = empties_.find(b.task);
      if (empty == empties_.end()) {
        throw Error(where_ + ": batch " + to_hex(b.id) + " is for task \"" + b.task +
                    "\", which is not registered; nothing of the group was committed.");
      }
      changes.emplace(b.task, TaskChange{.delta = empty->second});
    }
    ids.add_bytes(b.id);
    tasks.add_text(b.task);
    received.add_int8(b.received);
    reports.add_int4(static_cast<int32_t>(b.reports.size()));
    bodies.add_bytes(b.raw);
    days.insert(day_of(b.received));
  }
  ensure_days(db, days);

  Transaction tx(db);
  Params insert;
  insert.array(ids).array(tasks).array(received).array(reports).array(bodies).int4(
      static_cast<int32_t>(options_.shard));
  const Result fresh_rows = db.exec(kInsertBatches, insert);
  std::set<BatchId> fresh;
  for (int r = 0; r < PQntuples(fresh_rows.get()); ++r) {
    const std::span<const uint8_t> id = Row(fresh_rows.get(), r, where_).bytes(0);
    BatchId b{};
    if (id.size() != b.size()) throw Error(where_ + ": the ledger returned a malformed id.");
    std::copy(id.begin(), id.end(), b.begin());
    fresh.insert(b);
  }

  std::vector<CommitOutcome> outcomes(batches.size(), CommitOutcome::kDuplicate);
  for (const std::size_t i : firsts) {
    const PendingBatch& b = batches[i];
    if (!fresh.count(b.id)) continue;
    TaskChange& change = changes.at(b.task);
    try {
      change.delta.add(std::span<const Report>(b.reports));
    } catch (const Error& e) {
      throw Error(where_ + ": batch " + to_hex(b.id) + " of task \"" + b.task + "\": " + e.what() +
                  " Nothing of the group was committed.");
    }
    ++change.batches;
    change.reports += b.reports.size();
    change.last_batch = std::max(change.last_batch, b.received);
    outcomes[i] = CommitOutcome::kAccepted;
  }

  // This shard's rows, task by task (map order: the lock order of every process).
  const int32_t shard = static_cast<int32_t>(options_.shard);
  std::vector<std::pair<std::string, ShardState>> written;
  for (const auto& [task, change] : changes) {
    if (change.batches == 0) continue;
    ShardState next = locked_shard(db, task);
    next.tally.merge(change.delta);
    ++next.version;
    BinaryArray blocks(kInt4Oid), block_reports(kInt8Oid), counts(kByteaOid);
    std::string packed;
    for (uint32_t j = 0; j < next.tally.block_count(); ++j) {
      if (change.delta.reports(j) == 0) continue;  // unchanged
      blocks.add_int4(static_cast<int32_t>(j));
      block_reports.add_int8(static_cast<int64_t>(next.tally.reports(j)));
      packed.clear();
      for (const uint64_t v : next.tally.counts(j)) append_be64(packed, v);
      counts.add_bytes({reinterpret_cast<const uint8_t*>(packed.data()), packed.size()});
    }
    db.exec(kWriteTally, Params()
                             .bytes(std::string(task))
                             .int4(shard)
                             .array(blocks)
                             .array(block_reports)
                             .array(counts));
    db.exec(kAddTotals, Params()
                            .bytes(std::string(task))
                            .int4(shard)
                            .int8(static_cast<int64_t>(change.batches))
                            .int8(static_cast<int64_t>(change.reports))
                            .int8(change.last_batch));
    written.emplace_back(task, std::move(next));
  }
  commit_sent = true;
  tx.commit();
  for (auto& [task, state] : written) shards_.insert_or_assign(task, std::move(state));
  return outcomes;
}

PostgresStore::ShardState PostgresStore::locked_shard(Connection& db, const std::string& task) {
  const int32_t shard = static_cast<int32_t>(options_.shard);
  Result lock = db.exec(kLockShard, Params().bytes(std::string(task)).int4(shard));
  if (PQntuples(lock.get()) == 0) {  // registered by a program with another shard
    db.exec(kCreateShard, Params().bytes(std::string(task)).int4(shard));
    lock = db.exec(kLockShard, Params().bytes(std::string(task)).int4(shard));
  }
  const int64_t version = Row(lock.get(), 0, where_).int64(0);
  if (const auto it = shards_.find(task); it != shards_.end() && it->second.version == version) {
    return it->second;
  }
  // Not loaded yet, or written by someone else since: the committed rows, read under the lock.
  ShardState state{.tally = *empty_tally(db, task), .version = version};
  Result rows = db.exec(kSelectShardTally, Params().bytes(std::string(task)).int4(shard));
  for (int i = 0; i < PQntuples(rows.get()); ++i)
    add_row(task, Row(rows.get(), i, where_), state.tally);
  return state;
}

template <typename Fn>
auto PostgresStore::with_reader(Fn&& fn) const -> decltype(fn(std::declval<Connection&>())) {
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> db;
    {
      std::lock_guard lock(readers_mutex_);
      if (!idle_readers_.empty()) {
        db = std::move(idle_readers_.back());
        idle_readers_.pop_back();
      }
    }
    const bool pooled = db != nullptr;
    if (!db) db = connect();
    try {
      if constexpr (std::is_void_v<decltype(fn(*db))>) {
        fn(*db);
        std::lock_guard lock(readers_mutex_);
        idle_readers_.push_back(std::move(db));
        return;
      } else {
        auto result = fn(*db);
        std::lock_guard lock(readers_mutex_);
        idle_readers_.push_back(std::move(db));
        return result;
      }
    } catch (const DatabaseError& e) {
      // A pooled connection the server closed meanwhile (a restart): try a fresh one.
      if (pooled && attempt == 0 && (e.connection_lost() || !db->ok())) continue;
      throw;
    }
  }
}

void PostgresStore::add_row(const std::string& task, const Row& row, Tally& into) const {
  const int32_t block = row.int32(0);
  const std::span<const uint8_t> counts = row.bytes(2);
  if (block < 0 || static_cast<uint32_t>(block) >= into.block_count() ||
      counts.size() != 8 * std::size_t{into.universe(static_cast<uint32_t>(block))}) {
    throw Error(where_ + ": task \"" + task + "\" has a tally row of block " +
                std::to_string(block) + " with " + std::to_string(counts.size()) +
                " bytes of counts, which does not fit its shape.");
  }
  const auto j = static_cast<uint32_t>(block);
  into.add_reports(j, static_cast<uint64_t>(row.int64(1)));
  for (std::size_t p = 0; p < counts.size() / 8; ++p) {
    const uint64_t c = read_be(counts.data() + 8 * p, 8);
    if (c != 0) into.add_counts(j, static_cast<uint32_t>(p), c);
  }
}

Tally PostgresStore::tally(const std::string& task) const {
  return with_reader([&](Connection& db) {
    std::optional<Tally> out = empty_tally(db, task);
    if (!out) throw Error(where_ + ": task \"" + task + "\" is not registered.");
    Result r = db.exec(kSelectTally, Params().bytes(std::string(task)));
    for (int i = 0; i < PQntuples(r.get()); ++i) add_row(task, Row(r.get(), i, where_), *out);
    return std::move(*out);
  });
}

std::vector<TaskRecord> PostgresStore::tasks() const {
  return with_reader([&](Connection& db) {
    Result r = db.exec(kSelectTasks, Params());
    std::vector<TaskRecord> out;
    for (int i = 0; i < PQntuples(r.get()); ++i)
      out.push_back(read_task_record(Row(r.get(), i, where_), where_));
    return out;
  });
}

void PostgresStore::for_each_batch(const std::string& task,
                                   const std::function<void(const StoredBatch&)>& fn) const {
  with_reader([&](Connection& db) {
    if (!empty_tally(db, task)) throw Error(where_ + ": task \"" + task + "\" is not registered.");
    StoredBatch batch{.task = task};
    bool delivered = false;
    try {
      db.stream(kSelectBatches, Params().bytes(std::string(task)), [&](const PGresult* r) {
        read_stored_batch(Row(r, 0, where_), where_, batch);
        delivered = true;
        fn(batch);
      });
    } catch (const DatabaseError& e) {
      // Once `fn` has seen rows, a retry would show it them again: fail instead.
      if (delivered) throw Error(e.what());
      throw;
    }
  });
}

}  // namespace

std::unique_ptr<Store> open_postgres_store(const PostgresStoreOptions& options) {
  return std::make_unique<PostgresStore>(options);
}

std::string describe_conninfo(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string why = error ? pg::trim_message(error) : "out of memory";
    PQfreemem(error);
    return "unparsable connection string: " + why;
  }
  std::string out;
  for (const char* key : {"host", "hostaddr", "port", "dbname", "user"}) {
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (std::strcmp(o->keyword, key) == 0 && o->val != nullptr && o->val[0] != '\0') {
        out += (out.empty() ? "" : " ") + std::string(key) + "=" + o->val;
      }
    }
  }
  PQconninfoFree(options);
  return out.empty() ? "libpq defaults" : out;
}

}  // namespace residue
