#include "commit_queue.h"

#include <chrono>
#include <vector>

#include "residue/core/error.h"

namespace residue {

CommitQueue::CommitQueue(Store& store, uint32_t max_group, Metrics& metrics)
    : store_(store), max_group_(max_group), metrics_(metrics), writer_([this] { run(); }) {}

CommitQueue::~CommitQueue() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  writer_.join();
}

CommitOutcome CommitQueue::submit(PendingBatch batch) {
  std::future<CommitOutcome> outcome;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) throw Error("the daemon is shutting down.");
    queue_.push_back(Item{std::move(batch), {}});
    outcome = queue_.back().done.get_future();
    metrics_.set_queue_depth(queue_.size());
  }
  wake_.notify_one();
  return outcome.get();
}

void CommitQueue::run() {
  std::vector<Item> group;
  std::vector<PendingBatch> batches;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has been committed
      while (!queue_.empty() && group.size() < max_group_) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      metrics_.set_queue_depth(queue_.size());
    }
    batches.clear();
    for (Item& item : group) batches.push_back(std::move(item.batch));
    const auto start = std::chrono::steady_clock::now();
    try {
      const std::vector<CommitOutcome> outcomes = store_.commit(batches);
      metrics_.observe_commit(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
          group.size());
      for (std::size_t i = 0; i < group.size(); ++i) group[i].done.set_value(outcomes[i]);
    } catch (...) {
      for (Item& item : group) item.done.set_exception(std::current_exception());
    }
    group.clear();
  }
}

}  // namespace residue
