#include "estimate_cache.h"

#include "residue/core/error.h"

namespace residue {

TaskRecord EstimateCache::record(const std::string& task) const {
  try {
    for (TaskRecord& r : store_.tasks()) {
      if (r.name == task) return std::move(r);
    }
  } catch (const Error& e) {
    // A store shared over the network (PostgreSQL) may be unreachable for a while.
    throw Error(std::string("the store cannot be read: ") + e.what());
  }
  throw Error("the store has no task \"" + task + "\"");
}

Tally EstimateCache::tally(const std::string& task) const {
  try {
    return store_.tally(task);
  } catch (const Error& e) {
    throw Error(std::string("the store cannot be read: ") + e.what());
  }
}

TaskEstimates EstimateCache::estimates(const Task& task, std::size_t top, Postprocess postprocess) {
  const TaskRecord current = record(task.name);
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<Entry>& slot = entries_[{task.name, postprocess}];
    if (!slot || slot->batches != current.batches || slot->reports != current.reports) {
      slot = std::make_shared<Entry>();  // requests still on the old one keep it alive
      slot->batches = current.batches;
      slot->reports = current.reports;
    }
    entry = slot;
  }
  std::lock_guard<std::mutex> lock(entry->mu);
  if (!entry->ranked && !entry->failure) {
    Tally counts = tally(task.name);
    // A commit may land between reading the counters and the tally: then answer from what was
    // read, but do not keep it under a version it is not.
    const bool same_version = counts.total_reports() == current.reports;
    std::optional<RankedEstimate> newer;
    std::optional<RankedEstimate>& ranked = same_version ? entry->ranked : newer;
    metrics_.count_decode();
    try {
      ranked.emplace(task, std::move(counts), postprocess);
    } catch (const Error& e) {
      const std::string why = std::string("the estimates cannot be computed yet: ") + e.what();
      if (same_version) entry->failure = why;
      throw Error(why);
    }
    if (!same_version) return newer->top(top, current);
  }
  if (entry->failure) throw Error(*entry->failure);
  return entry->ranked->top(top, current);
}

}  // namespace residue
