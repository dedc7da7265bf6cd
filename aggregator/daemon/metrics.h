// The daemon's Prometheus metrics (docs/api.md lists them), rendered in the text format for
// GET /metrics. No label ever names a client, token or address. Thread-safe.
//
//   metrics.count_batch("accepted");
//   std::string text = metrics.render();
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace residue {

class Metrics {
 public:
  /// `tasks`: the task names, each with its own accepted-reports counter.
  explicit Metrics(const std::vector<std::string>& tasks);
  ~Metrics();

  /// result: accepted, duplicate, malformed, unauthorized, forbidden, unknown_task,
  /// params_mismatch, too_large, rate_limited, store_error.
  void count_batch(const std::string& result);
  void count_reports(const std::string& task, std::size_t reports);
  /// A tally decoded for GET /estimates (a miss of the estimate cache).
  void count_decode();
  void observe_request(double seconds);
  void observe_commit(double seconds, std::size_t batches);
  void set_queue_depth(std::size_t depth);
  /// A memory or vocab task's build (TaskBuilds): the current step's fraction done, whether one
  /// runs, and each build's end (result ok or failed) with its duration.
  void set_build_progress(const std::string& task, double fraction);
  void set_build_running(const std::string& task, bool running);
  void count_build(const std::string& task, const std::string& result, double seconds);
  std::string render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* batches_;
  prometheus::Family<prometheus::Counter>* reports_;
  prometheus::Counter* decodes_;
  prometheus::Histogram* request_seconds_;
  prometheus::Histogram* commit_seconds_;
  prometheus::Histogram* group_batches_;
  prometheus::Gauge* queue_depth_;
  prometheus::Family<prometheus::Gauge>* build_progress_;
  prometheus::Family<prometheus::Gauge>* build_running_;
  prometheus::Family<prometheus::Counter>* builds_;
  prometheus::Family<prometheus::Gauge>* build_seconds_;
};

}  // namespace residue
