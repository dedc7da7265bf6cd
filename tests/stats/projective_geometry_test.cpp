// Statistical checks of PGR, seeded: the empirical MSE against the exact pure-protocol
// variance (docs/protocols/estimation.md, "Pure protocols", with p* = s, q* = r), at
// k = 1024 where the padded universe K is far above k (eps = 1: q = 5, t = 6, K = 3906;
// eps = 3: q = 23, t = 4, K = 12720), so the estimator's restriction to the first k points is
// exercised.
//
// Tolerance: check_against_theory's z-test at 4.5 standard errors with the standard error
// required under 2% of the theory (tests/stats/mse_test.cpp gives the reasoning). Defaults
// otherwise: 200 trials. n = 5000 keeps each setting under about a second; the variance is
// exact for every n, so a smaller n loses no power relative to the theory.
#include <catch2/catch.hpp>

#include "residue/protocols/registry.h"
#include "support/mse_trials.h"

namespace residue {
namespace {

Protocol pgr(uint32_t k, double epsilon) {
  return make_protocol(complete_params({.protocol = "pgr", .k = k, .epsilon = epsilon}));
}

TEST_CASE("pgr empirical mse matches the exact variance", "[stats][pgr]") {
  testing::check_against_theory(pgr(1024, 1.0), testing::zipf(1024, 1.1), 5000, 31);
  // Spike data: the f-term s(1 - s) - r(1 - r) of the one populated value is included.
  testing::check_against_theory(pgr(1024, 3.0), testing::spike(1024), 5000, 32);
}

}  // namespace
}  // namespace residue
