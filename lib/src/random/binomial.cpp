#include "residue/random/binomial.h"

#include <numeric>
#include <random>

#include "residue/core/error.h"

namespace residue {
namespace {

// Rng as a standard UniformRandomBitGenerator, for std::binomial_distribution.
struct RngBits {
  using result_type = uint64_t;
  static constexpr uint64_t min() { return 0; }
  static constexpr uint64_t max() { return UINT64_MAX; }
  uint64_t operator()() { return rng.next_u64(); }
  Rng& rng;
};

}  // namespace

uint64_t binomial(uint64_t trials, double p, Rng& rng) {
  if (trials == 0 || !(p > 0)) return 0;
  if (p >= 1) return trials;
  RngBits bits{rng};
  return std::binomial_distribution<uint64_t>(trials, p)(bits);
}

std::vector<uint64_t> multinomial(std::span<const double> probabilities, uint64_t trials,
                                  Rng& rng) {
  double mass_left = 0;
  for (double p : probabilities) {
    if (!(p >= 0)) throw Error("multinomial: a probability is negative or not a number.");
    mass_left += p;
  }
  if (!(mass_left > 0)) throw Error("multinomial: the probabilities sum to zero.");
  std::vector<uint64_t> counts(probabilities.size(), 0);
  uint64_t left = trials;
  // Each value takes its conditional share of what the values before it left over.
  for (std::size_t x = 0; x < probabilities.size() && left > 0; ++x) {
    const uint64_t c =
        x + 1 == probabilities.size() ? left : binomial(left, probabilities[x] / mass_left, rng);
    counts[x] = c;
    left -= c;
    mass_left -= probabilities[x];
  }
  return counts;
}

}  // namespace residue
