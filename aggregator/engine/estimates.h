// The decode pipeline shared by the daemon's /estimates endpoint and `residue decode`: a
// task's committed tally -> unbiased estimates -> optional post-processing -> the top values
// with standard errors.
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

/// Estimates of `task` from `tally` (its committed counts) and `record` (its counters).
/// With no reports, `top` is empty.
TaskEstimates estimate_task(const Task& task, const Tally& tally, const TaskRecord& record,
                            std::size_t top, Postprocess postprocess);

/// The JSON of docs/api.md, GET /v1/tasks/{task}/estimates.
nlohmann::json to_json(const TaskEstimates& estimates);

/// "2026-11-25T21:30:00Z"; null JSON for 0.
nlohmann::json iso8601_or_null(int64_t unix_seconds);

}  // namespace residue
