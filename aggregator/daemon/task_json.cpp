#include "task_json.h"

#include "residue/core/hex.h"
#include "residue/wire/batch.h"

namespace residue {

nlohmann::json task_json(const Task& task, uint32_t max_reports_per_batch) {
  nlohmann::json domain = {{"kind", "size"}};
  if (task.domain) {
    std::vector<std::string> values;
    for (uint32_t i = 0; i < task.domain->size(); ++i) values.push_back(task.domain->value_at(i));
    domain = {{"kind", "dictionary"}, {"values", values}};
  } else if (task.artifact) {
    domain = {{"kind", "artifact"}};  // the task hash covers "artifact:" + artifact.sha256
  }
  nlohmann::json out = {{"name", task.name},
                        {"kind", task_kind_name(task.kind)},
                        {"params", to_json(task.protocol.params())},
                        {"params_hash", to_hex(task.hash)},
                        {"batch_format_version", kBatchFormatVersion},
                        {"max_reports_per_batch", max_reports_per_batch},
                        {"domain", domain}};
  // The stage tells a device which value to compute; the task hash covers it.
  if (task.kind == TaskKind::kMemory) out["stage"] = std::string(memory_stage_name(task.stage));
  if (task.artifact) {
    out["artifact"] = {{"sha256", task.artifact->sha256},
                       {"bytes", task.artifact->bytes.size()},
                       {"path", "/v1/tasks/" + task.name + "/artifact"}};
  }
  return out;
}

}  // namespace residue
