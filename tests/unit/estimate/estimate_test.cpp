// Post-processing: Norm-Sub against the worked example and the sort-free definition, clipping.
#include "residue/estimate/estimate.h"

#include <catch2/catch.hpp>
#include <numeric>

#include "residue/core/error.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

TEST_CASE("norm-sub matches the worked example", "[estimate]") {
  // docs/protocols/estimation.md, "Post-processing": (0.5, 0.4, 0.3, -0.2) -> delta = 0.0667
  // -> (0.4333, 0.3333, 0.2333, 0).
  const std::vector<double> out = project_to_simplex(std::vector<double>{0.5, 0.4, 0.3, -0.2});
  CHECK(out[0] == Approx(0.5 - 0.2 / 3).epsilon(1e-12));
  CHECK(out[1] == Approx(0.4 - 0.2 / 3).epsilon(1e-12));
  CHECK(out[2] == Approx(0.3 - 0.2 / 3).epsilon(1e-12));
  CHECK(out[3] == 0.0);
}

TEST_CASE("norm-sub output is the simplex point where the shift balances the mass", "[estimate]") {
  // Defining property: out = max(f - delta, 0) with sum 1. Check it on noisy vectors by
  // recovering delta from any positive entry.
  SeededRng rng(11);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<double> f(1 + rng.uniform(300));
    for (double& v : f) v = rng.uniform01() * 0.2 - 0.05;
    const std::vector<double> out = project_to_simplex(f);
    CHECK(std::accumulate(out.begin(), out.end(), 0.0) == Approx(1.0).epsilon(1e-12));
    double delta = 0;
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (out[i] > 0) delta = f[i] - out[i];
    }
    for (std::size_t i = 0; i < f.size(); ++i) {
      CHECK(out[i] >= 0);
      CHECK(out[i] == Approx(std::max(f[i] - delta, 0.0)).margin(1e-12));
    }
  }
}

TEST_CASE("postprocess keeps, clips or projects", "[estimate]") {
  const std::vector<double> f{0.7, -0.1, 0.5};
  CHECK(postprocess(f, Postprocess::kNone) == f);
  CHECK(postprocess(f, Postprocess::kClip) == std::vector<double>{0.7, 0.0, 0.5});
  const std::vector<double> n = postprocess(f, parse_postprocess("normsub"));
  CHECK(std::accumulate(n.begin(), n.end(), 0.0) == Approx(1.0));
  CHECK_THROWS_WITH(parse_postprocess("median"), Catch::Contains("median"));
}

TEST_CASE("mean squared error averages over the domain", "[estimate]") {
  CHECK(mean_squared_error(std::vector<double>{1, 2}, std::vector<double>{0, 0}) == 2.5);
  CHECK_THROWS_AS(mean_squared_error(std::vector<double>{1}, std::vector<double>{1, 2}), Error);
}

}  // namespace
}  // namespace residue
