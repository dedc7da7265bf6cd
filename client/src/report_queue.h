// ReportQueue: the client's durable outbox. Reports wait here, encrypted at rest, until the
// daemon has acknowledged the batch that carried them; nothing is lost when the app dies or
// the network fails, and nothing is counted twice.
//
// The file is an append-only log of records, each sealed on its own with AES-256-GCM under
// the queue key (a fresh random 96-bit nonce per record; the record's position is its
// associated data and its type is sealed with the payload, so records cannot be altered,
// reordered, dropped from the middle or replayed unnoticed):
//   REPORT(bytes)        one encoded report waiting to be batched
//   BATCH(id, n)         the next n waiting reports now form batch `id` (random, kept across
//                        retries and restarts, so a retry of a delivered batch is a duplicate)
//   ACK(id)              the daemon acknowledged batch `id`: its reports are done
// Every append is fsync'ed before the call returns (a report is either queued whole or not at
// all). Opening replays the log: a torn last record (a crash mid-append) is cut off; any
// record that fails authentication elsewhere means tampering or corruption, reported as an
// Error naming the file and byte offset, never silently skipped. When an acknowledgement
// empties the outbox, the log is compacted: the reports still waiting (often none) are
// rewritten to a temporary file, which is renamed over the log. Not thread-safe: the Client
// serializes calls.
//
//   ReportQueue q(state_dir / "queue", key);
//   q.push(report_bytes);
//   q.form_batches(1000, rng);
//   while (!q.outbox().empty() && upload(q.outbox().front())) q.acknowledge(q.outbox().front().id);
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "residue/random/rng.h"
#include "residue/wire/batch.h"

namespace residue {

using QueueKey = std::array<uint8_t, 32>;

struct QueuedBatch {
  BatchId id{};
  /// The reports' bytes, in the order they were pushed.
  std::vector<std::vector<uint8_t>> reports;
};

class ReportQueue {
 public:
  /// Opens `path` (creating it, mode 0600) and replays it. Throws Error naming the path and
  /// offset when a record fails authentication (wrong key, tampering) or is malformed, and
  /// when another ReportQueue has the file open (it is locked with flock).
  ReportQueue(std::filesystem::path path, const QueueKey& key);
  ~ReportQueue();
  ReportQueue(const ReportQueue&) = delete;
  ReportQueue& operator=(const ReportQueue&) = delete;

  /// Appends one report; durable when it returns. REQUIRES: 1 <= bytes.size() <= 2^24.
  void push(std::span<const uint8_t> report);
  /// Groups the waiting reports into batches of at most `max_reports`, each with a fresh id
  /// from `rng` (use a Csprng), recorded durably before any upload.
  void form_batches(uint32_t max_reports, Rng& rng);
  /// The formed, unacknowledged batches, oldest first. Valid until the next non-const call.
  const std::vector<QueuedBatch>& outbox() const { return outbox_; }
  /// Records that the daemon acknowledged `id`; compacts the file when the outbox is empty.
  /// An unknown id is ignored.
  void acknowledge(const BatchId& id);

  std::size_t waiting() const { return waiting_.size(); }
  std::size_t batched_reports() const;
  /// Bytes of the file (for tests and status).
  std::uintmax_t file_size() const;

 private:
  std::filesystem::path path_;
  QueueKey key_;
  std::vector<std::vector<uint8_t>> waiting_;
  std::vector<QueuedBatch> outbox_;
  uint64_t records_ = 0;  // records in the file: the next record's sequence number
  int fd_ = -1;
};

}  // namespace residue
