// Evaluating a memory file: the test perplexity of each of its arms at the hyper-parameters
// tuned at build time, with and without the unknown token as a target, and the share of the
// gap between the best data-free or private control and the non-private memory that each LDP
// arm closes: (ppl_control - ppl_ldp) / (ppl_control - ppl_nonprivate).
//
//   Memory m = Memory::read("brown.mem");
//   Corpus brown = Corpus::load(m.info().data_dir, "learned");
//   KneserNey lm = memory_base_lm(m, brown);            // memory_setup.h
//   MemoryEvaluation e = evaluate_memory(m, brown, lm);
//   std::cout << e.to_json().dump(2);
//
// `residue memory eval` prints it; residued scores each build of a memory task with it (the
// base and served arms' test perplexity in its build status). Reentrant; FAISS threads as set
// by set_search_threads().
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "residue/lm/kneser_ney.h"
#include "residue/memory/memory.h"
#include "residue/memory/memory_tuning.h"
#include "residue/retrieval/corpus.h"

namespace residue {

struct ArmEvaluation {
  std::string name;
  ArmKind kind = ArmKind::kBase;
  std::string description;
  MemoryHyper hyper;
  double tuning_perplexity = 0;
  ArmScore test;
};

struct MemoryEvaluation {
  std::vector<ArmEvaluation> arms;  ///< in the memory's order
  /// The control (uniform, unigram_ldp) with the lowest test perplexity; empty if none.
  std::string best_control;
  /// Gap closed by each arm whose name starts with "ldp", when the memory has a non-private
  /// arm and a control (a memory from a store has no non-private arm).
  std::map<std::string, double> gap_closed;
  uint64_t test_positions = 0;
  double scoring_seconds = 0;              ///< keys, LM probabilities, one batched FAISS search
  double query_microseconds = 0;           ///< one full next-token distribution, default arm
  double batched_search_microseconds = 0;  ///< per key, batched search of the test keys

  /// Throws Error if there is no arm of that name.
  const ArmEvaluation& arm(const std::string& name) const;
  nlohmann::json to_json() const;
};

/// Scores every arm on the test split of memory.info().split_seed.
MemoryEvaluation evaluate_memory(const Memory& memory, const Corpus& corpus, const KneserNey& lm);

}  // namespace residue
