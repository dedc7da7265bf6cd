#include "task_builds.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <type_traits>

#include "residue/core/error.h"
#include "residue/memory/memory_evaluation.h"
#include "residue/search/threads.h"

namespace residue {
namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<TaskRecord> find_record(const Store& store, const std::string& task) {
  for (TaskRecord& r : store.tasks()) {
    if (r.name == task) return std::move(r);
  }
  return std::nullopt;
}

}  // namespace

TaskBuilds::TaskBuilds(const std::map<std::string, Task>& tasks,
                       const std::vector<TaskConfig>& configs, const Store& store, Metrics& metrics)
    : store_(store), metrics_(metrics) {
  const int64_t now = unix_now();
  for (const TaskConfig& c : configs) {
    if (!c.build) continue;
    State& s = states_[c.name];
    s.task = &tasks.at(c.name);
    if (c.stage == MemoryStage::kShortlist) s.stage_one = &tasks.at(c.stage_one);
    s.config = *c.build;
    // A scheduled task is built at start-up (when it has reports), then every build_every.
    if (c.build->every_seconds > 0) s.next_scheduled = now;
  }
  if (!states_.empty()) worker_ = std::thread([this] { run(); });
}

TaskBuilds::~TaskBuilds() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void TaskBuilds::request(const std::string& task) {
  {
    std::lock_guard lock(mu_);
    State& s = states_.at(task);
    if (std::find(queue_.begin(), queue_.end(), task) != queue_.end()) return;
    queue_.push_back(task);
    if (s.phase == "idle") s.phase = "queued";
  }
  wake_.notify_all();
}

nlohmann::json TaskBuilds::status(const std::string& task) const {
  std::lock_guard lock(mu_);
  const State& s = states_.at(task);
  nlohmann::json out = {{"state", s.phase},     {"step", s.step},       {"done", s.done},
                        {"total", s.total},     {"builds", s.builds},   {"failures", s.failures},
                        {"last_good", nullptr}, {"last_error", nullptr}};
  if (s.config.every_seconds > 0) out["next_scheduled"] = s.next_scheduled;
  if (s.last_good) {
    out["last_good"] = {{"batches", s.last_good->batches},
                        {"reports", s.last_good->reports},
                        {"finished_at", s.last_good->finished_at},
                        {"seconds", s.last_good->seconds}};
    if (const auto& t = s.last_good->test) {
      out["last_good"]["test_perplexity"] = {
          {"arm", t->arm}, {"base", t->base}, {"memory", t->memory}, {"positions", t->positions}};
    }
  }
  if (s.last_error)
    out["last_error"] = {{"message", s.last_error->first}, {"at", s.last_error->second}};
  return out;
}

std::shared_ptr<const BuiltMemory> TaskBuilds::memory(const std::string& task) const {
  std::lock_guard lock(mu_);
  return states_.at(task).memory;
}

std::shared_ptr<const BuiltVocab> TaskBuilds::vocab(const std::string& task) const {
  std::lock_guard lock(mu_);
  return states_.at(task).vocab;
}

void TaskBuilds::run() {
  while (const std::optional<Due> due = next()) build(due->task, due->scheduled);
}

std::optional<TaskBuilds::Due> TaskBuilds::next() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!queue_.empty()) {
      Due due{.task = queue_.front(), .scheduled = false};
      queue_.erase(queue_.begin());
      states_.at(due.task).phase = "running";
      return due;
    }
    const int64_t now = unix_now();
    std::optional<int64_t> soonest;
    for (auto& [name, s] : states_) {
      if (s.next_scheduled == 0) continue;
      if (s.next_scheduled <= now) {
        s.next_scheduled = now + static_cast<int64_t>(s.config.every_seconds);
        s.phase = "running";
        return Due{.task = name, .scheduled = true};
      }
      soonest = std::min(soonest.value_or(s.next_scheduled), s.next_scheduled);
    }
    if (soonest) {
      wake_.wait_until(lock,
                       std::chrono::system_clock::from_time_t(static_cast<std::time_t>(*soonest)));
    } else {
      wake_.wait(lock);
    }
  }
  return std::nullopt;
}

void TaskBuilds::build(const std::string& name, bool scheduled) {
  State& s = states_.at(name);  // the map's keys never change; its fields are guarded by mu_
  const Task& task = *s.task;
  const BuildConfig& config = s.config;
  const auto start = std::chrono::steady_clock::now();
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const BuildProgress progress = [&](std::string_view step, int done, int total) {
    bool changed = false;
    {
      std::lock_guard lock(mu_);
      // Shutting down: give up the build rather than keep the daemon waiting for it.
      if (stopping_) throw Error("the daemon is stopping.");
      changed = s.step != step;
      s.step = std::string(step);
      s.done = done;
      s.total = total;
    }
    metrics_.set_build_progress(name, total > 0 ? static_cast<double>(done) / total : 0);
    if (changed) {
      std::fprintf(stderr, "residued: task %s: build: %.*s (%.1f s)\n", name.c_str(),
                   static_cast<int>(step.size()), step.data(), seconds());
    }
  };
  const auto finish = [&] {
    std::lock_guard lock(mu_);
    s.step.clear();
    s.done = s.total = 0;
    // A request that came during the build is still queued.
    s.phase = std::find(queue_.begin(), queue_.end(), name) != queue_.end() ? "queued" : "idle";
  };
  if (scheduled) {
    // Skipped when no report came since the last good build (or none ever came); an
    // unreachable store is tried again at the next time.
    std::optional<TaskRecord> record;
    try {
      record = find_record(store_, name);
    } catch (const Error&) {
    }
    std::optional<uint64_t> built;
    {
      std::lock_guard lock(mu_);
      if (s.last_good) built = s.last_good->reports;
    }
    if (!record || record->reports == 0 || built == record->reports) return finish();
  }
  // The public pieces (`slot`), trained from the corpus at the task's first build and kept.
  const auto trained_once = [&](auto& slot, auto train) {
    std::remove_reference_t<decltype(slot)> pub;
    {
      std::lock_guard lock(mu_);
      pub = slot;
    }
    if (!pub) {
      progress("public pieces from the corpus", 0, 1);
      pub = train(task, config);
      std::lock_guard lock(mu_);
      slot = pub;
    }
    return pub;
  };
  metrics_.set_build_running(name, true);
  std::fprintf(stderr, "residued: task %s: build started\n", name.c_str());
  try {
    set_search_threads(static_cast<int>(config.threads));
    const std::optional<TaskRecord> record = find_record(store_, name);
    if (!record) throw Error("the store has no task " + name + ".");
    const Tally tally = store_.tally(name);
    if (tally.total_reports() == 0) throw Error("no reports yet: nothing to build from.");
    BuildStamp stamp{.batches = record->batches, .reports = tally.total_reports()};
    if (task.kind == TaskKind::kMemory) {
      const auto pub = trained_once(s.memory_public, memory_public);
      Memory memory = s.stage_one
                          ? build_two_stage_memory(task, tally, *s.stage_one,
                                                   store_.tally(s.stage_one->name), *pub, progress)
                          : build_memory(task, *pub, tally, progress);
      progress("scoring on the test split", 0, 1);
      const MemoryEvaluation e = evaluate_memory(memory, pub->corpus, pub->model.lm);
      const std::string& arm = memory.info().default_arm;
      stamp.test = MemoryTestScore{.arm = arm,
                                   .base = e.arm("base").test.perplexity,
                                   .memory = e.arm(arm).test.perplexity,
                                   .positions = e.test_positions};
      stamp.finished_at = unix_now();
      stamp.seconds = seconds();
      auto built = std::make_shared<const BuiltMemory>(BuiltMemory{pub, std::move(memory), stamp});
      std::lock_guard lock(mu_);
      s.memory = std::move(built);
    } else {
      const auto pub = trained_once(s.vocab_public, vocab_public);
      VocabFile file = build_vocab(task, *pub, tally, progress);
      stamp.finished_at = unix_now();
      stamp.seconds = seconds();
      auto built = std::make_shared<const BuiltVocab>(BuiltVocab{std::move(file), stamp});
      std::lock_guard lock(mu_);
      s.vocab = std::move(built);
    }
    {
      std::lock_guard lock(mu_);
      s.last_good = stamp;
      ++s.builds;
    }
    metrics_.count_build(name, "ok", stamp.seconds);
    std::fprintf(stderr, "residued: task %s: built from %llu reports in %.2f s\n", name.c_str(),
                 static_cast<unsigned long long>(stamp.reports), stamp.seconds);
    if (stamp.test) {
      std::fprintf(stderr, "residued: task %s: test perplexity: base %.1f, memory (%s) %.1f\n",
                   name.c_str(), stamp.test->base, stamp.test->arm.c_str(), stamp.test->memory);
    }
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mu_);
      s.last_error = {e.what(), unix_now()};
      ++s.failures;
    }
    metrics_.count_build(name, "failed", seconds());
    std::fprintf(stderr, "residued: task %s: build failed, the last good build keeps serving: %s\n",
                 name.c_str(), e.what());
  }
  metrics_.set_build_running(name, false);
  finish();
}

}  // namespace residue
