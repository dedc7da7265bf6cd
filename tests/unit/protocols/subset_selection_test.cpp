// Subset Selection: exact rates, the mechanism's privacy by enumeration, unbiasedness from
// exact expectations, and the sampler against the mechanism (chi-square).
#include "residue/protocols/subset_selection.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <set>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"
#include "support/protocol_oracle.h"

namespace residue {
namespace {

Protocol ss(uint32_t k, double epsilon, std::vector<uint32_t> sizes = {}) {
  return make_protocol({.protocol = "ss", .k = k, .epsilon = epsilon, .subset_sizes = sizes});
}

TEST_CASE("ss rates match the worked example k=6, eps=ln 2", "[ss]") {
  // docs/protocols/ss.md, "Reference values": omega = 2, p = 1/2, q = 0.3, p + 5q = omega,
  // V = 5.25.
  const SubsetSelectionRates r = subset_selection_rates(6, 2, std::log(2.0));
  CHECK(r.p == Approx(0.5).epsilon(1e-12));
  CHECK(r.q == Approx(0.3).epsilon(1e-12));
  CHECK(r.p + 5 * r.q == Approx(2.0).epsilon(1e-12));
  CHECK(r.variance_constant() == Approx(5.25).epsilon(1e-12));
  CHECK(optimal_subset_size(6, std::log(2.0)) == 2);
}

TEST_CASE("ss with subset size 1 is k-ary randomized response", "[ss]") {
  // As GRR (docs/protocols/grr.md, "Reference values"): k=4, eps=ln 3 gives p = 1/2, q = 1/6,
  // V = 5/4.
  const SubsetSelectionRates r = subset_selection_rates(4, 1, std::log(3.0));
  CHECK(optimal_subset_size(4, std::log(3.0)) == 1);
  CHECK(r.p == Approx(0.5).epsilon(1e-12));
  CHECK(r.q == Approx(1.0 / 6).epsilon(1e-12));
  CHECK(r.variance_constant() == Approx(1.25).epsilon(1e-12));
}

TEST_CASE("ss output distribution sums to 1 and every ratio is at most e^eps", "[ss][privacy]") {
  for (const auto& [k, eps] :
       std::vector<std::pair<uint32_t, double>>{{6, std::log(2.0)}, {7, 0.5}, {8, 2.0}, {5, 4.0}}) {
    const testing::MechanismCheck m = testing::enumerate_mechanism(ss(k, eps));
    CHECK(m.worst_total_error < 1e-12);
    CHECK(m.worst_ratio <= std::exp(eps) * (1 + 1e-12));
    CHECK(m.worst_ratio == Approx(std::exp(eps)).epsilon(1e-9));  // the bound is attained
  }
}

TEST_CASE("ss expected estimate equals the true frequency exactly", "[ss]") {
  const Protocol p = ss(7, 1.0);
  const std::vector<uint32_t> users = {0, 0, 0, 1, 2, 2, 6, 6, 6, 6};
  const std::vector<double> expected = testing::expected_estimate(p, {users}, {});
  std::vector<double> truth(7, 0.0);
  for (uint32_t v : users) truth[v] += 0.1;
  for (uint32_t v = 0; v < 7; ++v) CHECK(expected[v] == Approx(truth[v]).margin(1e-12));
}

TEST_CASE("ss sampler follows the mechanism's exact probabilities", "[ss][privacy]") {
  // Chi-square goodness of fit over all C(6,2) = C(6,4) = 15 subsets for two inputs; the
  // critical value is at alpha = 1e-6, so a correct sampler fails this with probability 1e-6
  // per input. Subset size 4 draws the left-out side (rate_subset.cpp).
  SeededRng rng(2024);
  constexpr int kDraws = 200000;
  for (const uint32_t omega : {2u, 4u}) {
    const Protocol p = ss(6, std::log(2.0), {omega});
    for (uint32_t x : {0u, 3u}) {
      std::map<std::vector<uint32_t>, int> seen;
      Report r;
      for (int i = 0; i < kDraws; ++i) {
        p.encoder().encode(x, rng, r);
        ++seen[r.items];
      }
      double chi2 = 0;
      int cells = 0;
      testing::for_each_report(p.shape(), [&](const Report& s) {
        const double e = kDraws * p.encoder().probability(s, x);
        const double d = seen[s.items] - e;
        chi2 += d * d / e;
        ++cells;
      });
      CHECK(seen.size() == 15);
      CHECK(chi2 < testing::chi_square_critical(cells - 1, 1e-6));
    }
  }
}

TEST_CASE("ss never draws the true value as a filler", "[ss][privacy]") {
  // The PGR reference bug (docs/protocols/ss.md, "Pitfalls"): fillers drawn from all of [k]
  // put x in the subset too often. Here P[x in Z] must be p; with 400k draws its standard
  // error is sqrt(p(1-p)/400k) < 8e-4, so 5e-3 is over 6 standard errors, while the bug would
  // add (1-p) omega / k = 0.09 at this setting.
  const Protocol p = ss(40, 1.0);
  const SubsetSelectionRates rates = subset_selection_rates(40, p.params().subset_sizes[0], 1.0);
  SeededRng rng(7);
  Report r;
  int hits = 0;
  constexpr int kDraws = 400000;
  for (int i = 0; i < kDraws; ++i) {
    p.encoder().encode(17, rng, r);
    REQUIRE(std::set<uint32_t>(r.items.begin(), r.items.end()).size() == r.items.size());
    REQUIRE(std::is_sorted(r.items.begin(), r.items.end()));
    hits += std::binary_search(r.items.begin(), r.items.end(), 17u);
  }
  CHECK(std::abs(static_cast<double>(hits) / kDraws - rates.p) < 5e-3);
}

TEST_CASE("ss sampler stays sorted and in range on every path", "[ss]") {
  // Floyd (few, sparse, nearly full) and the bitmap (rate_subset.cpp: members or the left-out
  // side drawn; a partial last word at m = 1000).
  SeededRng rng(3);
  for (const auto& [m, w] : std::vector<std::pair<uint32_t, uint32_t>>{{100000, 3},
                                                                       {100000, 4000},
                                                                       {70, 20},
                                                                       {2, 1},
                                                                       {1000, 999},
                                                                       {1000, 300},
                                                                       {1000, 700},
                                                                       {100000, 40000}}) {
    const SubsetSelectionRates rates = subset_selection_rates(m, w, 1.0);
    std::vector<uint32_t> items;
    for (int i = 0; i < 50; ++i) {
      sample_subset_selection(rates, static_cast<uint32_t>(rng.uniform(m)), rng, items);
      REQUIRE(items.size() == w);
      REQUIRE(std::adjacent_find(items.begin(), items.end(),
                                 [](uint32_t a, uint32_t b) { return a >= b; }) == items.end());
      REQUIRE(items.back() < m);
    }
  }
}

TEST_CASE("ss rejects bad parameters with a message naming them", "[ss]") {
  CHECK_THROWS_WITH(ss(1, 1.0), Catch::Contains("k must be at least 2"));
  CHECK_THROWS_WITH(ss(10, 0.0), Catch::Contains("epsilon"));
  CHECK_THROWS_WITH(ss(10, 1.0, {10}), Catch::Contains("subset size"));
  CHECK_THROWS_AS(ss(10, 1.0).encoder().encode(10, *std::make_unique<SeededRng>(1)), Error);
}

}  // namespace
}  // namespace residue
