// Subset Selection (SS): the accuracy-optimal frequency oracle (Wang et al. 2016; Ye & Barg
// 2018), and the per-block randomizer of MSS.
//
// A client holding x sends a subset Z of [0, m) of fixed size omega: with probability
// p = omega e / (omega e + m - omega) Z is {x} plus omega - 1 values drawn uniformly
// without replacement from the others, otherwise omega values drawn from [0, m) \ {x}.
// Every subset containing x is e^eps times as likely as any subset without it. The other
// values are never drawn from all of [0, m): that is the bug of the PGR reference code,
// which breaks epsilon-LDP (docs/protocols/ss.md).
//
//   Protocol ss = make_ss({.protocol = "ss", .k = 1024, .epsilon = 1});
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"
#include "residue/random/rng.h"

namespace residue {

/// The probabilities of Subset Selection with subset size omega over a universe of m values.
struct SubsetSelectionRates {
  uint32_t universe = 0;
  uint32_t subset_size = 0;
  double epsilon = 0;
  /// P[x in Z | input x]
  double p = 0;
  /// 1 - p, computed without cancellation (1e-20 at eps = 50, where p rounds to 1)
  double not_p = 0;
  /// P[v in Z | input x != v]
  double q = 0;

  /// V = q(1 - q) / (p - q)^2: n times the per-value variance without the f-term.
  double variance_constant() const { return q * (1 - q) / ((p - q) * (p - q)); }
  /// Exact per-value variance of the frequency estimate for true frequency f and n reports.
  double variance(double f, double n) const {
    return (f * p * (1 - p) + (1 - f) * q * (1 - q)) / (n * (p - q) * (p - q));
  }
};

/// Throws Error unless m >= 2, 1 <= omega < m and epsilon > 0 (finite).
SubsetSelectionRates subset_selection_rates(uint32_t m, uint32_t omega, double epsilon);

/// The omega in {floor, ceil} of m / (e^eps + 1) (clamped to [1, m - 1]) with the smaller
/// variance constant.
uint32_t optimal_subset_size(uint32_t m, double epsilon);

/// Draws the subset for `value` (< m) into `items`, sorted ascending. Allocation-free once
/// `items` has capacity omega + 8. O(omega + m / 64).
void sample_subset_selection(const SubsetSelectionRates& rates, uint32_t value, Rng& rng,
                             std::vector<uint32_t>& items);

/// Writes into `items`, sorted: `value` if `include_value`, plus `count` distinct values drawn
/// uniformly from [0, k) \ {value}, by Floyd's algorithm (one word a pick). The sampling core
/// of the unary encodings, and of Subset Selection for its sparse or nearly full subsets.
/// O(count log count) when sparse, O(count + k / 64) when dense; allocation-free once `items`
/// has grown. REQUIRES: value < k, count <= k - 1.
void draw_distinct_others(uint32_t k, uint32_t value, uint32_t count, bool include_value, Rng& rng,
                          std::vector<uint32_t>& items);

/// Exact P[Z = items | value], and its log (the probability itself underflows a double for
/// large m). REQUIRES: items is a valid omega-subset of [0, m).
double subset_selection_probability(const SubsetSelectionRates& rates,
                                    std::span<const uint32_t> items, uint32_t value);
double subset_selection_log_probability(const SubsetSelectionRates& rates,
                                        std::span<const uint32_t> items, uint32_t value);

/// The SS protocol on [0, k). Fills an empty subset_sizes with the optimal omega.
/// Throws Error naming the bad parameter.
Protocol make_ss(const ProtocolParams& params);

}  // namespace residue
