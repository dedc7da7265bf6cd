// Store: the daemon's durable state. A ledger of batch ids, every accepted batch's raw bytes,
// and each task's tally, changed only by commit(), one durable transaction for a group of
// batches. Nothing outside aggregator/store/ knows which engine implements it (SQLite today,
// PostgreSQL for several daemons). Thread-safe: one writer calls commit(); readers may call
// the const methods at any time and see only committed state.
//
//   std::unique_ptr<Store> store = open_sqlite_store("residue-data");
//   store->register_task("words", params_json, domain.id(), hash, protocol.new_tally());
//   std::vector<CommitOutcome> out = store->commit(batches);   // durable when it returns
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "residue/protocols/report.h"
#include "residue/protocols/tally.h"
#include "residue/wire/batch.h"

namespace residue {

/// A parsed, validated batch waiting to be committed.
struct PendingBatch {
  std::string task;
  BatchId id{};
  /// The batch exactly as received (kept so every tally can be recomputed).
  std::vector<uint8_t> raw;
  /// Its reports, already checked against the task's shape.
  std::vector<Report> reports;
  /// Seconds since the epoch at arrival. Stored; no client address or identity ever is.
  int64_t received = 0;
};

enum class CommitOutcome {
  kAccepted,   ///< new batch id: stored and counted
  kDuplicate,  ///< the id was already in the ledger (or earlier in the same group): no change
};

struct TaskRecord {
  std::string name;
  /// The task's ProtocolParams as canonical JSON.
  std::string params_json;
  /// Domain::id() of the task's dictionary; "" for a task of bare indices.
  std::string domain_id;
  /// task_hash(params, domain_id): what its batches carry.
  ParamsHash params_hash{};
  uint64_t batches = 0;
  uint64_t reports = 0;
  /// Seconds since the epoch of the last accepted batch; 0 when none.
  int64_t last_batch = 0;
};

struct StoredBatch {
  std::string task;
  BatchId id{};
  uint64_t sequence = 0;  ///< commit order, from 1
  int64_t received = 0;
  std::vector<uint8_t> raw;
};

class Store {
 public:
  virtual ~Store() = default;

  /// Declares a task. New: recorded with the empty tally. Known: its stored domain id and
  /// parameter hash must equal `domain_id` and `params_hash` (neither a task's parameters nor
  /// its dictionary can change under its data), else Error naming the task and what changed.
  /// The empty tally fixes the shape counts are kept in.
  virtual void register_task(const std::string& name, const std::string& params_json,
                             const std::string& domain_id, const ParamsHash& params_hash,
                             const Tally& empty) = 0;

  /// Commits the batches in one durable transaction with the updated tallies of their tasks:
  /// each batch id is looked up in the ledger; a new one is recorded with its raw bytes and
  /// its reports are added to the task's tally; a known one changes nothing. When this
  /// returns, the outcome is on disk (SQLite: WAL, synchronous=FULL). On any failure it throws
  /// Error and nothing of the group is stored or counted.
  /// REQUIRES: every task registered, every report fits the task's shape.
  virtual std::vector<CommitOutcome> commit(std::span<const PendingBatch> batches) = 0;

  /// The committed tally of `task`. Throws Error for an unknown task.
  virtual Tally tally(const std::string& task) const = 0;
  /// Every registered task, by name.
  virtual std::vector<TaskRecord> tasks() const = 0;
  /// Calls `fn` for every stored batch of `task` in commit order (for verification, exports).
  virtual void for_each_batch(const std::string& task,
                              const std::function<void(const StoredBatch&)>& fn) const = 0;
};

}  // namespace residue
