// OLH: the pool's design and its hash values (fixed, so a change is caught), the exact
// balance of the pool (every pair collides under the same number of seeds), the mechanism
// by enumeration, exact unbiasedness, the fast decode against the per-report count, the
// sampler (chi-square), the attack's exact success, and parameter validation.
#include "residue/protocols/local_hash.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <numeric>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"
#include "support/protocol_oracle.h"

namespace residue {
namespace {

Protocol olh(uint32_t k, double epsilon, uint32_t seeds = 0) {
  return make_protocol({.protocol = "olh", .k = k, .epsilon = epsilon, .seeds = seeds});
}

// The support rates written out from the mechanism (docs/protocols/olh.md, "Mechanism"): GRR
// on g buckets, and a collision under a fraction c of the seeds.
struct Rates {
  double p, q_star;
};
Rates rates(uint32_t g, double c, double epsilon) {
  const double e = std::exp(epsilon);
  const double p = e / (e + g - 1), q = 1 / (e + g - 1);
  return {p, q + (p - q) * c};
}

TEST_CASE("olh design at k=1024, eps=1 is g=4 over GF(4)^5 with 341 seeds", "[olh]") {
  const LocalHashDesign d = local_hash_design(1024, 1.0);
  CHECK(d.buckets == 4);  // round(e) + 1, as in the author's code
  CHECK(d.dimension == 5);
  CHECK(d.seeds == 341);  // (4^5 - 1) / 3
  CHECK(d.collision_rate == Approx(255.0 / 1023).epsilon(1e-15));
  const Protocol p = olh(1024, 1.0);
  CHECK(p.params().seeds == 341);
  CHECK(p.shape().blocks.size() == 341);
  CHECK(p.shape().blocks[0] == BlockShape{4, 1});
  // V = q*(1 - q*)/(p - q*)^2 with c = 255/1023 is 3.6823; random hashing (c = 1/4) gives
  // (e - 1 + g)^2 / ((e - 1)^2 (g - 1)) = 3.6916 (docs/protocols/olh.md, "Estimator and exact
  // variance").
  const Rates r = rates(4, 255.0 / 1023, 1.0);
  const double v = r.q_star * (1 - r.q_star) / ((r.p - r.q_star) * (r.p - r.q_star));
  const double e = std::exp(1.0);
  CHECK(v == Approx(3.6823).epsilon(1e-4));
  CHECK((e - 1 + 4) * (e - 1 + 4) / ((e - 1) * (e - 1) * 3) == Approx(3.6916).epsilon(1e-4));
  const std::vector<double> uniform(1024, 1.0 / 1024);
  // mean_variance at uniform f: V + (1 - p - q*)/(p - q*) / k, over n.
  CHECK(p.estimator().mean_variance(uniform, 1000) * 1000 ==
        Approx(v + (1 - r.p - r.q_star) / (r.p - r.q_star) / 1024).epsilon(1e-12));
}

TEST_CASE("olh takes the field order nearest e^eps + 1 with the smaller variance", "[olh]") {
  // round(e^eps) + 1 where that is a prime power: eps = 0.5, 1, ln 4, 2, 2.5 -> 3, 4, 5, 8, 13.
  CHECK(local_hash_design(1024, 0.5).buckets == 3);
  CHECK(local_hash_design(1024, 1.0).buckets == 4);
  CHECK(local_hash_design(1024, std::log(4.0)).buckets == 5);
  CHECK(local_hash_design(1024, 2.0).buckets == 8);
  CHECK(local_hash_design(1024, 2.5).buckets == 13);
  // e^2.1 + 1 = 9.17 lies between 9 and 11: GF(9), through tables.
  CHECK(local_hash_design(1024, 2.1).buckets == 9);
  // eps = 3: e + 1 = 21.09 lies between 19 and 23 (21 is no prime power); 23 has the smaller V.
  CHECK(local_hash_design(1024, 3.0).buckets == 23);
  CHECK(local_hash_design(1024, 5.0).buckets == 149);  // prime; d = 2, S = 150
  CHECK(local_hash_design(1024, 5.0).seeds == 150);
  // Capped at the smallest field order >= k: one hash, d = 1, OLH is GRR on g values.
  const LocalHashDesign small = local_hash_design(8, 5.0);
  CHECK(small.buckets == 8);
  CHECK(small.dimension == 1);
  CHECK(small.seeds == 1);
  CHECK(small.collision_rate == 0);
  CHECK(local_hash_design(2, 0.1).buckets == 2);
  CHECK(local_hash_design(1000, 50.0).buckets == 1009);
}

TEST_CASE("olh hash values are fixed for fixed seeds", "[olh]") {
  // Worked by hand from the seed order and the field polynomials (docs/protocols/olh.md).
  // GF(4) = GF(2)[x]/(x^2 + x + 1): 2 = x, 3 = x + 1, 2 * 3 = x^2 + x = 1.
  const LocalHashFamily f4(1024, 4);
  CHECK(f4.seeds() == 341);
  CHECK(f4.hash(0, 1023) == 3);  // seed 0: a = (1), the lowest digit
  CHECK(f4.hash(5, 27) == 1);    // seed 5: j = 2, a = (0, 0, 1); 27 = (3, 2, 1) in base 4
  CHECK(f4.hash(7, 27) == 0);    // seed 7: j = 2, a = (2, 0, 1): 1 + 2 * 3 = 1 + 1 = 0
  // Seed 340, the last: j = 4, a = (3, 3, 3, 3, 1); 1023 = (3, 3, 3, 3, 3). 3 * 3 =
  // x^2 + 1 = x = 2, four of them add to 0, plus the digit 3: 3.
  CHECK(f4.hash(340, 1023) == 3);
  // GF(5), prime: seed 10 of k = 100 is j = 2, r = 4, a = (4, 0, 1); 77 = (2, 0, 3):
  // 3 + 4 * 2 = 11 = 1 (mod 5).
  const LocalHashFamily f5(100, 5);
  CHECK(f5.seeds() == 31);
  CHECK(f5.hash(10, 77) == 1);
  // GF(9) = GF(3)[x]/(x^2 + 1): element c0 + 3 c1 is c0 + c1 x. Seed 3 of k = 81 is j = 1,
  // a = (2, 1); 52 = (7, 5) in base 9: 7 = 1 + 2x, 5 = 2 + x.
  // H = (2 + x) + 2 (1 + 2x) = (2 + x) + (2 + x) = 1 + 2x = 7.
  const LocalHashFamily f9(81, 9);
  CHECK(f9.seeds() == 10);
  CHECK(f9.hash(3, 52) == 7);
  // GF(9): x^2 = -1, so seed 9 (a = (8, 1); 8 = 2 + 2x) on 12 = 1 * 9 + 3 (digits (3, 1),
  // 3 = x): (2 + 2x) x + 1 = 2x + 2x^2 + 1 = 2x - 2 + 1 = 2 + 2x = 8.
  CHECK(f9.hash(9, 12) == 8);
  // GF(8) = GF(2)[x]/(x^3 + x + 1): x * x^2 = x^3 = x + 1, i.e. 2 * 4 = 3. Seed 1 of k = 64
  // is j = 1, a = (0, 1); seed 2 is a = (1, 1); seed 3 is a = (2, 1). 36 = (4, 4) in base 8:
  // seed 3: 4 + 2 * 4 = 4 + 3 = 7.
  const LocalHashFamily f8(64, 8);
  CHECK(f8.hash(1, 36) == 4);
  CHECK(f8.hash(2, 36) == 0);
  CHECK(f8.hash(3, 36) == 7);
}

TEST_CASE("olh table paths equal the O(d) hash: rows, bucket sizes, support counts", "[olh]") {
  for (const auto& [k, g] : std::vector<std::pair<uint32_t, uint32_t>>{{1024, 4},
                                                                       {1000, 8},
                                                                       {300, 3},
                                                                       {700, 9},
                                                                       {100, 5},
                                                                       {250, 149},
                                                                       {40, 2},
                                                                       {9, 16},
                                                                       {64, 4}}) {
    const LocalHashFamily f(k, g);
    std::vector<uint32_t> row(k), sizes(g);
    std::vector<uint64_t> counts(g), sums(k, 0), expected(k, 0);
    for (uint32_t s = 0; s < f.seeds(); ++s) {
      f.hash_all(s, row);
      f.bucket_sizes(s, sizes);
      std::vector<uint32_t> histogram(g, 0);
      for (uint32_t y = 0; y < g; ++y) counts[y] = (s * 7 + y * 13) % 5;
      f.add_support_counts(s, counts, sums);
      for (uint32_t v = 0; v < k; ++v) {
        const uint32_t h = f.hash(s, v);
        REQUIRE(row[v] == h);
        ++histogram[h];
        expected[v] += counts[h];
      }
      REQUIRE(sizes == histogram);
    }
    CHECK(sums == expected);
  }
}

TEST_CASE("olh pool collides every pair of values under the same number of seeds", "[olh]") {
  // The property that makes OLH pure: (g^{d-1} - 1)/(g - 1) seeds for every pair.
  for (const auto& [k, g] : std::vector<std::pair<uint32_t, uint32_t>>{{10, 4},
                                                                       {30, 4},
                                                                       {20, 3},
                                                                       {50, 5},
                                                                       {81, 9},
                                                                       {100, 8},
                                                                       {60, 7},
                                                                       {33, 2},
                                                                       {40, 25},
                                                                       {200, 27},
                                                                       {300, 243},
                                                                       {300, 256},
                                                                       {100, 101}}) {
    const LocalHashFamily f(k, g);
    uint32_t power = 1;
    for (uint32_t i = 1; i < f.dimension(); ++i) power *= g;
    const uint32_t expected = (power - 1) / (g - 1);
    CHECK(f.collision_rate() == Approx(double(expected) / f.seeds()).epsilon(1e-15));
    std::vector<std::vector<uint32_t>> rows(f.seeds(), std::vector<uint32_t>(k));
    for (uint32_t s = 0; s < f.seeds(); ++s) f.hash_all(s, rows[s]);
    for (uint32_t v = 0; v < k; ++v) {
      for (uint32_t x = v + 1; x < k; ++x) {
        uint32_t together = 0;
        for (uint32_t s = 0; s < f.seeds(); ++s) together += rows[s][v] == rows[s][x];
        REQUIRE(together == expected);
      }
    }
  }
}

TEST_CASE("olh output distribution sums to 1 and every ratio is e^eps", "[olh][privacy]") {
  for (const auto& [k, eps] : std::vector<std::pair<uint32_t, double>>{
           {8, 1.0}, {10, 0.5}, {81, 2.1}, {30, 4.0}, {8, 5.0}, {2, 0.1}}) {
    const testing::MechanismCheck m = testing::enumerate_mechanism(olh(k, eps));
    CHECK(m.worst_total_error < 1e-12);
    CHECK(m.worst_ratio == Approx(std::exp(eps)).epsilon(1e-12));
  }
}

TEST_CASE("olh expected estimate equals the true frequency exactly", "[olh]") {
  // Every seed receives the same population (the seed is independent of the value): then
  // E[C_v] / n = q* + (p - q*) f_v holds exactly only if the pool is exactly balanced.
  for (const auto& [k, eps] :
       std::vector<std::pair<uint32_t, double>>{{10, 1.0}, {81, 2.1}, {27, 0.5}}) {
    const Protocol p = olh(k, eps);
    const std::vector<uint32_t> users = {0, 0, 0, 1, 2, 2, k - 1, k - 1, k - 1, k - 1};
    const std::vector<std::vector<uint32_t>> blocks(p.shape().blocks.size(), users);
    const std::vector<double> expected = testing::expected_estimate(p, blocks, {});
    std::vector<double> truth(k, 0.0);
    for (uint32_t v : users) truth[v] += 0.1;
    for (uint32_t v = 0; v < k; ++v) CHECK(expected[v] == Approx(truth[v]).margin(1e-12));
  }
}

TEST_CASE("olh decode equals the brute-force per-report count", "[olh]") {
  for (const auto& [k, eps] :
       std::vector<std::pair<uint32_t, double>>{{300, 1.0}, {200, 2.1}, {500, 3.0}, {64, 0.5}}) {
    const Protocol p = olh(k, eps);
    const LocalHashDesign d = local_hash_design(k, eps);
    const LocalHashFamily family(k, d.buckets);
    SeededRng rng(17);
    std::vector<Report> reports(3000);
    Tally tally = p.new_tally();
    for (Report& r : reports) {
      p.encoder().encode(static_cast<uint32_t>(rng.uniform(k / 3)), rng, r);
      tally.add(r);
    }
    const Rates r = rates(d.buckets, d.collision_rate, eps);
    const std::vector<double> fast = p.estimator().estimate(tally).frequencies;
    for (uint32_t v = 0; v < k; ++v) {
      uint64_t support = 0;
      for (const Report& rep : reports) support += family.hash(rep.block, v) == rep.items[0];
      const double slow = (double(support) / double(reports.size()) - r.q_star) / (r.p - r.q_star);
      REQUIRE(fast[v] == Approx(slow).margin(1e-12));
    }
  }
}

TEST_CASE("olh sampler follows the mechanism's exact probabilities", "[olh][privacy]") {
  // k = 10, eps = 1: S = 5 seeds of 4 buckets, 20 reports. Chi-square at alpha = 1e-6 per
  // input, so a correct sampler fails with probability 2e-6.
  const Protocol p = olh(10, 1.0);
  SeededRng rng(2024);
  constexpr int kDraws = 200000;
  for (uint32_t x : {0u, 7u}) {
    std::map<std::pair<uint32_t, uint32_t>, int> seen;
    Report r;
    for (int i = 0; i < kDraws; ++i) {
      p.encoder().encode(x, rng, r);
      ++seen[{r.block, r.items[0]}];
    }
    double chi2 = 0;
    int cells = 0;
    testing::for_each_report(p.shape(), [&](const Report& s) {
      const double e = kDraws * p.encoder().probability(s, x);
      const double diff = seen[{s.block, s.items[0]}] - e;
      chi2 += diff * diff / e;
      ++cells;
    });
    CHECK(cells == 20);
    CHECK(chi2 < testing::chi_square_critical(cells - 1, 1e-6));
  }
}

// P[guess = x] from its definition: every report's probability times the chance that a
// uniform pick from the brute-force preimage (or from [0, k) when it is empty) is x.
double brute_force_success(const Protocol& p, const LocalHashFamily& family, uint32_t x) {
  const uint32_t k = p.params().k;
  double total = 0;
  testing::for_each_report(p.shape(), [&](const Report& r) {
    uint32_t size = 0;
    for (uint32_t v = 0; v < k; ++v) size += family.hash(r.block, v) == r.items[0];
    const bool in = family.hash(r.block, x) == r.items[0];
    total += p.encoder().probability(r, x) * (size == 0 ? 1.0 / k : in ? 1.0 / size : 0.0);
  });
  return total;
}

TEST_CASE("olh attack success is exact, empty buckets included", "[olh][attack]") {
  // k = 10, g = 4: seed 1 (a = (0, 1)) hashes to the top base-4 digit, never 3: an empty bucket.
  for (const auto& [k, eps] :
       std::vector<std::pair<uint32_t, double>>{{10, 1.0}, {30, 2.0}, {81, 2.1}}) {
    const Protocol p = olh(k, eps);
    const LocalHashFamily family(k, local_hash_design(k, eps).buckets);
    for (uint32_t x = 0; x < k; ++x)
      CHECK(p.attack().success(x) == Approx(brute_force_success(p, family, x)).epsilon(1e-12));
  }
  // The literature's 1/(2 max(k/(e+1), 1)) is the figure for random hashing
  // (docs/protocols/olh.md, "Reconstruction attack").
  const Protocol big = olh(1024, 1.0);
  CHECK(big.attack().success(5) == Approx(1 / (2 * 1024 / (std::exp(1.0) + 1))).epsilon(0.03));
}

TEST_CASE("olh attack guesses uniformly from the preimage", "[olh][attack]") {
  // Report (seed 1, bucket 1) of k = 10, g = 4 has preimage {4, 5, 6, 7} (top digit 1), and
  // bucket 3 is empty: the guess is uniform over [0, 10). Chi-square at alpha = 1e-6.
  const Protocol p = olh(10, 1.0);
  SeededRng rng(5);
  for (const auto& [bucket, support] : std::vector<std::pair<uint32_t, std::vector<uint32_t>>>{
           {1, {4, 5, 6, 7}}, {3, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}}) {
    std::vector<int> seen(10, 0);
    constexpr int kDraws = 40000;
    for (int i = 0; i < kDraws; ++i) ++seen[p.attack().guess(Report{1, {bucket}}, rng)];
    double chi2 = 0;
    const double e = double(kDraws) / double(support.size());
    for (uint32_t v : support) chi2 += (seen[v] - e) * (seen[v] - e) / e;
    CHECK(std::accumulate(seen.begin(), seen.end(), 0) == kDraws);
    int inside = 0;
    for (uint32_t v : support) inside += seen[v];
    CHECK(inside == kDraws);
    CHECK(chi2 < testing::chi_square_critical(double(support.size()) - 1, 1e-6));
  }
}

TEST_CASE("olh rejects bad parameters with a message naming them", "[olh]") {
  CHECK_THROWS_WITH(olh(1, 1.0), Catch::Contains("k must be at least 2"));
  CHECK_THROWS_WITH(olh(10, 0.0), Catch::Contains("epsilon"));
  CHECK_THROWS_WITH(olh(1024, 1.0, 5), Catch::Contains("seeds must be 0 (the default) or 341") &&
                                           Catch::Contains("but is 5"));
  CHECK_NOTHROW(olh(1024, 1.0, 341));
  CHECK_THROWS_WITH(make_protocol({.protocol = "olh", .k = 8, .epsilon = 1, .moduli = {3, 5}}),
                    Catch::Contains("moduli"));
  CHECK_THROWS_WITH(make_protocol({.protocol = "olh", .k = 8, .epsilon = 1, .subset_sizes = {1}}),
                    Catch::Contains("subset_sizes"));
  CHECK_THROWS_WITH(local_hash_design(100000000, 1.0), Catch::Contains("at most 2^26"));
  CHECK_THROWS_WITH(local_hash_design(50000000, 1.0), Catch::Contains("limit of 2^26"));
  CHECK_THROWS_WITH(LocalHashFamily(100, 6), Catch::Contains("buckets") && Catch::Contains("6"));
  CHECK_THROWS_WITH(LocalHashFamily(100, 289), Catch::Contains("prime power up to 256"));
  SeededRng rng(1);
  CHECK_THROWS_AS(olh(10, 1.0).encoder().encode(10, rng), Error);
  // A tally of another protocol, and an empty one.
  const Protocol p = olh(10, 1.0);
  CHECK_THROWS_WITH(p.estimator().estimate(olh(64, 1.0).new_tally()), Catch::Contains("tally"));
  CHECK_THROWS_WITH(p.estimator().estimate(p.new_tally()), Catch::Contains("no reports"));
}

}  // namespace
}  // namespace residue
