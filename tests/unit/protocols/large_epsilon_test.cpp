// Every protocol's rare branch at large epsilon (issue 12): a coin within 2^-53 of 1, or a
// noise count whose tail is below 2^-53, used to be rounded away by a 53-bit uniform, so GRR
// on two values never flipped for eps >= 38 while eps up to 50 is accepted. Each check finds
// the exact uniform where the report changes (support/scripted_rng.h) and compares the mass
// beyond it with the mechanism's probability, to relative 1e-9: the resolution is 2^-128, far
// below these 1e-20 events, which no sampling run could observe.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>

#include "residue/protocols/hadamard.h"
#include "residue/protocols/local_hash.h"
#include "residue/protocols/registry.h"
#include "support/scripted_rng.h"

namespace residue {
namespace {

using testing::tail_probability;

Protocol build(const char* name, uint32_t k, double epsilon) {
  return make_protocol(complete_params({.protocol = name, .k = k, .epsilon = epsilon}));
}

TEST_CASE("issue 12: grr on two values at eps = 40 flips with probability 1 / (e^40 + 1)",
          "[grr]") {
  const Protocol grr = build("grr", 2, 40);
  // Draws: the keep coin first.
  const testing::Tail flip =
      tail_probability({}, [&](Rng& rng) { return grr.encoder().encode(0, rng).items[0] == 1; });
  CHECK(flip.above == Approx(1 / (std::exp(40.0) + 1)).epsilon(1e-9));
}

TEST_CASE("issue 12: every coin keeps its rare side at eps = 50", "[protocols]") {
  const double eps = 50, e = std::exp(eps);
  SECTION("ss leaves the value out with probability (k - 1) / (e^eps + k - 1)") {
    // omega = 1 at this epsilon. Draws: the inclusion coin first.
    const Protocol ss = build("ss", 64, eps);
    REQUIRE(ss.params().subset_sizes[0] == 1);
    const testing::Tail out =
        tail_probability({}, [&](Rng& rng) { return ss.encoder().encode(5, rng).items[0] != 5; });
    CHECK(out.above == Approx(63 / (e + 63)).epsilon(1e-9));
  }
  SECTION("olh moves the bucket with probability (g - 1) / (e^eps + g - 1)") {
    // Draws: the seed (the word 1: seed 0, with no rejection), then the keep coin.
    const uint32_t k = 16;
    const Protocol olh = build("olh", k, eps);
    const LocalHashDesign design = local_hash_design(k, eps);
    const uint32_t bucket = LocalHashFamily(k, design.buckets).hash(0, 3);
    const testing::Tail moved = tail_probability(
        {1}, [&](Rng& rng) { return olh.encoder().encode(3, rng).items[0] != bucket; });
    const double g = design.buckets;
    CHECK(moved.above == Approx((g - 1) / (e + g - 1)).epsilon(1e-9));
  }
  SECTION("hr leaves C_x with probability (2B - 1) / (e^eps - 1 + 2B)") {
    // Draws: the coin first. Outside C_x a report has the low probability.
    const uint32_t k = 16;
    const Protocol hr = build("hr", k, eps);
    const double blocks = hadamard_layout(k, eps).blocks;
    testing::ScriptedRng kept({0});
    const double high = hr.encoder().probability(hr.encoder().encode(3, kept), 3);
    const testing::Tail outside = tail_probability({}, [&](Rng& rng) {
      return hr.encoder().probability(hr.encoder().encode(3, rng), 3) < high;
    });
    CHECK(outside.above == Approx((2 * blocks - 1) / (e - 1 + 2 * blocks)).epsilon(1e-9));
  }
  SECTION("sue turns the value's bit off with probability 1 / (e^(eps/2) + 1)") {
    // Draws: the value's bit first (1e-11: representable, but not on a 2^-53 grid).
    const Protocol sue = build("sue", 16, eps);
    const testing::Tail off = tail_probability({}, [&](Rng& rng) {
      const Report r = sue.encoder().encode(3, rng);
      return !std::binary_search(r.items.begin(), r.items.end(), 3u);
    });
    CHECK(off.above == Approx(1 / (std::exp(eps / 2) + 1)).epsilon(1e-9));
  }
  SECTION("oue sets a noise bit with probability 1 - (1 - q)^(k - 1)") {
    // Draws: the value's bit (a zero word: on), then the number of noise ones.
    const uint32_t k = 16;
    const Protocol oue = build("oue", k, eps);
    const testing::Tail noisy = tail_probability(
        {0}, [&](Rng& rng) { return oue.encoder().encode(3, rng).items.size() > 1; });
    const double q = 1 / (e + 1);
    CHECK(noisy.above == Approx(-std::expm1((k - 1) * std::log1p(-q))).epsilon(1e-9));
  }
}

}  // namespace
}  // namespace residue
