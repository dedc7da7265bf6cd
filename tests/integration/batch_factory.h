// Batches made in the test process and handed to a Store directly, as the daemon hands them
// after parsing: for store tests that need no HTTP (postgres_test.cpp, reduce_test.cpp).
//
//   const Task task = words_task();              // MSS, k = 64, epsilon 2: as the daemon tests
//   SeededRng rng(1);                            // tests only: not private
//   store->commit(std::vector<PendingBatch>{make_batch(task, 100, rng)});
#pragma once

#include <optional>
#include <vector>

#include "residue/random/rng.h"
#include "residue/wire/batch.h"
#include "store.h"
#include "task.h"

namespace residue::integration {

/// The task the daemon fixture declares by default, "words": MSS, k = 64, epsilon 2.
inline Task words_task(double epsilon = 2.0) {
  TaskConfig config{.name = "words"};
  config.params.protocol = "mss";
  config.params.k = 64;
  config.params.epsilon = epsilon;
  return make_task(config, std::nullopt);
}

/// A batch of `n` reports of uniform values with a fresh id, all drawn from `rng`.
inline PendingBatch make_batch(const Task& task, uint32_t n, Rng& rng,
                               int64_t received = 1'800'000'000) {
  std::vector<Report> reports(n);
  for (Report& r : reports) {
    task.protocol.encoder().encode(static_cast<uint32_t>(rng.uniform(task.protocol.params().k)),
                                   rng, r);
  }
  const BatchId id = random_batch_id(rng);
  return PendingBatch{.task = task.name,
                      .id = id,
                      .raw = encode_batch(task.codec, id, task.hash, reports),
                      .reports = std::move(reports),
                      .received = received};
}

inline void register_task(Store& store, const Task& task) {
  store.register_task(task.name, canonical_json(task.protocol.params()), task.domain_id, task.hash,
                      task.protocol.new_tally());
}

}  // namespace residue::integration
