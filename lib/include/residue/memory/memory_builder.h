// MemoryBuilder: (cell, token) counts, exact or estimated under LDP, into the non-negative
// count table of a memory arm (one row of `tokens` counts per cell), and a row into the
// next-token distribution the decoder reads: counts add-alpha smoothed and normalized.
//
// An LDP estimate has noise on every one of the cells x tokens entries. Clipping the negative
// ones (the plain design) keeps the positive half of that noise: about 0.4 sd per entry, which
// over the V + 1 entries of a cell rivals the cell's signal (docs/memory.md, "Why not the
// plain estimate").
// Projecting each cell onto the simplex of its own estimated mass (Norm-Sub per cell) instead
// subtracts one threshold per cell and keeps only the entries that stand above it.
//
//   MemoryBuilder b(16, vocab.size());
//   std::vector<double> table = b.from_estimate(estimated_counts, CellPostprocess::kProject);
//   std::vector<double> p(vocab.size());
//   b.distribution(std::span(table).subspan(3 * vocab.size(), vocab.size()), 1.0, p);
//
// Stateless apart from its shape: thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace residue {

enum class CellPostprocess {
  kClip,     ///< max(estimate, 0) entry by entry (Base-Pos)
  kProject,  ///< each cell onto {v >= 0, sum v = max(sum of its estimates, 0)} (Norm-Sub)
};

/// "clip" or "project"; throws Error naming the bad value.
CellPostprocess parse_cell_postprocess(std::string_view name);

/// The Euclidean projection of `row` onto {v >= 0, sum v = mass}, in place (mass >= 0; a
/// mass of 0 zeroes the row). O(n log n).
void project_row(std::span<double> row, double mass);

class MemoryBuilder {
 public:
  /// Throws Error if cells or tokens is 0.
  MemoryBuilder(uint32_t cells, uint32_t tokens);

  uint32_t cells() const { return cells_; }
  uint32_t tokens() const { return tokens_; }
  /// cells * tokens: the domain of the joint (cell, token) report, value cell * tokens + token.
  std::size_t domain() const { return std::size_t{cells_} * tokens_; }

  /// The table of exact counts (the non-private memory). Throws Error unless the size is
  /// domain().
  std::vector<double> from_counts(std::span<const uint64_t> counts) const;
  /// The table of estimated counts (Estimate::count of each value), post-processed. Throws
  /// Error unless the size is domain() or a value is not finite.
  std::vector<double> from_estimate(std::span<const double> estimate,
                                    CellPostprocess postprocess) const;

  /// (row[t] + alpha) / (sum(row) + alpha * tokens) into `out`; uniform when that
  /// denominator is 0. Throws Error unless row and out have tokens() entries and alpha >= 0.
  void distribution(std::span<const double> row, double alpha, std::span<double> out) const;

 private:
  uint32_t cells_;
  uint32_t tokens_;
};

}  // namespace residue
