// Binomial and multinomial draws from an Rng, for simulations at population scale: the counts
// of 10^8 clients' values, or of their reports' counters, drawn without visiting each client.
//
//   std::vector<uint64_t> counts = multinomial(probabilities, 100'000'000, seeded_rng);
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "residue/random/rng.h"

namespace residue {

/// Binomial(trials, p); p is clamped to [0, 1].
uint64_t binomial(uint64_t trials, double p, Rng& rng);

/// Multinomial(trials, probabilities), as a chain of binomials. `probabilities` must be
/// non-negative with a positive sum; they are normalized.
std::vector<uint64_t> multinomial(std::span<const double> probabilities, uint64_t trials, Rng& rng);

}  // namespace residue
