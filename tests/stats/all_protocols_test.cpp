// Every registered protocol, statistically: its empirical MSE against its closed-form
// variance, and its single-report attack's empirical success against the exact rate.
// Tolerances: 4.5 standard errors (false alarm about 7e-6 per check); see mse_test.cpp.
#include <catch2/catch.hpp>
#include <cmath>

#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"
#include "support/mse_trials.h"

namespace residue {
namespace {

Protocol build(const ProtocolInfo& info, uint32_t k, double eps) {
  return make_protocol(
      complete_params({.protocol = std::string(info.name), .k = k, .epsilon = eps}));
}

TEST_CASE("every protocol's empirical mse matches its closed form", "[stats][protocols]") {
  uint64_t seed = 100;
  for (const ProtocolInfo& info : registered_protocols()) {
    INFO(info.name);
    testing::check_against_theory(build(info, 128, 1.0), testing::zipf(128, 1.1), 10000, ++seed);
    // Spike data concentrates the error on a few values (HR: one block of 15), so the
    // per-trial MSE is noisier; 400 trials keep the standard error under 2% of the theory.
    testing::check_against_theory(build(info, 128, 3.0), testing::spike(128), 10000, ++seed, 400);
  }
}

TEST_CASE("every protocol's attack succeeds as often as its exact rate says",
          "[stats][protocols]") {
  // Binomial: N draws per value, success rate within 4.5 standard errors of Attack::success.
  constexpr int kDraws = 40000;
  for (const ProtocolInfo& info : registered_protocols()) {
    for (double eps : {1.0, 4.0}) {
      const Protocol p = build(info, 64, eps);
      SeededRng rng(7);
      Report r;
      for (uint32_t x : {0u, 37u}) {
        int hits = 0;
        for (int i = 0; i < kDraws; ++i) {
          p.encoder().encode(x, rng, r);
          hits += p.attack().guess(r, rng) == x;
        }
        const double theory = p.attack().success(x);
        const double se = std::sqrt(theory * (1 - theory) / kDraws);
        INFO(info.name << " eps=" << eps << " x=" << x << ": " << static_cast<double>(hits) / kDraws
                       << " vs " << theory);
        CHECK(std::abs(static_cast<double>(hits) / kDraws - theory) <= 4.5 * se);
      }
    }
  }
}

}  // namespace
}  // namespace residue
