// MemoryBuilder: exact counts kept as they are, clipping, Norm-Sub per cell against a
// brute-force projection, and the smoothed distribution.
#include "residue/memory/memory_builder.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <vector>

#include "residue/core/error.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

TEST_CASE("memory builder keeps exact counts", "[memory_builder]") {
  const MemoryBuilder b(2, 3);
  CHECK(b.domain() == 6);
  const std::vector<uint64_t> counts = {5, 0, 1, 0, 0, 7};
  CHECK(b.from_counts(counts) == std::vector<double>{5, 0, 1, 0, 0, 7});
  CHECK_THROWS_WITH(b.from_counts(std::vector<uint64_t>(5)),
                    Catch::Contains("5 counts, but 2 cells x 3 tokens need 6"));
  CHECK_THROWS_WITH(MemoryBuilder(0, 3), Catch::Contains("cells must be at least 1"));
}

TEST_CASE("memory builder clips negative estimates", "[memory_builder]") {
  const MemoryBuilder b(2, 3);
  const std::vector<double> e = {5.5, -2, 1, -0.5, 0, 7};
  CHECK(b.from_estimate(e, CellPostprocess::kClip) == std::vector<double>{5.5, 0, 1, 0, 0, 7});
  const std::vector<double> nan = {1, 2, NAN, 0, 0, 0};
  CHECK_THROWS_WITH(b.from_estimate(nan, CellPostprocess::kClip), Catch::Contains("estimate 2"));
}

TEST_CASE("memory builder projects each cell onto the simplex of its mass", "[memory_builder]") {
  const MemoryBuilder b(2, 4);
  // Cell 0 has mass 8 + 3 + 1 - 2 = 10; the projection subtracts the delta that solves
  // sum max(x - delta, 0) = 10: over {8, 3, 1}, delta = 2/3 (7.33 + 2.33 + 0.33 = 10).
  const std::vector<double> e = {8, 3, 1, -2, -1, -1, -1, -1};
  const std::vector<double> t = b.from_estimate(e, CellPostprocess::kProject);
  CHECK(t[0] == Approx(8 - 2.0 / 3));
  CHECK(t[1] == Approx(3 - 2.0 / 3));
  CHECK(t[2] == Approx(1 - 2.0 / 3));
  CHECK(t[3] == 0);
  // Cell 1's mass is negative: nothing survives.
  for (int i = 4; i < 8; ++i) CHECK(t[i] == 0);
}

TEST_CASE("project_row is the Euclidean projection", "[memory_builder]") {
  // Against the definition: the result is feasible, and moving mass between any two entries
  // (keeping feasibility) does not get closer to the input.
  SeededRng rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t n = 1 + rng.uniform(12);
    std::vector<double> x(n);
    for (double& v : x) v = 20 * rng.uniform01() - 8;
    const double mass = 30 * rng.uniform01();
    std::vector<double> p = x;
    project_row(p, mass);
    double sum = 0;
    for (double v : p) {
      REQUIRE(v >= 0);
      sum += v;
    }
    REQUIRE(sum == Approx(mass).margin(1e-9));
    // KKT: one threshold delta with p_i = x_i - delta where p_i > 0 and x_i <= delta elsewhere.
    double delta = NAN;
    for (std::size_t i = 0; i < n; ++i) {
      if (p[i] > 0) delta = x[i] - p[i];
    }
    if (std::isnan(delta)) continue;  // mass 0
    for (std::size_t i = 0; i < n; ++i) {
      if (p[i] > 0) {
        CHECK(x[i] - p[i] == Approx(delta).margin(1e-9));
      } else {
        CHECK(x[i] <= delta + 1e-9);
      }
    }
  }
}

TEST_CASE("memory builder distribution is smoothed and sums to one", "[memory_builder]") {
  const MemoryBuilder b(1, 4);
  std::vector<double> p(4);
  const std::vector<double> row = {6, 0, 2, 0};
  b.distribution(row, 1, p);
  CHECK(p == std::vector<double>{7.0 / 12, 1.0 / 12, 3.0 / 12, 1.0 / 12});
  b.distribution(row, 0, p);
  CHECK(p == std::vector<double>{0.75, 0, 0.25, 0});
  const std::vector<double> empty = {0, 0, 0, 0};
  b.distribution(empty, 0, p);
  CHECK(p == std::vector<double>{0.25, 0.25, 0.25, 0.25});
  CHECK_THROWS_WITH(b.distribution(row, -1, p), Catch::Contains("alpha"));
  CHECK(parse_cell_postprocess("project") == CellPostprocess::kProject);
  CHECK_THROWS_WITH(parse_cell_postprocess("round"), Catch::Contains("\"round\""));
}

}  // namespace
}  // namespace residue
