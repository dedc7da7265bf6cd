// MSS decode on the normal equations (CG) against LSMR on the stacked least squares: the same
// estimate to well under a thousandth of a standard error, and LSMR kept below k/2.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>

#include "residue/protocols/mss.h"
#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

struct Case {
  uint32_t k;
  double eps;
  std::vector<uint32_t> moduli;  // empty: complete_params chooses them
  uint64_t n;
  uint64_t seed;
  double ridge = 0;
};

Protocol build(const Case& c) {
  return make_protocol(
      complete_params({.protocol = "mss", .k = c.k, .epsilon = c.eps, .moduli = c.moduli}));
}

// A Zipf-like population: value v has weight 1 / (v + 1).
std::vector<double> frequencies(uint32_t k) {
  std::vector<double> f(k);
  double total = 0;
  for (uint32_t v = 0; v < k; ++v) total += f[v] = 1.0 / (v + 1.0);
  for (double& x : f) x /= total;
  return f;
}

Tally seeded_tally(const Protocol& p, const std::vector<double>& f, uint64_t n, uint64_t seed) {
  SeededRng rng(seed);
  std::vector<double> cumulative(f.size());
  std::partial_sum(f.begin(), f.end(), cumulative.begin());
  Tally t = p.new_tally();
  Report r;
  for (uint64_t i = 0; i < n; ++i) {
    const double u = rng.uniform01() * cumulative.back();
    const auto v = static_cast<uint32_t>(std::min<std::size_t>(
        std::lower_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin(),
        f.size() - 1));
    p.encoder().encode(v, rng, r);
    t.add(r);
  }
  return t;
}

TEST_CASE("mss normal-equation decode matches a 1e-12 LSMR solve within 1e-3 standard errors",
          "[mss][solver]") {
  for (const Case& c : {Case{64, 1.0, {53, 59, 61}, 5000, 1}, Case{64, 4.0, {37, 41, 43}, 3000, 2},
                        Case{300, 0.5, {}, 20000, 3}, Case{1024, 1.0, {}, 20000, 4},
                        Case{1024, 4.0, {}, 20000, 5}, Case{1024, 2.0, {}, 20000, 6, 0.5}}) {
    CAPTURE(c.k, c.eps, c.n, c.seed, c.ridge);
    const Protocol p = build(c);
    const std::vector<double> f = frequencies(c.k);
    const Tally t = seeded_tally(p, f, c.n, c.seed);
    const Estimate fast = p.estimator().estimate(t, {.ridge = c.ridge});
    const Estimate exact = mss_least_squares_estimate(
        p, t, {.ridge = c.ridge, .tolerance = 1e-12, .max_iterations = 20000});
    REQUIRE(fast.solver_converged);
    REQUIRE(exact.solver_converged);
    std::vector<uint32_t> values(c.k);
    std::iota(values.begin(), values.end(), 0);
    const std::vector<double> variance = p.estimator().variances(f, t, values);
    double worst = 0;
    for (uint32_t v = 0; v < c.k; ++v) {
      worst = std::max(
          worst, std::abs(fast.frequencies[v] - exact.frequencies[v]) / std::sqrt(variance[v]));
    }
    CAPTURE(worst, fast.solver_iterations, exact.solver_iterations);
    CHECK(worst < 1e-3);
  }
}

TEST_CASE("mss keeps LSMR when a modulus is below k/2", "[mss][solver]") {
  // {7, 9, 11} on k = 20: classes of up to three values, so the estimator's solve is LSMR's.
  const Protocol p = build({20, 1.0, {7, 9, 11}, 4000, 7});
  const Tally t = seeded_tally(p, frequencies(20), 4000, 7);
  const Estimate e = p.estimator().estimate(t);
  const Estimate lsmr = mss_least_squares_estimate(p, t);
  CHECK(e.frequencies == lsmr.frequencies);
  CHECK(e.solver_iterations == lsmr.solver_iterations);
}

TEST_CASE("mss_least_squares_estimate refuses other protocols", "[mss][solver]") {
  const Protocol ss = make_protocol(complete_params({.protocol = "ss", .k = 64, .epsilon = 1}));
  CHECK_THROWS_WITH(mss_least_squares_estimate(ss, ss.new_tally()),
                    Catch::Contains("not an MSS protocol"));
}

}  // namespace
}  // namespace residue
