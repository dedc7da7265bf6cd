// InversionTable: every outcome gets its share of the weights, to 2^-128 at either end of the
// table, and draws follow the weights.
#include "residue/random/inversion_table.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "residue/core/error.h"
#include "residue/random/seeded_rng.h"
#include "support/scripted_rng.h"

namespace residue {
namespace {

TEST_CASE("an inversion table keeps tails far below 2^-53 at both ends", "[rng]") {
  // A double CDF cannot tell 1 - 1e-25 from 1: the last outcome would never be drawn.
  const std::vector<double> weights{1e-25, 1e-12, 1, 1e-12, 1e-25};
  const InversionTable table(weights);
  double total = 0;
  for (double w : weights) total += w;
  for (std::size_t i = 1; i < weights.size(); ++i) {
    // P[index >= i], from the threshold where the draw reaches i.
    const testing::Tail tail =
        testing::tail_probability({}, [&](Rng& rng) { return table.sample(rng) >= i; });
    double below = 0, above = 0;  // each summed on its own: 1 - above would round
    for (std::size_t j = 0; j < weights.size(); ++j) (j < i ? below : above) += weights[j] / total;
    INFO("i = " << i);
    CHECK(tail.below == Approx(below).epsilon(1e-12));
    CHECK(tail.above == Approx(above).epsilon(1e-12));
  }
}

TEST_CASE("an inversion table draws in proportion to the weights", "[rng]") {
  // 400000 draws over 5 outcomes: chi-square with 4 degrees of freedom, P[chi2_4 > 40] = 4e-8.
  const std::vector<double> weights{1, 2, 3, 0, 4};
  const InversionTable table(weights);
  SeededRng rng(12);
  std::vector<double> counts(weights.size(), 0);
  const int n = 400000;
  for (int i = 0; i < n; ++i) ++counts[table.sample(rng)];
  CHECK(counts[3] == 0);
  double chi2 = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] == 0) continue;
    const double expected = n * weights[i] / 10;
    chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  INFO("chi-square = " << chi2);
  CHECK(chi2 < 40);
}

TEST_CASE("an inversion table rejects weights it cannot draw from", "[rng]") {
  CHECK_THROWS_AS(InversionTable(std::vector<double>{}), Error);
  CHECK_THROWS_WITH(InversionTable(std::vector<double>{1, -1}), Catch::Contains("weight 1"));
  CHECK_THROWS_AS(InversionTable(std::vector<double>{0, 0}), Error);
  CHECK_THROWS_AS(InversionTable(std::vector<double>{1, NAN}), Error);
}

}  // namespace
}  // namespace residue
