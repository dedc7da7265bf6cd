// Tuning and scoring memory arms on held-out text, fast: a perplexity needs only
// p(target) = lambda p_mem(target) + (1 - lambda) p_LM(target) at each position, so
// p_LM(target) and the nearest cells of each position's key (one batched FAISS search) are
// computed once (ScoredPositions), and the grid over K, T, alpha and lambda never builds a
// full distribution.
//
//   ScoredPositions tuning = score_positions(tuning_positions, lm, decoder_of_any_arm, 16);
//   MemoryArm arm = ...;                          // counts set, hyper to be chosen
//   tune_arm(arm, tuning, TuningGrid::defaults());   // sets arm.hyper, arm.tuning_perplexity
//   ArmScore test = score_arm(arm, score_positions(test_positions, lm, decoder, 16), unknown);
//
// Functions are reentrant; tune_arm() runs the grid on `threads` std::thread workers.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "residue/lm/kneser_ney.h"
#include "residue/memory/memory.h"
#include "residue/memory/memory_decoder.h"
#include "residue/memory/memory_setup.h"

namespace residue {

/// What every arm's perplexity needs of a set of positions.
struct ScoredPositions {
  uint32_t tokens = 0;            ///< V'
  uint32_t neighbours = 0;        ///< cells kept per position
  std::vector<uint32_t> targets;  ///< the token to predict
  std::vector<double> p_lm;       ///< p_LM(target | previous two tokens)
  std::vector<uint32_t> cells;    ///< size() x neighbours nearest cells, nearest first
  std::vector<float> distances;   ///< their squared L2 distances
  std::size_t size() const { return targets.size(); }
};

/// Scores `positions` with the base LM and the `neighbours` nearest cells of each key (FAISS,
/// through `decoder`, any arm of the memory: only its index is used). Throws Error if
/// neighbours is 0 or above the cells, or the LM's vocabulary is not decoder.tokens().
ScoredPositions score_positions(const Positions& positions, const KneserNey& lm,
                                const MemoryDecoder& decoder, uint32_t neighbours);

/// The values tried; each K above the cells or the scored neighbours is skipped.
struct TuningGrid {
  std::vector<uint32_t> neighbours;
  std::vector<double> temperatures;
  std::vector<double> alphas;
  std::vector<double> lambdas;  ///< must include 0, so a useless memory can be switched off
  /// K 1..16 (powers of 2), T 0.01..1, alpha 10^-1..10^7 in half decades, lambda 0..0.9.
  static TuningGrid defaults();
};

struct ArmScore {
  double perplexity = 0;        ///< every position
  double perplexity_known = 0;  ///< positions whose target is not the unknown token
  uint64_t positions = 0;
  uint64_t known_positions = 0;
};

/// The perplexity of `arm` at its hyper-parameters. Throws Error if its K exceeds the scored
/// neighbours or its counts do not fit positions.tokens.
ArmScore score_arm(const MemoryArm& arm, const ScoredPositions& positions, uint32_t unknown);

/// Sets arm.hyper to the grid point with the lowest perplexity on `positions` (every position)
/// and arm.tuning_perplexity to that perplexity. kBase: lambda 0, nothing tried. kUniform:
/// lambda only. kUnigram: alpha and lambda. kCells: all four. Ties keep the first point in
/// grid order (smaller K, T, alpha, lambda). `threads` 0 means one per core. Throws Error if
/// the grid is empty or lacks lambda = 0.
void tune_arm(MemoryArm& arm, const ScoredPositions& positions, const TuningGrid& grid,
              unsigned threads = 0);

}  // namespace residue
