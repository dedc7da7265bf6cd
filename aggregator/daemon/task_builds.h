// TaskBuilds: residued's builds of its memory and vocab tasks (docs/operators.md, "Builds"). One
// worker thread builds one task at a time from the store's committed tally: on the task's schedule
// (build_every; skipped when no report came since the last good build) and when an operator asks
// (POST /v1/tasks/{task}/build). A build replaces the served one only when it succeeds: a failed
// build is logged and shown in its status, and the last good build keeps serving. Progress goes
// to stderr and to /metrics. Thread-safe.
//
//   TaskBuilds builds(tasks, configs, store, metrics);   // starts the worker
//   builds.request("next-word");
//   std::shared_ptr<const BuiltMemory> m = builds.memory("next-word");   // null: none yet
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config.h"
#include "metrics.h"
#include "residue/memory/memory.h"
#include "residue/vocab/vocab_file.h"
#include "store.h"
#include "task.h"
#include "task_build.h"

namespace residue {

/// A memory build's test perplexity (the corpus's test split): the base LM alone and the
/// served (default) arm, so an operator sees whether the reports help.
struct MemoryTestScore {
  std::string arm;
  double base = 0, memory = 0;
  uint64_t positions = 0;
};

/// What a successful build was made from.
struct BuildStamp {
  uint64_t batches = 0, reports = 0;  ///< the tally version it read
  int64_t finished_at = 0;            ///< seconds since the epoch
  double seconds = 0;
  std::optional<MemoryTestScore> test;  ///< memory builds
};

struct BuiltMemory {
  std::shared_ptr<const MemoryPublic> pub;  ///< its base LM serves queries
  Memory memory;
  BuildStamp stamp;
};

struct BuiltVocab {
  VocabFile file;
  BuildStamp stamp;
};

class TaskBuilds {
 public:
  /// Every task with a build configuration in `configs` (memory and vocab tasks that name a
  /// corpus) is built; `tasks` must outlive this. Starts the worker.
  TaskBuilds(const std::map<std::string, Task>& tasks, const std::vector<TaskConfig>& configs,
             const Store& store, Metrics& metrics);
  /// Stops the worker; a build in progress is abandoned at its next step.
  ~TaskBuilds();
  TaskBuilds(const TaskBuilds&) = delete;
  TaskBuilds& operator=(const TaskBuilds&) = delete;

  /// Whether `task` is built here.
  bool builds(const std::string& task) const { return states_.count(task) != 0; }
  /// Queues a build of `task` (once: a build already queued is not queued twice).
  /// REQUIRES: builds(task).
  void request(const std::string& task);
  /// {"state": idle | queued | running, "step", "done", "total", "builds", "failures",
  ///  "last_good": {batches, reports, finished_at, seconds[, test_perplexity]} | null,
  ///  "last_error": {"message", "at"} | null}. REQUIRES: builds(task).
  nlohmann::json status(const std::string& task) const;
  /// The last good build; null before the first one.
  std::shared_ptr<const BuiltMemory> memory(const std::string& task) const;
  std::shared_ptr<const BuiltVocab> vocab(const std::string& task) const;

 private:
  struct State {
    const Task* task = nullptr;
    const Task* stage_one = nullptr;  // a stage-two task's: its tally is read at every build
    BuildConfig config;
    std::string phase = "idle";  // idle, queued, running
    std::string step;
    int done = 0, total = 0;
    uint64_t builds = 0, failures = 0;
    int64_t next_scheduled = 0;  // seconds since the epoch; 0: not scheduled
    std::optional<std::pair<std::string, int64_t>> last_error;
    std::optional<BuildStamp> last_good;
    std::shared_ptr<const MemoryPublic> memory_public;  // trained at the first build
    std::shared_ptr<const VocabPublic> vocab_public;
    std::shared_ptr<const BuiltMemory> memory;
    std::shared_ptr<const BuiltVocab> vocab;
  };

  struct Due {
    std::string task;
    bool scheduled = false;  // by build_every, not requested
  };

  void run();
  /// The next task to build, waiting for a request or a scheduled time; nullopt once stopping.
  std::optional<Due> next();
  void build(const std::string& name, bool scheduled);

  const Store& store_;
  Metrics& metrics_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<std::string> queue_;
  std::map<std::string, State> states_;  // keys fixed at construction
  std::thread worker_;
};

}  // namespace residue
