#include "estimates.h"

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <numeric>

namespace residue {

TaskEstimates estimate_task(const Task& task, const Tally& tally, const TaskRecord& record,
                            std::size_t top, Postprocess postprocess) {
  TaskEstimates out;
  out.task = task.name;
  out.protocol_id = task.protocol.id();
  out.k = task.protocol.params().k;
  out.reports = tally.total_reports();
  out.batches = record.batches;
  out.last_batch = record.last_batch;
  out.postprocess = postprocess;
  if (out.reports == 0) return out;

  const Estimate estimate = task.protocol.estimator().estimate(tally);
  out.solver_iterations = estimate.solver_iterations;
  const std::vector<double> shown = residue::postprocess(estimate.frequencies, postprocess);
  std::vector<uint32_t> order(shown.size());
  std::iota(order.begin(), order.end(), 0u);
  const std::size_t n = std::min(top, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
                    [&](uint32_t a, uint32_t b) { return shown[a] > shown[b]; });
  order.resize(n);
  const std::vector<double> se = task.protocol.standard_errors(tally, estimate, order);
  for (std::size_t i = 0; i < n; ++i) {
    const uint32_t v = order[i];
    ValueEstimate e{.index = v,
                    .frequency = shown[v],
                    .count = shown[v] * static_cast<double>(out.reports),
                    .stderr_frequency = se[i]};
    if (task.domain) e.value = task.domain->value_at(v);
    out.top.push_back(std::move(e));
  }
  return out;
}

nlohmann::json iso8601_or_null(int64_t unix_seconds) {
  if (unix_seconds <= 0) return nullptr;
  const std::time_t t = unix_seconds;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

nlohmann::json to_json(const TaskEstimates& e) {
  nlohmann::json top = nlohmann::json::array();
  for (const ValueEstimate& v : e.top) {
    nlohmann::json row = {{"index", v.index},
                          {"frequency", v.frequency},
                          {"count", v.count},
                          {"stderr", v.stderr_frequency}};
    if (v.value) row["value"] = *v.value;
    top.push_back(std::move(row));
  }
  static const char* const kNames[] = {"none", "clip", "normsub"};
  return {{"task", e.task},
          {"protocol", e.protocol_id},
          {"k", e.k},
          {"reports", e.reports},
          {"batches", e.batches},
          {"last_batch", iso8601_or_null(e.last_batch)},
          {"postprocess", kNames[static_cast<int>(e.postprocess)]},
          {"solver_iterations", e.solver_iterations},
          {"top", std::move(top)}};
}

}  // namespace residue
