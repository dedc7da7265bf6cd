// The rows that both stores read back for tasks() and for_each_batch(), decoded and checked in
// one place, so that the SQLite and the PostgreSQL store give the same records and refuse a
// malformed row in the same words. Each store selects the columns in the order given below;
// `Row` is its view of one result row, with text(col), bytes(col) and int64(col).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>

#include "store.h"

namespace residue {

/// Throws Error "<where>: <what> of <size> bytes, not <expected>."
[[noreturn]] void throw_wrong_size(const std::string& where, const std::string& what,
                                   std::size_t size, std::size_t expected);

/// A task row: name, params_json, params_hash, batches, reports, last_batch, domain.
template <typename Row>
TaskRecord read_task_record(const Row& row, const std::string& where) {
  TaskRecord record{.name = row.text(0), .params_json = row.text(1)};
  const std::span<const uint8_t> hash = row.bytes(2);
  if (hash.size() != record.params_hash.size()) {
    throw_wrong_size(where, "task \"" + record.name + "\" has a parameter hash", hash.size(),
                     record.params_hash.size());
  }
  std::copy(hash.begin(), hash.end(), record.params_hash.begin());
  record.batches = static_cast<uint64_t>(row.int64(3));
  record.reports = static_cast<uint64_t>(row.int64(4));
  record.last_batch = row.int64(5);
  record.domain_id = row.text(6);
  return record;
}

/// A batch row: id, sequence, received, body; read into `batch`, whose task the caller set.
template <typename Row>
void read_stored_batch(const Row& row, const std::string& where, StoredBatch& batch) {
  batch.sequence = static_cast<uint64_t>(row.int64(1));
  const std::span<const uint8_t> id = row.bytes(0);
  if (id.size() != batch.id.size()) {
    throw_wrong_size(
        where,
        "batch " + std::to_string(batch.sequence) + " of task \"" + batch.task + "\" has an id",
        id.size(), batch.id.size());
  }
  std::copy(id.begin(), id.end(), batch.id.begin());
  batch.received = row.int64(2);
  const std::span<const uint8_t> body = row.bytes(3);
  batch.raw.assign(body.begin(), body.end());
}

}  // namespace residue
