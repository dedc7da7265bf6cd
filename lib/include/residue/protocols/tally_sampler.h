// The tally that n clients would produce, drawn without encoding their reports: for
// simulations at population scale (10^8 reports of a 65,000-value domain in seconds), where
// encoding each report costs O(subset size) and Subset Selection's subsets hold thousands of
// values at small epsilon. Simulation only: it takes the true counts.
//
// Subset Selection and MSS. Each block's reports are split from the value counts exactly
// (MSS: a multinomial over the blocks, as each client picks its block uniformly), and every
// counter gets its exact marginal distribution: Binomial(c_r, p) from the c_r reports whose
// residue is r plus Binomial(n_j - c_r, q) from the others. What it leaves out is the weak
// negative correlation between counters of one block (a subset has a fixed size: covariance
// about -n q (1-q) / m per pair); tests/stats/tally_sampler_test.cpp measures what that
// changes in the decoded MSE against encoding every report.
//
//   Tally t = sample_tally(mss, true_counts, seeded_rng);
//   Estimate e = mss.estimator().estimate(t);
#pragma once

#include <cstdint>
#include <span>

#include "residue/protocols/protocol.h"
#include "residue/random/rng.h"

namespace residue {

/// `value_counts[x]` reports of value x (size k). Throws Error for other protocols than ss and
/// mss, or a size other than k.
Tally sample_tally(const Protocol& protocol, std::span<const uint64_t> value_counts, Rng& rng);

}  // namespace residue
