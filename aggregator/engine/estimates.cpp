#include "estimates.h"

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <numeric>

namespace residue {

RankedEstimate::RankedEstimate(const Task& task, Tally tally, Postprocess postprocess)
    : task_(task), tally_(std::move(tally)), postprocess_(postprocess) {
  if (tally_.total_reports() == 0) return;
  estimate_ = task_.protocol.estimator().estimate(tally_);
  shown_ = residue::postprocess(estimate_.frequencies, postprocess_);
  order_.resize(shown_.size());
  std::iota(order_.begin(), order_.end(), 0u);
}

TaskEstimates RankedEstimate::top(std::size_t top, const TaskRecord& record) {
  TaskEstimates out;
  out.task = task_.name;
  out.protocol_id = task_.protocol.id();
  out.k = task_.protocol.params().k;
  out.reports = tally_.total_reports();
  out.batches = record.batches;
  out.last_batch = record.last_batch;
  out.postprocess = postprocess_;
  if (out.reports == 0) return out;
  out.solver_iterations = estimate_.solver_iterations;

  const std::size_t n = std::min(top, order_.size());
  const std::size_t ranked = stderr_.size();
  if (n > ranked) {
    // A strict total order: the values ranked so far stay where they are.
    const auto first = order_.begin() + static_cast<std::ptrdiff_t>(ranked);
    std::partial_sort(first, order_.begin() + static_cast<std::ptrdiff_t>(n), order_.end(),
                      [&](uint32_t a, uint32_t b) {
                        return shown_[a] > shown_[b] || (shown_[a] == shown_[b] && a < b);
                      });
    const std::vector<double> more = task_.protocol.standard_errors(
        tally_, estimate_, std::span<const uint32_t>(order_).subspan(ranked, n - ranked));
    stderr_.insert(stderr_.end(), more.begin(), more.end());
  }
  for (std::size_t i = 0; i < n; ++i) {
    const uint32_t v = order_[i];
    ValueEstimate e{.index = v,
                    .frequency = shown_[v],
                    .count = shown_[v] * static_cast<double>(out.reports),
                    .stderr_frequency = stderr_[i]};
    if (task_.domain) e.value = task_.domain->value_at(v);
    out.top.push_back(std::move(e));
  }
  return out;
}

TaskEstimates estimate_task(const Task& task, const Tally& tally, const TaskRecord& record,
                            std::size_t top, Postprocess postprocess) {
  return RankedEstimate(task, tally, postprocess).top(top, record);
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
