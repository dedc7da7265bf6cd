#include "verify.h"

#include <nlohmann/json.hpp>

#include "residue/core/error.h"

namespace residue {

Task task_from_record(const TaskRecord& record, std::optional<Domain> dictionary) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(record.params_json);
  } catch (const nlohmann::json::exception& e) {
    throw Error("task " + record.name + ": stored parameters are not JSON: " + e.what());
  }
  return task_from_params(record.name, params_from_json(json), record.domain_id,
                          std::move(dictionary));
}

std::vector<TaskVerification> verify_store(const Store& store) {
  std::vector<TaskVerification> out;
  for (const TaskRecord& record : store.tasks()) {
    TaskVerification v{.task = record.name};
    const Task task = task_from_record(record);
    if (task.hash != record.params_hash)
      v.problems.push_back("stored parameter hash does not match its parameters");
    Tally recomputed = task.protocol.new_tally();
    std::vector<Report> reports;
    store.for_each_batch(record.name, [&](const StoredBatch& batch) {
      ++v.batches;
      const ParseResult<BatchHeader> parsed = parse_batch(task.codec, batch.raw, reports);
      if (!parsed.ok()) {
        v.problems.push_back("batch " + std::to_string(batch.sequence) +
                             " does not parse: " + parsed.error().message + " at byte " +
                             std::to_string(parsed.error().offset));
        return;
      }
      if (parsed.value().id != batch.id) {
        v.problems.push_back("batch " + std::to_string(batch.sequence) +
                             " is filed under another id");
      }
      if (parsed.value().params_hash != task.hash) {
        v.problems.push_back("batch " + std::to_string(batch.sequence) +
                             " has another parameter hash");
      }
      recomputed.add(reports);
      v.reports += reports.size();
    });
    if (!(recomputed == store.tally(record.name))) {
      v.problems.push_back("the stored tally differs from the one recomputed from raw batches");
    }
    if (v.batches != record.batches || v.reports != record.reports) {
      v.problems.push_back("counters say " + std::to_string(record.batches) + " batches and " +
                           std::to_string(record.reports) + " reports; the raw batches hold " +
                           std::to_string(v.batches) + " and " + std::to_string(v.reports));
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace residue
