// InversionTable: draws an index with probability proportional to its weight, by inverting
// one uniform against 128-bit fixed-point cumulative thresholds.
//
// A double CDF and a 53-bit uniform cannot draw an outcome of probability below 2^-53 at
// the top of the table (1 - 1e-20 rounds to 1), nor anything with a probability that is not a
// multiple of 2^-53. Here each threshold between outcomes i and i + 1 is computed from the
// smaller of the two tails it separates (the weights up to i, or those after i), so either
// end keeps a double's relative precision, and it is held to 128 bits: every outcome gets
// its share of the weights to within 2^-128. One 64-bit word per draw, a second one with
// probability below size() 2^-64. Immutable, thread-safe.
//
//   InversionTable table(weights);      // non-negative, with a positive sum
//   std::size_t i = table.sample(rng);  // P[i] = weights[i] / sum of the weights
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "residue/random/rng.h"

namespace residue {

class InversionTable {
 public:
  /// The table of a single outcome: sample() returns 0 (and still draws its word).
  InversionTable() = default;
  /// Throws Error if `weights` is empty, has a negative or non-finite entry, or sums to zero.
  explicit InversionTable(std::span<const double> weights);

  std::size_t size() const { return bounds_.size() + 1; }
  /// An index in [0, size()). O(log size()).
  std::size_t sample(Rng& rng) const;

 private:
  /// bounds_[i] = P[index <= i] in units of 2^-128, rounded down, for i < size() - 1.
  std::vector<Uint128> bounds_;
};

}  // namespace residue
