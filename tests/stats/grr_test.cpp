// Statistical checks, seeded: the empirical MSE of GRR against its exact closed-form
// variance (docs/protocols/estimation.md, "Pure protocols", with p = e/(e+k-1),
// q = 1/(e+k-1)), through testing::check_against_theory (4.5 standard errors, standard error
// under 2% of theory; see tests/stats/mse_test.cpp for the reasoning).
#include <catch2/catch.hpp>

#include "residue/protocols/registry.h"
#include "support/mse_trials.h"

namespace residue {
namespace {

Protocol grr(uint32_t k, double eps) {
  return make_protocol({.protocol = "grr", .k = k, .epsilon = eps});
}

TEST_CASE("grr empirical mse matches the exact variance", "[stats][grr]") {
  // k = 64, eps = 4: the regime where GRR is competitive (e^eps close to k).
  testing::check_against_theory(grr(64, 4.0), testing::zipf(64, 1.1), 20000, 101);
  // k = 16, eps = 1, where the f-term is large. With only 16 values the per-trial MSE is a
  // sum of few squared terms and spreads more (relative SD ~ sqrt(2/16)), so 500 trials
  // rather than 200 keep the standard error under the 2% power requirement.
  testing::check_against_theory(grr(16, 1.0), testing::zipf(16, 1.3), 10000, 102, 500);
  // Spike data: every report comes from value 0, the f-term at its largest.
  testing::check_against_theory(grr(32, 2.0), testing::spike(32), 10000, 103);
}

}  // namespace
}  // namespace residue
