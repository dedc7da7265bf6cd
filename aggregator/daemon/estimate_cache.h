// EstimateCache: the daemon's decoded tallies, one per (task, post-processing), each kept while
// its tally version stays the same. The version is the task's committed batches and reports as
// the store counts them (with PostgreSQL: summed over every daemon's shard), so a commit by any
// daemon retires it. Repeated GET /estimates with no commit between cost no decode, and
// concurrent requests for one version wait for a single decode instead of each running one.
// Thread-safe.
//
//   EstimateCache cache(store, metrics);
//   TaskEstimates e = cache.estimates(task, 20, Postprocess::kNone);   // Error -> 503
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "estimates.h"
#include "metrics.h"
#include "store.h"
#include "task.h"

namespace residue {

class EstimateCache {
 public:
  EstimateCache(const Store& store, Metrics& metrics) : store_(store), metrics_(metrics) {}

  /// The top `top` estimates of `task` at its current tally version. Throws Error, with a
  /// message for the client, when the store cannot be read or the tally cannot be decoded yet
  /// (the decode failure is kept for the version, so it is not recomputed either).
  /// REQUIRES: `task` outlives the cache.
  TaskEstimates estimates(const Task& task, std::size_t top, Postprocess postprocess);

 private:
  struct Entry {
    uint64_t batches = 0, reports = 0;  // the version
    std::mutex mu;                      // held while decoding and ranking
    std::optional<RankedEstimate> ranked;
    std::optional<std::string> failure;  // why the version cannot be decoded
  };

  TaskRecord record(const std::string& task) const;
  Tally tally(const std::string& task) const;

  const Store& store_;
  Metrics& metrics_;
  std::mutex mu_;
  std::map<std::pair<std::string, Postprocess>, std::shared_ptr<Entry>> entries_;
};

}  // namespace residue
