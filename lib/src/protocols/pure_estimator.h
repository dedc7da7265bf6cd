// Pure protocols (protocols.md section 1, internal): each report supports a set of values; a
// value is in the support of its owner's report with probability p, of anyone else's with
// probability q. C_v, the number of reports supporting v, then gives the unbiased estimate
// (C_v / n - q) / (p - q) with the exact variance below. SS, GRR, SUE and OUE tally C_v
// directly (block 0's counts), so they share one estimator.
#pragma once

#include <memory>
#include <string>

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
};

/// The Estimator of a one-block protocol on [0, k) whose tally counts are the support counts
/// C_v. `name` prefixes error messages; `id` is the protocol id tallies must carry.
std::shared_ptr<const Estimator> make_support_count_estimator(std::string id, std::string name,
                                                              uint32_t k, PureRates rates);

}  // namespace residue
