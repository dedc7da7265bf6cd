// MemoryDecoder: the next-token distribution of one memory arm for a query key. The K nearest
// cells of the key (FAISS IndexFlatL2 over the codebook's centroids, squared L2 distances d_i)
// vote with their smoothed rows:
//   p_mem(t) = sum_i softmax(-d_i / T)_i p_cell_i(t),  p_cell(t) = (c(t) + alpha) / (c(.) + alpha
//   V')
// and the result is mixed with the base LM: p = lambda p_mem + (1 - lambda) p_LM. A unigram arm
// has one row every key reads; a uniform arm's p_mem is 1 / V'; a base arm is p_LM alone.
// (V' = tokens, the vocabulary with its unknown token.)
//
//   MemoryDecoder dec(memory.codebook(), memory.arm("ldp_two_stage"), memory.tokens());
//   std::vector<double> p_lm = lm.distribution(u, v);
//   std::vector<double> p(memory.tokens());
//   dec.distribution(key, p_lm, p);                                      // sums to 1
//   Neighbours nn = dec.search(keys, 8);                                 // batched
//
// FAISS searches with OpenMP: call set_search_threads() first. Immutable after construction:
// thread-safe for concurrent queries.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "residue/memory/memory.h"
#include "residue/retrieval/codebook.h"

namespace faiss {
struct IndexFlatL2;
}

namespace residue {

/// The k nearest cells of n keys, nearest first: n x k cells and squared L2 distances.
struct Neighbours {
  uint32_t k = 0;
  std::vector<uint32_t> cells;
  std::vector<float> distances;
};

class MemoryDecoder {
 public:
  /// Copies the arm's counts and hyper-parameters. Throws Error if its counts do not fit
  /// `codebook` and `tokens` (as Memory checks) or its hyper-parameters are invalid.
  MemoryDecoder(const Codebook& codebook, const MemoryArm& arm, uint32_t tokens);
  ~MemoryDecoder();
  MemoryDecoder(const MemoryDecoder&) = delete;
  MemoryDecoder& operator=(const MemoryDecoder&) = delete;

  uint32_t tokens() const { return tokens_; }
  uint32_t cells() const { return cells_; }
  uint32_t dimension() const { return dimension_; }
  ArmKind kind() const { return kind_; }
  const MemoryHyper& hyper() const { return hyper_; }

  /// The `k` nearest cells of each of the keys.size() / dimension() keys (k <= cells()).
  /// Throws Error on a bad size or k.
  Neighbours search(std::span<const float> keys, uint32_t k) const;
  /// The row of counts of `row` (a cell for kCells, 0 for kUnigram). REQUIRES: a table.
  std::span<const double> row(uint32_t row) const {
    return {counts_.data() + std::size_t{row} * tokens_, tokens_};
  }
  /// Sum of row(row).
  double row_total(uint32_t row) const { return totals_[row]; }
  /// p_cell(token) of one row at `alpha`; 1 / tokens for the uniform arm. REQUIRES: token <
  /// tokens(), row in range.
  double row_probability(uint32_t row, uint32_t token, double alpha) const;
  /// softmax(-d_i / T) over the first `k` of `distances` (nearest first) into `weights`.
  static void neighbour_weights(std::span<const float> distances, double temperature,
                                std::span<double> weights);

  /// p_mem(. | key) into `out` (tokens() entries; uniform for kBase and kUniform).
  void memory_distribution(std::span<const float> key, std::span<double> out) const;
  /// lambda p_mem(. | key) + (1 - lambda) p_lm into `out`. Throws Error unless p_lm and out
  /// have tokens() entries and key has dimension() floats.
  void distribution(std::span<const float> key, std::span<const double> p_lm,
                    std::span<double> out) const;

 private:
  uint32_t tokens_;
  uint32_t cells_;
  uint32_t dimension_;
  ArmKind kind_;
  MemoryHyper hyper_;
  std::vector<double> counts_;
  std::vector<double> totals_;
  std::unique_ptr<faiss::IndexFlatL2> index_;
};

}  // namespace residue
