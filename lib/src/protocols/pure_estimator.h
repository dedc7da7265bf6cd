// The estimator of pure protocols (docs/protocols/estimation.md, "Pure protocols"): each
// report supports a set of values; a value is in the support of its owner's report with
// probability p, of anyone else's with probability q. C_v, the number of reports supporting
// v, gives the unbiased estimate (C_v / n - q) / (p - q) with the exact variance below.
// One estimator serves GRR, SS, SUE, OUE, OLH and PGR; they differ only in where the tally
// keeps C_v (SupportTally): GRR, SS, SUE and OUE count it in block 0, OLH sums each seed's
// bucket counts through its hash, PGR sums each hyperplane through its decoder.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "residue/protocols/protocol.h"

namespace residue {

/// The two probabilities of a pure protocol and their complements, each computed by the
/// protocol without cancellation (at epsilon = 50, 1 - p computed as such loses every digit).
struct PureRates {
  double p = 0;
  double not_p = 0;
  double q = 0;
  double not_q = 0;
  double gap = 0;  ///< p - q

  /// Exact Var[f_hat_v] for true frequency f and n reports.
  double variance(double f, double n) const {
    return (f * p * not_p + (1 - f) * q * not_q) / (n * gap * gap);
  }
  /// V = q (1 - q) / (p - q)^2: n times the per-value variance without the f-term.
  double variance_constant() const { return q * not_q / (gap * gap); }
};

/// Where a pure protocol's tally keeps the support counts C_v.
struct SupportTally {
  /// The tally's shape: `blocks` blocks of `universe` positions each.
  uint32_t blocks = 1;
  uint32_t universe = 0;
  /// That shape in words, for errors: "on k = 64", "on K = 57 points".
  std::string described;
  /// C_v for every v in [0, k) from a tally of that shape.
  std::function<std::vector<double>(const Tally&)> support_counts;
};

/// The support tally of a one-block protocol on [0, k) that counts C_v directly.
SupportTally counted_support(uint32_t k);

/// The Estimator of a pure protocol on [0, k). `name` prefixes error messages; `id` is the
/// protocol id tallies must carry.
std::shared_ptr<const Estimator> make_pure_estimator(std::string id, std::string name, uint32_t k,
                                                     PureRates rates, SupportTally support);

}  // namespace residue
