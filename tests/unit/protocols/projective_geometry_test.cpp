// Projective Geometry Response: the Fano-plane reference, the parameters and published
// variances of docs/protocols/pgr.md, "Reference values", the point indexing, the fast decoder
// against brute force, exact unbiasedness, the sampler against the mechanism, and the attack's
// exact rate.
#include "residue/protocols/projective_geometry.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <set>

// The internal header (explicit q and t, the decoder, the point indexing) is not installed.
#include "../../../lib/src/protocols/projective_geometry_internal.h"
#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"
#include "residue/wire/report_codec.h"
#include "support/protocol_oracle.h"

namespace residue {
namespace {

Protocol pgr(uint32_t k, double epsilon) {
  return make_protocol({.protocol = "pgr", .k = k, .epsilon = epsilon});
}

Protocol pgr_with_field(uint32_t k, double epsilon, uint32_t q, uint32_t t) {
  return make_pgr_with_field({.protocol = "pgr", .k = k, .epsilon = epsilon}, q, t);
}

// The decoder's definition, by enumeration: O(K^2 t).
template <typename T>
std::vector<T> brute_force_sums(const ProjectiveSpace& space, const std::vector<T>& y) {
  std::vector<T> out(space.points(), T{0});
  for (uint32_t v = 0; v < space.points(); ++v) {
    for (uint32_t u = 0; u < space.points(); ++u) {
      if (space.orthogonal(u, v)) out[v] += y[u];
    }
  }
  return out;
}

template <typename T>
std::vector<T> fast_sums(const ProjectiveSpace& space, const std::vector<T>& y) {
  std::vector<T> out(space.points());
  orthogonal_sums<T>(space, y, out);
  return out;
}

TEST_CASE("pgr on the Fano plane matches the reference numbers", "[pgr]") {
  // q = 2, t = 3, K = 7, cset = 3, cint = 1, eps = ln 2:
  // p = 1/10, s = 0.6, r = 0.4, s + 6 r = 3 = cset, V = 0.24 / 0.04 = 6.
  const ProjectiveGeometryRates r = projective_geometry_rates_for(2, 3, std::log(2.0));
  CHECK(r.universe == 7);
  CHECK(r.cset == 3);
  CHECK(r.cint == 1);
  CHECK(r.p == Approx(0.1).epsilon(1e-12));
  CHECK(r.s == Approx(0.6).epsilon(1e-12));
  CHECK(r.r == Approx(0.4).epsilon(1e-12));
  CHECK(r.s + 6 * r.r == Approx(3.0).epsilon(1e-12));
  CHECK(r.variance_constant() == Approx(6.0).epsilon(1e-12));
  CHECK(r.not_s == Approx(1 - r.s).epsilon(1e-12));
  CHECK(r.not_r == Approx(1 - r.r).epsilon(1e-12));
  CHECK(r.gap == Approx(r.s - r.r).epsilon(1e-12));

  // Its seven lines: every point is on 3 of them and two lines meet in exactly one point.
  const ProjectiveSpace fano(2, 3);
  for (uint32_t v = 0; v < 7; ++v) {
    for (uint32_t w = 0; w < 7; ++w) {
      int common = 0;
      for (uint32_t u = 0; u < 7; ++u) common += fano.orthogonal(u, v) && fano.orthogonal(u, w);
      CHECK(common == (v == w ? 3 : 1));
    }
  }

  const Protocol p = pgr_with_field(7, std::log(2.0), 2, 3);
  const testing::MechanismCheck m = testing::enumerate_mechanism(p);
  CHECK(m.worst_total_error < 1e-12);
  CHECK(m.worst_ratio == Approx(2.0).epsilon(1e-12));
  CHECK(p.shape() == ReportShape{{BlockShape{7, 1}}});
  CHECK(ReportCodec(p.shape()).max_bits() == 3);
}

TEST_CASE("pgr on PG(2, 3) has 13 points on lines of 4", "[pgr]") {
  const ProjectiveGeometryRates r = projective_geometry_rates_for(3, 3, 1.0);
  CHECK(r.universe == 13);
  CHECK(r.cset == 4);
  CHECK(r.cint == 1);
  CHECK(r.s + 12 * r.r == Approx(4.0).epsilon(1e-12));
  // k < K: the mechanism is still exactly e^eps-LDP over the 13 messages.
  const testing::MechanismCheck m = testing::enumerate_mechanism(pgr_with_field(10, 1.0, 3, 3));
  CHECK(m.worst_total_error < 1e-12);
  CHECK(m.worst_ratio == Approx(std::exp(1.0)).epsilon(1e-12));
}

TEST_CASE("pgr parameters follow the reference q-rule", "[pgr]") {
  // The table of docs/protocols/reference_cases.md, "PGR parameters from the reference rule".
  struct Row {
    uint32_t k;
    double eps;
    uint32_t q, t, universe, cset, cint;
    unsigned bits;
    double v;  // V_PGR * n from the table
  };
  for (const Row& row : std::vector<Row>{
           {22000, 0.5, 3, 10, 29524, 9841, 3280, 15, 15.816},
           {22000, 1.0, 5, 8, 97656, 19531, 3906, 17, 3.822},
           {22000, 1.386, 5, 8, 97656, 19531, 3906, 17, 1.7786},
           {22000, 2.0, 11, 6, 177156, 16105, 1464, 18, 0.741},
           {22000, 3.0, 23, 5, 292561, 12720, 553, 19, 0.221},
           {22000, 4.0, 59, 4, 208920, 3541, 60, 18, 0.0761},
           {22000, 4.5, 97, 4, 922180, 9507, 98, 20, 0.0455},
           {22000, 5.0, 151, 3, 22953, 152, 1, 15, 0.0272},
           {1024, 0.5, 3, 7, 1093, 364, 121, 11, 15.79},
           {1024, 1.0, 5, 6, 3906, 781, 156, 12, 3.82},
           {1024, 2.0, 11, 4, 1464, 133, 12, 11, 0.738},
           {1024, 3.0, 23, 4, 12720, 553, 24, 14, 0.221},
           {1024, 4.0, 59, 3, 3541, 60, 1, 12, 0.0755},
           {1024, 5.0, 151, 3, 22953, 152, 1, 15, 0.0272},
       }) {
    INFO("k=" << row.k << " eps=" << row.eps);
    const ProjectiveGeometryRates r = projective_geometry_rates(row.k, row.eps);
    CHECK(r.q == row.q);
    CHECK(r.t == row.t);
    CHECK(r.universe == row.universe);
    CHECK(r.cset == row.cset);
    CHECK(r.cint == row.cint);
    CHECK(r.variance_constant() == Approx(row.v).epsilon(2e-3));
    // s + (K - 1) r = cset, so the estimates over all K points sum to 1.
    CHECK(r.s + (r.universe - 1.0) * r.r == Approx(r.cset).epsilon(1e-10));
    const Protocol p = pgr(row.k, row.eps);
    CHECK(ReportCodec(p.shape()).max_bits() == row.bits);
  }
  // Small k: t = 2 (K = q + 1, a hyperplane is one point: GRR on q + 1 messages).
  const ProjectiveGeometryRates small = projective_geometry_rates(8, 2.5);
  CHECK(small.q == 17);
  CHECK(small.t == 2);
  CHECK(small.universe == 18);
  CHECK(small.cset == 1);
  CHECK(small.cint == 0);
}

TEST_CASE("pgr theory reproduces the published spike runs", "[pgr]") {
  // docs/protocols/reference_cases.md, "Published runs of the PGR reference code".
  // Count-scale MSE = n^2 times the frequency-scale mean variance, over the first k values.
  auto count_mse = [](uint32_t n, uint32_t k, double eps) {
    std::vector<double> spike(k, 0.0);
    spike[0] = 1;
    return static_cast<double>(n) * n * pgr(k, eps).estimator().mean_variance(spike, n);
  };
  CHECK(count_mse(1000, 1024, 5.0) == Approx(28.22).epsilon(5e-4));      // spike1
  CHECK(count_mse(10000, 22000, 5.0) == Approx(272.75).epsilon(5e-4));   // spike7
  CHECK(count_mse(10000, 22000, 1.386) == Approx(17786).epsilon(5e-4));  // spike8
}

TEST_CASE("pgr point indices and canonical vectors are a bijection", "[pgr]") {
  for (const auto& [q, t] : std::vector<std::pair<uint32_t, uint32_t>>{
           {2, 3}, {2, 6}, {3, 4}, {5, 4}, {7, 3}, {13, 2}, {3, 7}}) {
    INFO("q=" << q << " t=" << t);
    const ProjectiveSpace space(q, t);
    std::vector<uint32_t> x(t), shorter(t);
    std::set<std::vector<uint32_t>> seen;
    for (uint32_t i = 0; i < space.points(); ++i) {
      space.point(i, x);
      std::size_t lead = 0;
      while (lead < t && x[lead] == 0) ++lead;
      REQUIRE(lead < t);
      REQUIRE(x[lead] == 1);
      REQUIRE(space.index(x) == i);
      // Blocks of sizes 1, q, q^2, ...: the leading 1 counted from the right.
      const auto trailing = static_cast<uint32_t>(t - 1 - lead);
      REQUIRE(i >= space.points(trailing));
      REQUIRE(i < space.points(trailing + 1));
      // Prepending zeros keeps the index: the same point in the shorter space.
      const std::span<uint32_t> tail(shorter.data(), trailing + 1);
      space.point(i, tail);
      REQUIRE(std::equal(tail.begin(), tail.end(), x.begin() + static_cast<std::ptrdiff_t>(lead)));
      seen.insert(x);
    }
    CHECK(seen.size() == space.points());
  }
  // Lexicographic inside a block: index K_2 + 2q + 1 in t = 4 is (0, 1, 2, 1).
  const ProjectiveSpace s(5, 4);
  std::vector<uint32_t> x(4);
  s.point(s.points(2) + 2 * 5 + 1, x);
  CHECK(x == std::vector<uint32_t>{0, 1, 2, 1});
  s.point(0, x);
  CHECK(x == std::vector<uint32_t>{0, 0, 0, 1});
  s.point(s.points() - 1, x);
  CHECK(x == std::vector<uint32_t>{1, 4, 4, 4});
}

TEST_CASE("pgr field inverses are right with and without the table", "[pgr]") {
  for (uint32_t q : {2u, 3u, 151u, 65521u, 65537u, 1000003u}) {
    const ProjectiveSpace space(q, 2);
    SeededRng rng(q);
    for (int i = 0; i < 200; ++i) {
      const auto x = static_cast<uint32_t>(1 + rng.uniform(q - 1));
      REQUIRE(uint64_t{x} * space.inverse(x) % q == 1);
    }
  }
}

TEST_CASE("pgr fast decoder equals brute force", "[pgr]") {
  // The reference cases (docs/protocols/pgr.md, "Reference values") are (2,4), (3,4), (5,4),
  // (3,5); the rest cover t = 2, 3 and deeper layers.
  SeededRng rng(11);
  for (const auto& [q, t] : std::vector<std::pair<uint32_t, uint32_t>>{{2, 4},
                                                                       {3, 4},
                                                                       {5, 4},
                                                                       {3, 5},
                                                                       {2, 2},
                                                                       {2, 3},
                                                                       {7, 2},
                                                                       {11, 3},
                                                                       {2, 8},
                                                                       {3, 6},
                                                                       {7, 4}}) {
    INFO("q=" << q << " t=" << t);
    const ProjectiveSpace space(q, t);
    std::vector<uint64_t> y(space.points());
    std::vector<uint32_t> y32(space.points());
    std::vector<double> yd(space.points());
    for (uint32_t u = 0; u < space.points(); ++u) {
      y[u] = rng.uniform(1000);
      y32[u] = static_cast<uint32_t>(y[u]);
      yd[u] = rng.uniform01();
    }
    const std::vector<uint64_t> fast = fast_sums(space, y);
    CHECK(fast == brute_force_sums(space, y));
    std::vector<uint64_t> fast32;
    for (uint32_t s : fast_sums(space, y32)) fast32.push_back(s);
    CHECK(fast32 == fast);
    const std::vector<double> fd = fast_sums(space, yd), bd = brute_force_sums(space, yd);
    for (uint32_t v = 0; v < space.points(); ++v) REQUIRE(fd[v] == Approx(bd[v]).epsilon(1e-12));
    // Every point is on cset hyperplanes: the sums total cset times the total.
    uint64_t total = 0, sum_out = 0;
    for (uint32_t u = 0; u < space.points(); ++u) total += y[u], sum_out += fast[u];
    CHECK(sum_out == total * space.points(t - 1));
  }
}

TEST_CASE("pgr fast decoder equals brute force at the sizes it is used at", "[pgr]") {
  // Too big for the full brute force: check 40 random v against enumerating every u.
  SeededRng rng(12);
  for (const auto& [q, t] : std::vector<std::pair<uint32_t, uint32_t>>{{23, 4}, {151, 3}, {5, 6}}) {
    INFO("q=" << q << " t=" << t);
    const ProjectiveSpace space(q, t);
    std::vector<uint32_t> y(space.points());
    for (uint32_t& c : y) c = static_cast<uint32_t>(rng.uniform(5));
    const std::vector<uint32_t> fast = fast_sums(space, y);
    for (int i = 0; i < 40; ++i) {
      const auto v = static_cast<uint32_t>(rng.uniform(space.points()));
      uint32_t expected = 0;
      for (uint32_t u = 0; u < space.points(); ++u) expected += space.orthogonal(u, v) ? y[u] : 0;
      REQUIRE(fast[v] == expected);
    }
  }
}

TEST_CASE("pgr expected estimate equals the true frequency exactly", "[pgr]") {
  // The estimator is affine in the counts, so the expectation from the mechanism's exact
  // probabilities must return the truth, for k = K (Fano) and for padded universes.
  struct Case {
    Protocol p;
    std::vector<uint32_t> users;
  };
  for (const Case& c : std::vector<Case>{
           {pgr_with_field(7, std::log(2.0), 2, 3), {0, 0, 1, 3, 6, 6, 6, 2, 2, 5}},
           {pgr_with_field(10, 1.0, 3, 3), {9, 9, 9, 0, 4, 4, 7, 1}},
           {pgr(20, 0.5), {19, 19, 0, 3, 3, 3, 11, 12}},  // q = 3, t = 4, K = 40
       }) {
    const uint32_t k = c.p.params().k;
    INFO("k=" << k << " K=" << c.p.shape().blocks[0].universe);
    const std::vector<double> expected = testing::expected_estimate(c.p, {c.users}, {});
    std::vector<double> truth(k, 0.0);
    for (uint32_t v : c.users) truth[v] += 1.0 / static_cast<double>(c.users.size());
    for (uint32_t v = 0; v < k; ++v) CHECK(expected[v] == Approx(truth[v]).margin(1e-12));
  }
}

TEST_CASE("pgr estimates over the whole universe sum to 1", "[pgr]") {
  // k = K: sum_v T_v = n cset and s + (K - 1) r = cset make the sum exactly 1
  // (docs/protocols/estimation.md, "Sum identity").
  const Protocol p = pgr_with_field(13, 2.0, 3, 3);
  SeededRng rng(5);
  Tally tally = p.new_tally();
  for (int i = 0; i < 500; ++i) tally.add(p.encoder().encode(static_cast<uint32_t>(i % 13), rng));
  const Estimate e = p.estimator().estimate(tally);
  double sum = 0;
  for (double f : e.frequencies) sum += f;
  CHECK(sum == Approx(1.0).epsilon(1e-12));
  CHECK(e.reports == 500);
}

TEST_CASE("pgr sampler follows the mechanism's exact probabilities", "[pgr][privacy]") {
  // Chi-square over every message for two inputs each, at alpha = 1e-6 per input. The
  // cases cover q = 2, k < K with t = 4, and a larger field.
  struct Case {
    Protocol p;
    std::vector<uint32_t> inputs;
  };
  constexpr int kDraws = 100000;
  SeededRng rng(2024);
  for (const Case& c : std::vector<Case>{{pgr_with_field(7, std::log(2.0), 2, 3), {0, 6}},
                                         {pgr(20, 0.5), {0, 19}},
                                         {pgr(30, 2.0), {5, 29}}}) {
    for (uint32_t x : c.inputs) {
      INFO("K=" << c.p.shape().blocks[0].universe << " x=" << x);
      std::map<uint32_t, int> seen;
      Report r;
      for (int i = 0; i < kDraws; ++i) {
        c.p.encoder().encode(x, rng, r);
        REQUIRE(r.items.size() == 1);
        ++seen[r.items[0]];
      }
      double chi2 = 0;
      int cells = 0;
      testing::for_each_report(c.p.shape(), [&](const Report& s) {
        const double e = kDraws * c.p.encoder().probability(s, x);
        const double d = seen[s.items[0]] - e;
        chi2 += d * d / e;
        ++cells;
      });
      CHECK(seen.size() == static_cast<std::size_t>(cells));
      CHECK(chi2 < testing::chi_square_critical(cells - 1, 1e-6));
    }
  }
}

// The attack's success by its definition: every report u, its probability, and the chance
// that a uniform pick from S_u n [0, k) (or from [0, k) when that is empty) is x.
double brute_force_success(const Protocol& p, uint32_t x) {
  const ProjectiveGeometryRates r = projective_geometry_rates(p.params().k, p.params().epsilon);
  const ProjectiveSpace space(r.q, r.t);
  const uint32_t k = p.params().k;
  double total = 0;
  for (uint32_t u = 0; u < r.universe; ++u) {
    uint32_t support = 0;
    for (uint32_t w = 0; w < k; ++w) support += space.orthogonal(u, w);
    const double prob = p.encoder().probability(Report{.block = 0, .items = {u}}, x);
    if (support == 0) {
      total += prob / k;
    } else if (space.orthogonal(u, x)) {
      total += prob / support;
    }
  }
  return total;
}

TEST_CASE("pgr attack success is exact, and above e^eps p when k < K", "[pgr][attack]") {
  // k = K: every S_u has cset candidates, so the rate is e^eps p (docs/protocols/pgr.md,
  // "Reconstruction attack").
  const Protocol fano = pgr_with_field(7, std::log(2.0), 2, 3);
  for (uint32_t x = 0; x < 7; ++x) CHECK(fano.attack().success(x) == Approx(0.2).epsilon(1e-12));
  // k < K: unequal candidate sets, some empty (t = 2 at k = 8), checked against enumeration.
  for (const auto& [k, eps] :
       std::vector<std::pair<uint32_t, double>>{{8, 2.5}, {20, 0.5}, {64, 4.0}, {100, 1.0}}) {
    const Protocol p = pgr(k, eps);
    for (uint32_t x : {0u, 1u, k / 2, k - 1}) {
      INFO("k=" << k << " eps=" << eps << " x=" << x);
      CHECK(p.attack().success(x) == Approx(brute_force_success(p, x)).epsilon(1e-12));
    }
  }
  // The MSS paper's anomaly: at k = 1024, eps = 5 (K = 22953) a hyperplane holds about 7
  // values below k instead of cset = 152, and the attack succeeds ~20 times more often.
  const Protocol big = pgr(1024, 5.0);
  const ProjectiveGeometryRates r = projective_geometry_rates(1024, 5.0);
  CHECK(big.attack().success(0) > 10 * std::exp(5.0) * r.p);
}

TEST_CASE("pgr attack guesses a supported value", "[pgr][attack]") {
  // Each guess from report u lies in S_u n [0, k), and over many guesses covers all of it.
  const Protocol p = pgr(64, 4.0);  // q = 59, t = 3, K = 3541
  const ProjectiveGeometryRates r = projective_geometry_rates(64, 4.0);
  const ProjectiveSpace space(r.q, r.t);
  SeededRng rng(9);
  for (uint32_t u : {0u, 1u, 100u, 3540u}) {
    std::set<uint32_t> support, guessed;
    for (uint32_t w = 0; w < 64; ++w) {
      if (space.orthogonal(u, w)) support.insert(w);
    }
    for (int i = 0; i < 400; ++i)
      guessed.insert(p.attack().guess(Report{.block = 0, .items = {u}}, rng));
    CHECK(guessed == support);
  }
}

TEST_CASE("pgr rejects bad parameters with a message naming them", "[pgr]") {
  CHECK_THROWS_WITH(pgr(1, 1.0), Catch::Contains("k must be at least 2"));
  CHECK_THROWS_WITH(pgr(10, 0.0), Catch::Contains("epsilon"));
  CHECK_THROWS_WITH(make_protocol({.protocol = "pgr", .k = 10, .epsilon = 1, .moduli = {3, 5}}),
                    Catch::Contains("moduli"));
  CHECK_THROWS_WITH(make_protocol({.protocol = "pgr", .k = 10, .epsilon = 1, .subset_sizes = {1}}),
                    Catch::Contains("subset_sizes"));
  CHECK_THROWS_WITH(make_protocol({.protocol = "pgr", .k = 10, .epsilon = 1, .seeds = 4}),
                    Catch::Contains("seeds") && Catch::Contains("4"));
  CHECK_THROWS_WITH(make_pgr({.protocol = "ss", .k = 10, .epsilon = 1}), Catch::Contains("\"ss\""));
  // K too large: k = 10^6 at eps = 4.5 needs PG(4, 97) with 89 million points.
  CHECK_THROWS_WITH(pgr(1000000, 4.5), Catch::Contains("k = 1000000") && Catch::Contains("2^26"));
  CHECK_THROWS_WITH(pgr(10, 20.0), Catch::Contains("epsilon") && Catch::Contains("2^26"));
  CHECK_THROWS_WITH(pgr_with_field(10, 1.0, 4, 3), Catch::Contains("q must be prime"));
  CHECK_THROWS_WITH(pgr_with_field(10, 1.0, 3, 1), Catch::Contains("t must be"));
  CHECK_THROWS_WITH(pgr_with_field(14, 1.0, 3, 3), Catch::Contains("fewer than k = 14"));

  const Protocol p = pgr(10, 1.0);
  SeededRng rng(1);
  CHECK_THROWS_WITH(p.encoder().encode(10, rng), Catch::Contains("value 10"));
  CHECK_THROWS_WITH(p.estimator().estimate(p.new_tally()), Catch::Contains("no reports"));
  const Protocol other = pgr(10, 2.0);
  Tally foreign = other.new_tally();
  foreign.add(other.encoder().encode(3, rng));
  CHECK_THROWS_WITH(p.estimator().estimate(foreign), Catch::Contains("tally"));
  CHECK_THROWS_WITH(p.estimator().mean_variance(std::vector<double>(9, 0.1), 100),
                    Catch::Contains("expected 10 frequencies"));
}

TEST_CASE("pgr variances follow the exact pure-protocol formula", "[pgr]") {
  const Protocol p = pgr(50, 1.5);
  const ProjectiveGeometryRates r = projective_geometry_rates(50, 1.5);
  std::vector<double> f(50, 0.01);
  f[0] = 0.51;
  SeededRng rng(3);
  Tally tally = p.new_tally();
  for (int i = 0; i < 300; ++i) tally.add(p.encoder().encode(0, rng));
  const std::vector<uint32_t> values = {0, 7};
  const std::vector<double> v = p.estimator().variances(f, tally, values);
  const double s = r.s, rr = r.r;
  CHECK(v[0] == Approx((0.51 * s * (1 - s) + 0.49 * rr * (1 - rr)) / (300 * (s - rr) * (s - rr))));
  CHECK(v[1] == Approx((0.01 * s * (1 - s) + 0.99 * rr * (1 - rr)) / (300 * (s - rr) * (s - rr))));
  double mean = 0;
  for (double fv : f) mean += r.variance(fv, 300) / 50;
  CHECK(p.estimator().mean_variance(f, 300) == Approx(mean).epsilon(1e-12));
}

}  // namespace
}  // namespace residue
