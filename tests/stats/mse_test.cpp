// Statistical checks, seeded: the empirical MSE of SS and MSS against their closed-form
// expected MSE, at several (k, epsilon) and data shapes.
//
// Tolerance: each check is a z-test, |empirical - theory| <= 4.5 standard errors, where the
// standard error is measured from the spread of the per-trial MSEs (200+ trials: the mean is
// normal to a good approximation). A correct implementation fails one check with
// probability about 7e-6. So that a check cannot pass for lack of power, each also requires
// that standard error to be under 2% of the theory, i.e. the test resolves a 9% deviation.
// The theory is evaluated at the population's probabilities rather than each trial's
// empirical frequencies; the expected MSE is affine in f up to an O(1/n) term, so averaging
// over trials makes the two agree to O(1/n).
#include <catch2/catch.hpp>

#include "residue/protocols/registry.h"
#include "support/mse_trials.h"

namespace residue {
namespace {

Protocol build(const std::string& name, uint32_t k, double eps, std::vector<uint32_t> moduli = {}) {
  return make_protocol(
      complete_params({.protocol = name, .k = k, .epsilon = eps, .moduli = moduli}));
}

TEST_CASE("ss empirical mse matches the exact variance", "[stats][ss]") {
  testing::check_against_theory(build("ss", 256, 1.0), testing::zipf(256, 1.1), 20000, 1);
  testing::check_against_theory(build("ss", 256, 4.0), testing::spike(256), 20000, 2);
  testing::check_against_theory(build("ss", 1000, 2.0), testing::zipf(1000, 0.6), 10000, 3);
}

TEST_CASE("mss empirical mse matches the full first-order theory", "[stats][mss]") {
  // The main term alone predicts 6.53e-4 here; simulations measure ~6.8e-4
  // (docs/protocols/reference_cases.md, "MSS worked example").
  testing::check_against_theory(build("mss", 64, 1.0, {53, 59, 61}), testing::zipf(64, 1.1), 6000,
                                4);
  // On spike data at eps=4, k=256 the terms beyond the main one are 14% of the MSE
  // (docs/protocols/mss.md, "Closed-form variance").
  testing::check_against_theory(build("mss", 256, 4.0), testing::spike(256), 20000, 5);
  // Chosen moduli for k = 1000, their product astronomically larger than k.
  testing::check_against_theory(build("mss", 1000, 2.0), testing::zipf(1000, 1.1), 20000, 6);
  // Moduli below k/2 (classes of 2 and 3 values), poorly conditioned: inflation about 2x.
  // Its per-trial MSE is heavy-tailed (a few weak directions), hence more trials for power.
  testing::check_against_theory(build("mss", 100, 1.0, {43, 47, 53, 59}), testing::zipf(100, 0.8),
                                10000, 7, 600);
}

}  // namespace
}  // namespace residue
