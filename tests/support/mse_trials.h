// Seeded Monte Carlo of a protocol's estimation error, for the statistical tests: T trials of
// n clients drawn from `probabilities`, the domain-averaged squared error of each trial's
// unbiased estimate against that trial's empirical frequencies.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "residue/estimate/estimate.h"
#include "residue/protocols/protocol.h"
#include "residue/random/seeded_rng.h"

namespace residue::testing {

struct MseTrials {
  double mean = 0;            ///< mean over trials of (1/k) sum_v (f_hat_v - f_v)^2
  double standard_error = 0;  ///< of that mean, from the spread across trials
};

inline std::vector<double> zipf(uint32_t k, double s) {
  std::vector<double> p(k);
  for (uint32_t v = 0; v < k; ++v) p[v] = std::pow(v + 1.0, -s);
  const double total = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& x : p) x /= total;
  return p;
}

inline std::vector<double> spike(uint32_t k) {
  std::vector<double> p(k, 0.0);
  p[0] = 1;
  return p;
}

inline MseTrials run_mse_trials(const Protocol& protocol, const std::vector<double>& probabilities,
                                uint64_t n, int trials, uint64_t seed) {
  std::vector<double> cumulative(probabilities.size());
  std::partial_sum(probabilities.begin(), probabilities.end(), cumulative.begin());
  SeededRng rng(seed);  // simulation only
  std::vector<double> mse;
  Report report;
  for (int t = 0; t < trials; ++t) {
    Tally tally = protocol.new_tally();
    std::vector<double> truth(probabilities.size(), 0.0);
    for (uint64_t i = 0; i < n; ++i) {
      const auto it = std::upper_bound(cumulative.begin(), cumulative.end(),
                                       rng.uniform01() * cumulative.back());
      const auto value = static_cast<uint32_t>(std::min<std::ptrdiff_t>(
          it - cumulative.begin(), static_cast<std::ptrdiff_t>(truth.size()) - 1));
      truth[value] += 1.0 / static_cast<double>(n);
      protocol.encoder().encode(value, rng, report);
      tally.add(report);
    }
    mse.push_back(mean_squared_error(protocol.estimator().estimate(tally).frequencies, truth));
  }
  MseTrials out;
  out.mean = std::accumulate(mse.begin(), mse.end(), 0.0) / trials;
  double ss = 0;
  for (double m : mse) ss += (m - out.mean) * (m - out.mean);
  out.standard_error = std::sqrt(ss / (trials - 1) / trials);
  return out;
}

/// The statistical check of tests/stats: T seeded trials, then a z-test of the empirical MSE
/// against Estimator::mean_variance at 4.5 standard errors (false alarm ~7e-6), with the
/// standard error itself required below 2% of the theory so the check has power (it resolves
/// a 9% deviation). See tests/stats/mse_test.cpp for the reasoning.
inline void check_against_theory(const Protocol& p, const std::vector<double>& probabilities,
                                 uint64_t n, uint64_t seed, int trials = 200) {
  const MseTrials got = run_mse_trials(p, probabilities, n, trials, seed);
  const double theory = p.estimator().mean_variance(probabilities, n);
  INFO(p.id() << " k=" << p.params().k << " eps=" << p.params().epsilon << " n=" << n
              << ": empirical " << got.mean << " +- " << got.standard_error << ", theory " << theory
              << ", ratio " << got.mean / theory);
  CHECK(got.standard_error < 0.02 * theory);
  CHECK(std::abs(got.mean - theory) <= 4.5 * got.standard_error);
}

}  // namespace residue::testing
