// The tally sampler (protocols/tally_sampler.h) against the closed-form theory that encoding
// every report matches (tests/stats/mse_test.cpp): the decoded MSE from sampled tallies, over
// seeded trials, must agree with Estimator::mean_variance.
//
// Tolerance. The sampler drops the negative correlation between the counters of one block, so
// its MSE is not exactly the theory's: within a block the estimates' errors are independent
// instead of slightly anti-correlated. For SS the per-value MSE depends only on each counter's
// marginal, which is exact, so the z-test of mse_test.cpp applies (4.5 standard errors). For MSS
// the least-squares combination of blocks sees the covariance, an O(1/m) relative effect: the
// measured ratios (printed by INFO) are within 0.5% of 1, inside this test's resolution, so the
// check allows 2% for it plus 4.5 standard errors.
#include "residue/protocols/tally_sampler.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>

#include "residue/estimate/estimate.h"
#include "residue/protocols/registry.h"
#include "residue/random/binomial.h"
#include "residue/random/seeded_rng.h"
#include "support/mse_trials.h"

namespace residue {
namespace {

void check_sampled_mse(const Protocol& p, const std::vector<double>& probabilities, uint64_t n,
                       double allowed_bias, uint64_t seed) {
  SeededRng rng(seed);  // simulation only
  const int trials = 300;
  std::vector<double> mse;
  for (int t = 0; t < trials; ++t) {
    const std::vector<uint64_t> counts = multinomial(probabilities, n, rng);
    std::vector<double> truth(counts.size());
    for (std::size_t x = 0; x < counts.size(); ++x) truth[x] = double(counts[x]) / double(n);
    const Tally tally = sample_tally(p, counts, rng);
    REQUIRE(tally.total_reports() == n);
    mse.push_back(mean_squared_error(p.estimator().estimate(tally).frequencies, truth));
  }
  const double mean = std::accumulate(mse.begin(), mse.end(), 0.0) / trials;
  double ss = 0;
  for (double m : mse) ss += (m - mean) * (m - mean);
  const double standard_error = std::sqrt(ss / (trials - 1) / trials);
  const double theory = p.estimator().mean_variance(probabilities, n);
  INFO(p.id() << " k=" << p.params().k << " eps=" << p.params().epsilon << ": sampled " << mean
              << " +- " << standard_error << ", theory " << theory << ", ratio " << mean / theory);
  CHECK(standard_error < 0.02 * theory);
  CHECK(std::abs(mean - theory) <= allowed_bias * theory + 4.5 * standard_error);
}

Protocol build(const std::string& name, uint32_t k, double eps) {
  return make_protocol(complete_params({.protocol = name, .k = k, .epsilon = eps}));
}

TEST_CASE("ss tallies drawn by the sampler decode with the exact theory's mse", "[stats]") {
  check_sampled_mse(build("ss", 256, 1.0), testing::zipf(256, 1.1), 20000, 0.0, 11);
  check_sampled_mse(build("ss", 1000, 4.0), testing::spike(1000), 20000, 0.0, 12);
}

TEST_CASE("mss tallies drawn by the sampler decode within 2 percent of the theory's mse",
          "[stats]") {
  check_sampled_mse(build("mss", 1000, 2.0), testing::zipf(1000, 1.1), 20000, 0.02, 13);
  check_sampled_mse(build("mss", 4000, 8.0), testing::zipf(4000, 1.1), 50000, 0.02, 14);
}

TEST_CASE("the sampler refuses protocols it cannot draw and counts of the wrong size", "[stats]") {
  SeededRng rng(1);
  const std::vector<uint64_t> counts(64, 1);
  REQUIRE_THROWS_WITH(sample_tally(build("grr", 64, 1.0), counts, rng), Catch::Contains("grr"));
  REQUIRE_THROWS_WITH(sample_tally(build("ss", 65, 1.0), counts, rng), Catch::Contains("k = 65"));
}

}  // namespace
}  // namespace residue
