// Hutchinson trace estimation: exactness on diagonals, error bands, probe counts, bad options.
#include "residue/solve/trace_estimate.h"

#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "residue/core/error.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

Eigen::MatrixXd random_spd(Eigen::Index n, std::mt19937& gen) {
  std::normal_distribution<double> normal;
  const Eigen::MatrixXd m = Eigen::MatrixXd::NullaryExpr(n, n, [&] { return normal(gen); });
  return m * m.transpose() / static_cast<double>(n) + Eigen::MatrixXd::Identity(n, n);
}

TEST_CASE("trace estimate is exact for a diagonal matrix", "[trace]") {
  // z_i^2 = 1 for Rademacher z, so z^T D z = tr(D) on every probe.
  const Eigen::VectorXd d = Eigen::VectorXd::LinSpaced(100, 0.5, 50);
  SeededRng rng(1);
  const TraceEstimate t = estimate_trace(
      100, [&](const Eigen::VectorXd& z) { return z.dot(d.cwiseProduct(z)); }, rng);
  CHECK(t.value == Approx(d.sum()).epsilon(1e-14));  // identical samples: rounding only
  CHECK(t.standard_error == 0);
  CHECK(t.probes == TraceOptions{}.min_probes);
}

TEST_CASE("trace estimate lands within its standard error band", "[trace]") {
  std::mt19937 gen(31);
  const Eigen::MatrixXd b = random_spd(120, gen);
  const double exact = b.trace();
  SeededRng rng(2);
  const TraceEstimate t =
      estimate_trace(120, [&](const Eigen::VectorXd& z) { return z.dot(b * z); }, rng,
                     {.relative_precision = 0.002, .min_probes = 4, .max_probes = 2000});
  CHECK(t.standard_error <= 0.002 * t.value);
  CHECK(t.probes < 2000);
  // Four standard errors: a fixed seed, and a miss this large has probability ~6e-5.
  CHECK(std::abs(t.value - exact) <= 4 * t.standard_error);
}

TEST_CASE("trace estimate standard error matches the Rademacher variance", "[trace]") {
  // Var(z^T B z) = 2 (||B||_F^2 - sum_i B_ii^2) for symmetric B and Rademacher z.
  std::mt19937 gen(32);
  const Eigen::MatrixXd b = random_spd(60, gen);
  const double variance = 2 * (b.squaredNorm() - b.diagonal().squaredNorm());
  SeededRng rng(3);
  const int probes = 800;
  const TraceEstimate t =
      estimate_trace(60, [&](const Eigen::VectorXd& z) { return z.dot(b * z); }, rng,
                     {.relative_precision = 0, .min_probes = probes, .max_probes = probes});
  CHECK(t.probes == probes);
  // The sample variance of 800 draws is within ~15% of the truth (its relative sd is ~6%).
  CHECK(t.standard_error * t.standard_error * probes == Approx(variance).epsilon(0.15));
}

TEST_CASE("trace estimate draws balanced plus and minus one probes", "[trace]") {
  // 130 entries span three 64-bit words, including a partial one.
  SeededRng rng(4);
  int plus = 0;
  int entries = 0;
  bool all_signs = true;
  estimate_trace(130,
                 [&](const Eigen::VectorXd& z) {
                   for (double v : z) {
                     all_signs = all_signs && (v == 1.0 || v == -1.0);
                     plus += v > 0 ? 1 : 0;
                     ++entries;
                   }
                   return 1.0;
                 },
                 rng, {.relative_precision = 0, .min_probes = 50, .max_probes = 50});
  CHECK(all_signs);
  CHECK(entries == 50 * 130);
  // 6500 fair bits: the count of +1 has sd ~40, so a 200 band is five sigma.
  CHECK(std::abs(plus - entries / 2) < 200);
}

TEST_CASE("trace estimate rejects bad options", "[trace]") {
  SeededRng rng(5);
  const auto form = [](const Eigen::VectorXd& z) { return z.squaredNorm(); };
  CHECK_THROWS_WITH(estimate_trace(0, form, rng), "k must be at least 1, but is 0.");
  CHECK_THROWS_WITH(estimate_trace(4, form, rng, {.relative_precision = -0.1}),
                    "relative_precision must be non-negative, but is -0.1.");
  CHECK_THROWS_WITH(estimate_trace(4, form, rng, {.min_probes = 1}),
                    "min_probes must be at least 2, but is 1.");
  CHECK_THROWS_WITH(estimate_trace(4, form, rng, {.min_probes = 8, .max_probes = 4}),
                    "max_probes must be at least min_probes (8), but is 4.");
  CHECK_THROWS_AS(estimate_trace(-3, form, rng), Error);
}

}  // namespace
}  // namespace residue
