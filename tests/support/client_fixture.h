// Test fixtures for the client SDK: a temporary state directory, a cached task description so
// that a Client opens without a daemon, the reports a closed Client left in its queue, and the
// memoized-report derivation the Client uses (to check it, and to sample it fast).
//
//   testing::TempDir dir;
//   testing::write_cached_task(dir.path(), "words", params, {"apple", "pear"});
//   auto client = Client::open(testing::offline_options(dir.path(), "words"));
//   client->record("pear");
//   client.reset();
//   std::vector<std::vector<uint8_t>> queued = testing::queued_reports(dir.path(), "words");
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "report_queue.h"
#include "residue/client/client.h"
#include "residue/core/domain.h"
#include "residue/core/hex.h"
#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"
#include "residue/random/hmac_drbg.h"
#include "residue/random/seeded_rng.h"
#include "support/temp_dir.h"

namespace residue::testing {

/// The hash the daemon publishes for a task (docs/api.md): of the parameters and of the
/// dictionary's identity, when there is one.
inline ParamsHash task_hash_of(const ProtocolParams& params,
                               const std::optional<std::vector<std::string>>& dictionary) {
  return task_hash(params, dictionary ? Domain::dictionary(*dictionary).id() : "");
}

/// The description GET /v1/tasks/<name> serves (docs/api.md), for complete `params`; a
/// dictionary domain when `dictionary` is given, else {"kind": "size"}.
inline nlohmann::json task_description(const std::string& name, const ProtocolParams& params,
                                       const std::optional<std::vector<std::string>>& dictionary) {
  nlohmann::json task = {{"name", name},
                         {"params", to_json(params)},
                         {"params_hash", to_hex(task_hash_of(params, dictionary))},
                         {"batch_format_version", 1},
                         {"max_reports_per_batch", 100000}};
  if (dictionary) {
    task["domain"] = {{"kind", "dictionary"}, {"values", *dictionary}};
  } else {
    task["domain"] = {{"kind", "size"}};
  }
  return task;
}

/// Writes `description` where a Client caches it (state_dir/task-<name>.json), creating
/// state_dir if needed, so that Client::open needs no daemon.
inline void write_task_file(const std::filesystem::path& state_dir, const std::string& name,
                            const nlohmann::json& description) {
  std::filesystem::create_directories(state_dir);
  std::ofstream out(state_dir / ("task-" + name + ".json"), std::ios::binary | std::ios::trunc);
  out << description.dump();
  if (!out) throw std::runtime_error("cannot write the task cache in " + state_dir.string());
}

inline void write_cached_task(const std::filesystem::path& state_dir, const std::string& name,
                              const ProtocolParams& params,
                              const std::optional<std::vector<std::string>>& dictionary = {}) {
  write_task_file(state_dir, name, task_description(name, params, dictionary));
}

/// Options of a Client that must not reach a daemon: nothing listens on port 9 (discard) of
/// the loopback, so an upload fails at once; one attempt, a 1 ms backoff.
inline ClientOptions offline_options(const std::filesystem::path& state_dir,
                                     const std::string& task) {
  ClientOptions o;
  o.url = "http://127.0.0.1:9";
  o.token = "test-token";
  o.task = task;
  o.state_dir = state_dir;
  o.max_attempts = 1;
  o.backoff = std::chrono::milliseconds(1);
  return o;
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The queue file of `task` in `state_dir` (client.cpp: state_dir/queue-<task>).
inline std::filesystem::path queue_path(const std::filesystem::path& state_dir,
                                        const std::string& task) {
  return state_dir / ("queue-" + task);
}

/// Every report a CLOSED Client left queued for `task`, oldest first (batched ones, then
/// waiting ones), decrypted with the key the Client created in state_dir/queue.key, or `key`.
/// The Client queues each report behind the 16-byte hash of the task it was encoded under;
/// that prefix is checked against `hash` when given, and removed.
/// ReportQueue shows only batched reports, so this batches a copy of the file: the Client's
/// own queue is left as it was.
inline std::vector<std::vector<uint8_t>> queued_reports(
    const std::filesystem::path& state_dir, const std::string& task,
    const std::optional<QueueKey>& key = {}, const std::optional<ParamsHash>& hash = {}) {
  QueueKey k{};
  if (key) {
    k = *key;
  } else {
    const std::vector<uint8_t> stored = read_bytes(state_dir / "queue.key");
    if (stored.size() != k.size()) throw std::runtime_error("queue.key is not 32 bytes");
    std::copy(stored.begin(), stored.end(), k.begin());
  }
  TempDir scratch;
  const std::filesystem::path copy = scratch.path() / "queue";
  std::filesystem::copy_file(queue_path(state_dir, task), copy);
  ReportQueue queue(copy, k);
  SeededRng rng(1);  // batch ids of a scratch copy that is never uploaded
  queue.form_batches(UINT32_MAX, rng);
  std::vector<std::vector<uint8_t>> out;
  for (const QueuedBatch& batch : queue.outbox()) {
    for (const std::vector<uint8_t>& record : batch.reports) {
      constexpr std::size_t kHash = 16;
      if (record.size() < kHash) throw std::runtime_error("a queued record has no parameter hash");
      if (hash && !std::equal(hash->begin(), hash->end(), record.begin())) {
        throw std::runtime_error("a queued record carries another task hash");
      }
      out.emplace_back(record.begin() + kHash, record.end());
    }
  }
  return out;
}

// Appends `x` as 4 little-endian bytes.
inline void put_u32(uint32_t x, std::vector<uint8_t>& out) {
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<uint8_t>(x >> shift));
}

/// The DRBG behind a memoized report of an index task, derived as client.cpp documents it:
/// entropy = the device secret, nonce = params_hash(params) (the protocol parameters only),
/// personalization = "residue.memo.1" || task || index (u32 little-endian).
inline HmacDrbg memo_drbg(std::span<const uint8_t> secret, const ProtocolParams& params,
                          const std::string& task, uint32_t index) {
  const std::string label = "residue.memo.1";
  std::vector<uint8_t> personalization(label.begin(), label.end());
  personalization.insert(personalization.end(), task.begin(), task.end());
  put_u32(index, personalization);
  return HmacDrbg(secret, params_hash(params), personalization);
}

/// The same for a value of a dictionary task, whose stream follows the value, not its index:
/// personalization = "residue.memo.value.1" || |task| || task || |value| || value (lengths
/// u32 little-endian).
inline HmacDrbg memo_value_drbg(std::span<const uint8_t> secret, const ProtocolParams& params,
                                const std::string& task, std::string_view value) {
  const std::string label = "residue.memo.value.1";
  std::vector<uint8_t> personalization(label.begin(), label.end());
  put_u32(static_cast<uint32_t>(task.size()), personalization);
  personalization.insert(personalization.end(), task.begin(), task.end());
  put_u32(static_cast<uint32_t>(value.size()), personalization);
  personalization.insert(personalization.end(), value.begin(), value.end());
  return HmacDrbg(secret, params_hash(params), personalization);
}

}  // namespace residue::testing
