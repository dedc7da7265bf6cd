#include "residue/protocols/audit.h"

#include <algorithm>
#include <boost/math/distributions/beta.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

// Clopper-Pearson bounds on a binomial proportion, each at one-sided level `alpha`.
double lower_bound(uint64_t hits, uint64_t n, double alpha) {
  if (hits == 0) return 0;
  return boost::math::quantile(boost::math::beta_distribution<>(static_cast<double>(hits),
                                                                static_cast<double>(n - hits + 1)),
                               alpha);
}

double upper_bound(uint64_t hits, uint64_t n, double alpha) {
  if (hits == n) return 1;
  return boost::math::quantile(boost::math::beta_distribution<>(static_cast<double>(hits + 1),
                                                                static_cast<double>(n - hits)),
                               1 - alpha);
}

// How often the reports drawn for `x` fall in the event where `revealing` is e^eps times as
// likely as `other`.
uint64_t count_event(const Protocol& p, uint32_t x, uint32_t revealing, uint32_t other,
                     uint64_t trials, Rng& rng) {
  // In log space (unary reports underflow a double), a hair below eps so reports whose
  // ratio is e^eps up to rounding count.
  const double threshold = p.params().epsilon - 1e-9;
  Report report;
  uint64_t hits = 0;
  for (uint64_t i = 0; i < trials; ++i) {
    p.encoder().encode(x, rng, report);
    hits += p.encoder().log_probability(report, revealing) -
                p.encoder().log_probability(report, other) >=
            threshold;
  }
  return hits;
}

}  // namespace

AuditResult audit_epsilon(const Protocol& protocol, const AuditOptions& options, Rng& rng) {
  const uint32_t k = protocol.params().k;
  if (options.value_a >= k || options.value_b >= k || options.value_a == options.value_b) {
    throw Error("audit: the two values must differ and lie in [0, " + std::to_string(k) +
                "), but are " + std::to_string(options.value_a) + " and " +
                std::to_string(options.value_b) + ".");
  }
  if (options.trials == 0) throw Error("audit: trials must be at least 1.");
  if (!(options.confidence > 0 && options.confidence < 1)) {
    throw Error("audit: confidence must be in (0, 1), but is " +
                std::to_string(options.confidence) + ".");
  }
  // Two directions, each a ratio of two one-sided bounds: Bonferroni over the four.
  const double alpha = (1 - options.confidence) / 4;
  const uint64_t n = options.trials;
  AuditResult best;
  best.epsilon_claimed = protocol.params().epsilon;
  best.trials = n;
  best.epsilon_lower = -std::numeric_limits<double>::infinity();
  for (const auto& [a, b] :
       {std::pair{options.value_a, options.value_b}, std::pair{options.value_b, options.value_a}}) {
    const uint64_t under_a = count_event(protocol, a, a, b, n, rng);
    const uint64_t under_b = count_event(protocol, b, a, b, n, rng);
    const double lower = std::log(lower_bound(under_a, n, alpha) / upper_bound(under_b, n, alpha));
    if (lower > best.epsilon_lower) {
      best.epsilon_lower = lower;
      best.epsilon_point = std::log(static_cast<double>(under_a) / static_cast<double>(under_b));
      best.hits_revealing = under_a;
      best.hits_other = under_b;
    }
  }
  return best;
}

}  // namespace residue
