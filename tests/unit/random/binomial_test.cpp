#include "residue/random/binomial.h"

#include <catch2/catch.hpp>

#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

TEST_CASE("multinomial counts sum to the trials and skip zero-probability values", "[random]") {
  SeededRng rng(3);
  const std::vector<double> p = {0.5, 0.0, 0.25, 0.25, 0.0};
  const std::vector<uint64_t> counts = multinomial(p, 1'000'000'000, rng);
  CHECK(counts[0] + counts[2] + counts[3] == 1'000'000'000);
  CHECK(counts[1] == 0);
  CHECK(counts[4] == 0);
  // Binomial(1e9, 1/2) has a standard deviation of 15,811: 6 of them is 94,868.
  CHECK(std::llabs(static_cast<long long>(counts[0]) - 500'000'000) < 94'868);
}

TEST_CASE("binomial handles the edges and multinomial refuses bad probabilities", "[random]") {
  SeededRng rng(4);
  CHECK(binomial(0, 0.5, rng) == 0);
  CHECK(binomial(10, 0.0, rng) == 0);
  CHECK(binomial(10, 1.0, rng) == 10);
  CHECK(binomial(10, 1.5, rng) == 10);
  const std::vector<double> negative = {0.5, -0.1};
  REQUIRE_THROWS_WITH(multinomial(negative, 10, rng), Catch::Contains("negative"));
  const std::vector<double> zero = {0.0, 0.0};
  REQUIRE_THROWS_WITH(multinomial(zero, 10, rng), Catch::Contains("sum to zero"));
}

}  // namespace
}  // namespace residue
