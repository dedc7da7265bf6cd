// Tally: the sufficient statistics of many reports, shared by every counting protocol.
//
// One count vector per block (how many reports of that block contained each position) and
// the number of reports per block. Tallies of the same protocol id and shape merge by
// addition, so shards, threads and days combine exactly. Not thread-safe; give each thread
// its own tally and merge them.
//
//   Tally t = protocol.new_tally();
//   t.add(report);
//   t.merge(other_shard);
//   Estimate e = protocol.estimator().estimate(t, {});
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "residue/protocols/report.h"

namespace residue {

class Tally {
 public:
  /// An empty tally for reports of `shape`, labelled with the versioned protocol id.
  Tally(std::string protocol_id, const ReportShape& shape);

  /// Counts one report. Throws Error if the block or a position is out of range; untrusted
  /// bytes must go through the wire parser first, which checks everything.
  void add(const Report& report);
  /// Counts many reports, block by block: with many blocks (MSS) the counters of one block
  /// stay in cache while its reports are counted, several times faster than add() in a loop
  /// when the tally outgrows the cache. All or nothing: throws Error like add(), naming the
  /// report, and counts none of them.
  void add(std::span<const Report> reports);
  /// Adds `other` into this tally. Throws Error if the protocol id or the shape differ.
  void merge(const Tally& other);
  /// Adds `count` to one counter and `reports` to the block's report count. For restoring
  /// stored tallies and for tests that build exact expected tallies.
  void add_counts(uint32_t block, uint32_t position, uint64_t count);
  void add_reports(uint32_t block, uint64_t reports);

  const std::string& protocol_id() const { return protocol_id_; }
  std::size_t block_count() const { return reports_.size(); }
  uint32_t universe(uint32_t block) const { return universe_[block]; }
  /// Counts of block `block`, size universe(block). Valid until the tally is modified.
  std::span<const uint64_t> counts(uint32_t block) const;
  uint64_t reports(uint32_t block) const { return reports_[block]; }
  uint64_t total_reports() const;

  bool operator==(const Tally&) const = default;

 private:
  std::string protocol_id_;
  std::vector<uint32_t> universe_;
  std::vector<std::size_t> offset_;  // start of each block in counts_
  std::vector<uint64_t> counts_;
  std::vector<uint64_t> reports_;
};

}  // namespace residue
