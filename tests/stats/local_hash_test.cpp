// Statistical checks of OLH, seeded: the empirical MSE against the exact closed-form
// variance (tests/stats/mse_test.cpp explains the z-test at 4.5 standard errors and the 2%
// power requirement of check_against_theory; its defaults of 200 trials are kept).
//
// The settings cover the three kinds of field (GF(4) in characteristic 2, a prime, GF(9)
// through tables) and spike data, where a pool of random hash functions would fail: the
// users holding the spike share the pool's collisions, a fixed bias of about
// n / ((g - 1) V S) of the variance (docs/protocols/olh.md). The exact pool has none.
#include <catch2/catch.hpp>

#include "residue/protocols/registry.h"
#include "support/mse_trials.h"

namespace residue {
namespace {

Protocol olh(uint32_t k, double epsilon) {
  return make_protocol(complete_params({.protocol = "olh", .k = k, .epsilon = epsilon}));
}

TEST_CASE("olh empirical mse matches the exact variance", "[stats][olh]") {
  // The setting peer libraries were measured at (docs/protocols/reference_cases.md, "Peer
  // libraries"): k = 1024, eps = 1 (g = 4, S = 341), V = 3.68.
  testing::check_against_theory(olh(1024, 1.0), testing::zipf(1024, 1.1), 20000, 11);
  // Spike at eps = 4: g = 53 (prime), d = 2, S = 54 seeds shared by 20000 users.
  testing::check_against_theory(olh(256, 4.0), testing::spike(256), 20000, 12);
  // GF(9) through its tables: k = 1000, d = 4, S = 820.
  testing::check_against_theory(olh(1000, 2.1), testing::zipf(1000, 0.6), 10000, 13);
}

}  // namespace
}  // namespace residue
