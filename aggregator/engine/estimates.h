// The decode pipeline shared by the daemon's /estimates endpoint and `residue decode`: a
// task's committed tally -> unbiased estimates -> optional post-processing -> the top values
// with standard errors. RankedEstimate keeps one decode for many requests (the daemon's
// EstimateCache); estimate_task is the one-shot form.
//
//   TaskEstimates e = estimate_task(task, store.tally(task.name), record, 20, Postprocess::kNone);
//   std::cout << to_json(e).dump(2);
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "residue/estimate/estimate.h"
#include "store.h"
#include "task.h"

namespace residue {

struct ValueEstimate {
  uint32_t index = 0;
  std::optional<std::string> value;  ///< dictionary tasks
  double frequency = 0;              ///< after post-processing
  double count = 0;                  ///< reports x frequency
  double stderr_frequency = 0;       ///< of the unbiased estimate
};

struct TaskEstimates {
  std::string task;
  std::string protocol_id;
  uint32_t k = 0;
  uint64_t reports = 0;
  uint64_t batches = 0;
  int64_t last_batch = 0;  ///< seconds since the epoch; 0: none yet
  Postprocess postprocess = Postprocess::kNone;
  int solver_iterations = 0;
  std::vector<ValueEstimate> top;
};

/// One decode of a task's tally, its values ranked by the post-processed estimate (ties: the
/// lower index first, so every top-n is a prefix of every longer one). The solve runs once, in
/// the constructor; standard errors (MSS: a Gram solve per value) only for as many top values
/// as have been asked for, and are kept. Not thread-safe: callers serialize top().
class RankedEstimate {
 public:
  /// Decodes `tally`. Throws Error when it cannot be decoded yet (MSS: reports in too few
  /// blocks to identify every value); a tally with no reports is no error.
  /// REQUIRES: `task` outlives this.
  RankedEstimate(const Task& task, Tally tally, Postprocess postprocess);

  /// The `top` largest values with standard errors; the counters (batches, last batch) come
  /// from `record`. With no reports, `top` is empty.
  TaskEstimates top(std::size_t top, const TaskRecord& record);

 private:
  const Task& task_;
  Tally tally_;
  Postprocess postprocess_;
  Estimate estimate_;
  std::vector<double> shown_;    // after post-processing
  std::vector<uint32_t> order_;  // its first stderr_.size() values are the top ones, ranked
  std::vector<double> stderr_;   // of order_[i]
};

/// Estimates of `task` from `tally` (its committed counts) and `record` (its counters).
/// With no reports, `top` is empty. Throws Error as RankedEstimate does.
TaskEstimates estimate_task(const Task& task, const Tally& tally, const TaskRecord& record,
                            std::size_t top, Postprocess postprocess);

/// The JSON of docs/api.md, GET /v1/tasks/{task}/estimates.
nlohmann::json to_json(const TaskEstimates& estimates);

/// "2026-11-25T21:30:00Z"; null JSON for 0.
nlohmann::json iso8601_or_null(int64_t unix_seconds);

}  // namespace residue
