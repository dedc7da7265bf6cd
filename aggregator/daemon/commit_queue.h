// CommitQueue: group commit. Request threads hand in parsed batches and wait; one writer
// thread commits everything that queued up in one Store transaction (one fsync for the group)
// and wakes each waiter with its batch's outcome. A reply therefore still goes out only after
// its batch is durable, at a fraction of the per-batch fsync cost.
//
//   CommitQueue queue(store, 512, metrics);
//   CommitOutcome outcome = queue.submit(std::move(batch));   // blocks until committed
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "metrics.h"
#include "store.h"

namespace residue {

class CommitQueue {
 public:
  CommitQueue(Store& store, uint32_t max_group, Metrics& metrics);
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;
  /// Drains what is queued, then stops the writer.
  ~CommitQueue();

  /// Blocks until `batch` is committed or refused as a duplicate. Throws Error when the
  /// store failed: then nothing of the batch was stored.
  CommitOutcome submit(PendingBatch batch);

 private:
  struct Item {
    PendingBatch batch;
    std::promise<CommitOutcome> done;
  };
  void run();

  Store& store_;
  const uint32_t max_group_;
  Metrics& metrics_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace residue
