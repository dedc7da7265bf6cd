#include "metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace residue {

Metrics::Metrics(const std::vector<std::string>& tasks)
    : registry_(std::make_shared<prometheus::Registry>()) {
  batches_ = &prometheus::BuildCounter()
                  .Name("residue_batches_total")
                  .Help("Report batches received, by result")
                  .Register(*registry_);
  for (const char* result :
       {"accepted", "duplicate", "malformed", "unauthorized", "forbidden", "unknown_task",
        "params_mismatch", "too_large", "rate_limited", "store_error"}) {
    batches_->Add({{"result", result}});  // present at 0 from the start
  }
  reports_ = &prometheus::BuildCounter()
                  .Name("residue_reports_total")
                  .Help("Reports accepted and stored, by task")
                  .Register(*registry_);
  for (const std::string& task : tasks) reports_->Add({{"task", task}});
  decodes_ = &prometheus::BuildCounter()
                  .Name("residue_estimate_decodes_total")
                  .Help("Tallies decoded for GET /estimates (estimate cache misses)")
                  .Register(*registry_)
                  .Add({});
  const prometheus::Histogram::BucketBoundaries latency = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  request_seconds_ = &prometheus::BuildHistogram()
                          .Name("residue_request_duration_seconds")
                          .Help("Report upload handling time, including the commit wait")
                          .Register(*registry_)
                          .Add({}, latency);
  commit_seconds_ = &prometheus::BuildHistogram()
                         .Name("residue_store_commit_duration_seconds")
                         .Help("Store commit time of one group of batches")
                         .Register(*registry_)
                         .Add({}, latency);
  group_batches_ =
      &prometheus::BuildHistogram()
           .Name("residue_commit_group_batches")
           .Help("Batches committed together in one transaction")
           .Register(*registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256, 512});
  queue_depth_ = &prometheus::BuildGauge()
                      .Name("residue_commit_queue_depth")
                      .Help("Batches waiting for the next commit")
                      .Register(*registry_)
                      .Add({});
  build_progress_ = &prometheus::BuildGauge()
                         .Name("residue_build_progress")
                         .Help("Fraction done of the current step of a task's build")
                         .Register(*registry_);
  build_running_ = &prometheus::BuildGauge()
                        .Name("residue_build_running")
                        .Help("1 while a memory or vocab task is being built")
                        .Register(*registry_);
  builds_ = &prometheus::BuildCounter()
                 .Name("residue_builds_total")
                 .Help("Builds of memory and vocab tasks, by task and result (ok, failed)")
                 .Register(*registry_);
  build_seconds_ = &prometheus::BuildGauge()
                        .Name("residue_build_last_duration_seconds")
                        .Help("Duration of a task's last build, ok or failed")
                        .Register(*registry_);
}

Metrics::~Metrics() = default;

void Metrics::count_batch(const std::string& result) {
  batches_->Add({{"result", result}}).Increment();
}

void Metrics::count_reports(const std::string& task, std::size_t reports) {
  reports_->Add({{"task", task}}).Increment(static_cast<double>(reports));
}

void Metrics::count_decode() {
  decodes_->Increment();
}

void Metrics::observe_request(double seconds) {
  request_seconds_->Observe(seconds);
}

void Metrics::observe_commit(double seconds, std::size_t batches) {
  commit_seconds_->Observe(seconds);
  group_batches_->Observe(static_cast<double>(batches));
}

void Metrics::set_queue_depth(std::size_t depth) {
  queue_depth_->Set(static_cast<double>(depth));
}

void Metrics::set_build_progress(const std::string& task, double fraction) {
  build_progress_->Add({{"task", task}}).Set(fraction);
}

void Metrics::set_build_running(const std::string& task, bool running) {
  build_running_->Add({{"task", task}}).Set(running ? 1 : 0);
}

void Metrics::count_build(const std::string& task, const std::string& result, double seconds) {
  builds_->Add({{"task", task}, {"result", result}}).Increment();
  build_seconds_->Add({{"task", task}}).Set(seconds);
}

std::string Metrics::render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace residue
