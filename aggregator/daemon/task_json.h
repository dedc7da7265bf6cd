// What GET /v1/tasks and GET /v1/tasks/{task} publish of a task (docs/api.md): its kind, the
// parameters and the hash devices echo, the batch limits, the domain, and for a memory or vocab
// task where its artifact is downloaded and the SHA-256 that is its version.
//
//   reply(res, 200, task_json(task, max_reports(task)));
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "task.h"

namespace residue {

nlohmann::json task_json(const Task& task, uint32_t max_reports_per_batch);

}  // namespace residue
