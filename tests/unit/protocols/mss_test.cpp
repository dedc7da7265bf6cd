// MSS: the mechanism's privacy by enumeration, unbiasedness and noise-free recovery from
// exact expectations, the sampler against the mechanism, and parameter validation.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/protocols/subset_selection.h"
#include "residue/random/seeded_rng.h"
#include "support/protocol_oracle.h"

namespace residue {
namespace {

Protocol mss(uint32_t k, double epsilon, std::vector<uint32_t> moduli) {
  return make_protocol({.protocol = "mss", .k = k, .epsilon = epsilon, .moduli = moduli});
}

TEST_CASE("mss output distribution sums to 1 and every ratio is at most e^eps", "[mss][privacy]") {
  // P[(j, Z) | x] = (1/l) SS_{m_j}(Z | x mod m_j) (docs/protocols/mss.md, "Mechanism").
  struct Case {
    uint32_t k;
    double eps;
    std::vector<uint32_t> moduli;
  };
  for (const Case& c : {Case{6, std::log(2.0), {3, 4}}, Case{10, 1.0, {3, 4, 5}},
                        Case{12, 0.5, {7, 11}}, Case{9, 3.0, {5, 7}}}) {
    const testing::MechanismCheck m = testing::enumerate_mechanism(mss(c.k, c.eps, c.moduli));
    CHECK(m.worst_total_error < 1e-12);
    CHECK(m.worst_ratio <= std::exp(c.eps) * (1 + 1e-12));
  }
}

TEST_CASE("mss expected estimate equals the true frequency exactly", "[mss]") {
  // Each block receives the same population, so the expected residue histograms are exactly
  // A_j f and the weighted least squares must return f itself.
  const std::vector<uint32_t> population = {0, 0, 1, 4, 4, 4, 5, 7, 9, 9};
  for (const std::vector<uint32_t>& moduli :
       {std::vector<uint32_t>{3, 4, 5}, {7, 9}, {7, 11, 13}}) {
    const Protocol p = mss(10, 1.0, moduli);
    const std::vector<std::vector<uint32_t>> users(moduli.size(), population);
    const std::vector<double> expected =
        testing::expected_estimate(p, users, {.tolerance = 1e-14, .max_iterations = 500});
    for (uint32_t v = 0; v < 10; ++v) {
      double truth = 0;
      for (uint32_t x : population) truth += (x == v) / 10.0;
      CHECK(expected[v] == Approx(truth).margin(1e-9));
    }
  }
}

TEST_CASE("mss recovers a point mass and a skewed histogram without noise", "[mss]") {
  // Noise-free tallies: counts set to their expectations scaled up so they are near-integer,
  // docs/protocols/mss.md, "Reference values". Rounding to integers leaves an error of order
  // 1/n.
  const uint32_t k = 64;
  const Protocol p = mss(k, 1.0, {53, 59, 61});
  for (const std::vector<double>& f : {std::vector<double>(k, 1.0 / k), [] {
                                         std::vector<double> g(64, 0.0);
                                         g[5] = 1;
                                         return g;
                                       }()}) {
    Tally t = p.new_tally();
    const double per_block = 1e9;
    for (uint32_t j = 0; j < 3; ++j) {
      const uint32_t m = p.params().moduli[j];
      const SubsetSelectionRates r = subset_selection_rates(m, p.params().subset_sizes[j], 1.0);
      std::vector<double> pi(m, 0.0);
      for (uint32_t x = 0; x < k; ++x) pi[x % m] += f[x];
      t.add_reports(j, static_cast<uint64_t>(per_block));
      for (uint32_t res = 0; res < m; ++res) {
        t.add_counts(
            j, res, static_cast<uint64_t>(std::llround(per_block * (r.q + (r.p - r.q) * pi[res]))));
      }
    }
    const Estimate e = p.estimator().estimate(t, {.tolerance = 1e-14, .max_iterations = 500});
    CHECK(e.solver_converged);
    for (uint32_t x = 0; x < k; ++x) CHECK(e.frequencies[x] == Approx(f[x]).margin(1e-7));
  }
}

TEST_CASE("mss sampler follows the mechanism's exact probabilities", "[mss][privacy]") {
  // Chi-square over every (block, subset) output at alpha = 1e-6 per input.
  const Protocol p = mss(12, 0.7, {7, 11});
  SeededRng rng(99);
  constexpr int kDraws = 300000;
  for (uint32_t x : {0u, 5u, 11u}) {
    std::map<std::pair<uint32_t, std::vector<uint32_t>>, int> seen;
    Report r;
    for (int i = 0; i < kDraws; ++i) {
      p.encoder().encode(x, rng, r);
      ++seen[{r.block, r.items}];
    }
    double chi2 = 0;
    int cells = 0;
    testing::for_each_report(p.shape(), [&](const Report& s) {
      const double e = kDraws * p.encoder().probability(s, x);
      const double d = seen[{s.block, s.items}] - e;
      chi2 += d * d / e;
      ++cells;
    });
    CHECK(chi2 < testing::chi_square_critical(cells - 1, 1e-6));
  }
}

TEST_CASE("mss rejects moduli that do not identify every value", "[mss]") {
  CHECK_THROWS_WITH(mss(12, 1.0, {5, 7}), Catch::Contains("rank"));
  CHECK_THROWS_WITH(mss(12, 1.0, {6, 9}), Catch::Contains("share"));
  CHECK_THROWS_AS(mss(40, 1.0, {5, 7}), Error);  // 35 < 40: no CRT coverage
  CHECK_THROWS_WITH(make_protocol({.protocol = "mss", .k = 64, .epsilon = 1}),
                    Catch::Contains("no moduli"));
}

TEST_CASE("mss refuses a tally of another protocol or shape", "[mss]") {
  const Protocol a = mss(64, 1.0, {53, 59, 61});
  const Protocol b = mss(64, 1.0, {53, 59, 67});
  Tally t = b.new_tally();
  t.add_reports(0, 5);
  CHECK_THROWS_WITH(a.estimator().estimate(t), Catch::Contains("tally"));
  CHECK_THROWS_WITH(a.estimator().estimate(a.new_tally()), Catch::Contains("no reports"));
}

TEST_CASE("mss with an empty block needs the remaining moduli to identify every value", "[mss]") {
  const Protocol p = mss(64, 1.0, {53, 59, 61});
  SeededRng rng(5);
  Tally t = p.new_tally();
  Report r;
  for (int i = 0; i < 3000; ++i) {
    p.encoder().encode(static_cast<uint32_t>(rng.uniform(64)), rng, r);
    if (r.block != 2) t.add(r);
  }
  // {53, 59} alone still has full rank on [0, 64): the estimate works without block 2.
  const Estimate e = p.estimator().estimate(t);
  CHECK(e.solver_converged);
  CHECK(e.reports == t.total_reports());
}

TEST_CASE("complete_params picks valid moduli and optimal subset sizes", "[mss]") {
  const ProtocolParams p = complete_params({.protocol = "mss", .k = 200, .epsilon = 2});
  CHECK(p.moduli.size() >= 2);
  CHECK(p.subset_sizes.size() == p.moduli.size());
  for (std::size_t j = 0; j < p.moduli.size(); ++j) {
    CHECK(p.moduli[j] > 100);
    CHECK(p.moduli[j] < 200);
    CHECK(p.subset_sizes[j] == optimal_subset_size(p.moduli[j], 2));
  }
  CHECK_NOTHROW(make_protocol(p));
}

}  // namespace
}  // namespace residue
