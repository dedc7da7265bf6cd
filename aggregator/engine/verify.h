// Verification of a store: every task's tally recomputed from its raw batches and compared
// with the stored one, the audit behind `residue verify` and the crash tests.
//
//   for (const TaskVerification& v : verify_store(*store)) if (!v.problems.empty()) ...
#pragma once

#include <string>
#include <vector>

#include "store.h"
#include "task.h"

namespace residue {

struct TaskVerification {
  std::string task;
  uint64_t batches = 0;
  uint64_t reports = 0;
  /// Empty when the recomputation matches the stored tally and counters exactly.
  std::vector<std::string> problems;
};

/// The task a stored record describes: its stored parameters and domain id, with
/// `dictionary` when given (which must be the one the record names: task_from_params).
Task task_from_record(const TaskRecord& record, std::optional<Domain> dictionary = std::nullopt);

std::vector<TaskVerification> verify_store(const Store& store);

}  // namespace residue
