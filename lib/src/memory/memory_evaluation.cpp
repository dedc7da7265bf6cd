#include "residue/memory/memory_evaluation.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "residue/core/error.h"
#include "residue/core/stopwatch.h"
#include "residue/memory/memory_decoder.h"
#include "residue/memory/memory_setup.h"

namespace residue {
namespace {

bool is_control(const std::string& name) {
  return name == "uniform" || name == "unigram_ldp";
}

}  // namespace

const ArmEvaluation& MemoryEvaluation::arm(const std::string& name) const {
  for (const ArmEvaluation& a : arms) {
    if (a.name == name) return a;
  }
  throw Error("memory: no arm \"" + name + "\" in the evaluation.");
}

nlohmann::json MemoryEvaluation::to_json() const {
  nlohmann::json out;
  const double base = [&] {
    for (const ArmEvaluation& a : arms) {
      if (a.kind == ArmKind::kBase) return a.test.perplexity;
    }
    return 0.0;
  }();
  nlohmann::json list = nlohmann::json::array();
  for (const ArmEvaluation& a : arms) {
    nlohmann::json j = {{"name", a.name},
                        {"kind", arm_kind_name(a.kind)},
                        {"description", a.description},
                        {"neighbours", a.hyper.neighbours},
                        {"temperature", a.hyper.temperature},
                        {"alpha", a.hyper.alpha},
                        {"lambda", a.hyper.lambda},
                        {"tuning_perplexity", a.tuning_perplexity},
                        {"test_perplexity", a.test.perplexity},
                        {"test_perplexity_without_unknown", a.test.perplexity_known}};
    if (base > 0) j["change_vs_base"] = a.test.perplexity / base - 1;
    list.push_back(std::move(j));
  }
  out["arms"] = std::move(list);
  out["best_control"] =
      best_control.empty() ? nlohmann::json(nullptr) : nlohmann::json(best_control);
  out["gap_closed"] = gap_closed;
  out["test_positions"] = test_positions;
  if (!arms.empty() && test_positions > 0) {
    out["unknown_share"] = 1 - static_cast<double>(arms.front().test.known_positions) /
                                   static_cast<double>(test_positions);
  }
  out["timings"] = {{"scoring_seconds", scoring_seconds},
                    {"query_microseconds", query_microseconds},
                    {"batched_search_microseconds_per_key", batched_search_microseconds}};
  return out;
}

MemoryEvaluation evaluate_memory(const Memory& memory, const Corpus& corpus, const KneserNey& lm) {
  check_memory_corpus(memory, corpus);
  if (lm.vocab_size() != memory.tokens()) {
    throw Error("memory: the LM has " + std::to_string(lm.vocab_size()) + " tokens, the memory " +
                std::to_string(memory.tokens()) + ".");
  }
  MemoryEvaluation out;
  const DomainSplit split = corpus.split_domain(memory.info().split_seed);
  const Clock::time_point start = Clock::now();
  const Positions test =
      positions_of(split.test, memory.vocabulary(), memory.key_encoder(), memory.codebook());
  uint32_t neighbours = 1;
  for (const MemoryArm& a : memory.arms()) neighbours = std::max(neighbours, a.hyper.neighbours);
  const MemoryDecoder index(memory.codebook(), memory.arm(memory.info().default_arm),
                            memory.tokens());
  const ScoredPositions scored = score_positions(test, lm, index, neighbours);
  out.scoring_seconds = seconds_since(start);
  out.test_positions = scored.size();

  const uint32_t unknown = memory.tokens() - 1;
  for (const MemoryArm& a : memory.arms()) {
    out.arms.push_back({a.name, a.kind, a.description, a.hyper, a.tuning_perplexity,
                        score_arm(a, scored, unknown)});
  }
  double control = 0;
  for (const ArmEvaluation& a : out.arms) {
    if (is_control(a.name) && (out.best_control.empty() || a.test.perplexity < control)) {
      out.best_control = a.name;
      control = a.test.perplexity;
    }
  }
  if (memory.has_arm("nonprivate") && !out.best_control.empty()) {
    const double nonprivate = out.arm("nonprivate").test.perplexity;
    for (const ArmEvaluation& a : out.arms) {
      if (a.name.rfind("ldp", 0) == 0 && control != nonprivate) {
        out.gap_closed[a.name] = (control - a.test.perplexity) / (control - nonprivate);
      }
    }
  }

  // Timings of the decoder as a query would use it: one key at a time, full distribution.
  const std::size_t queries = std::min<std::size_t>(test.size(), 200);
  const uint32_t d = memory.dimension();
  std::vector<double> p(memory.tokens());
  const Clock::time_point q0 = Clock::now();
  for (std::size_t i = 0; i < queries; ++i) {
    const std::vector<double> p_lm = lm.distribution(test.prev2[i], test.prev1[i]);
    index.distribution(std::span<const float>(test.keys).subspan(i * d, d), p_lm, p);
  }
  out.query_microseconds = queries > 0 ? seconds_since(q0) * 1e6 / static_cast<double>(queries) : 0;
  const Clock::time_point s0 = Clock::now();
  const Neighbours nn = index.search(test.keys, index.hyper().neighbours);
  out.batched_search_microseconds =
      test.size() > 0 ? seconds_since(s0) * 1e6 / static_cast<double>(test.size()) : 0;
  return out;
}

}  // namespace residue
