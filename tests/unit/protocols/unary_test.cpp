// SUE (basic one-time RAPPOR) and OUE: exact rates, privacy by enumerating all 2^k reports,
// exact unbiasedness, the O(#ones) sampler (binomial count, Floyd positions, both paths)
// against the mechanism, the attack's closed form against the reference code's binomial sum
// (docs/protocols/oue.md, "Reconstruction attack") and against enumeration, report bits and
// parameter validation.
#include "residue/protocols/unary.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <set>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"
#include "residue/wire/report_codec.h"
#include "support/protocol_oracle.h"

namespace residue {
namespace {

Protocol unary(const std::string& name, uint32_t k, double epsilon) {
  return make_protocol({.protocol = name, .k = k, .epsilon = epsilon});
}

// Every report of a k-bit unary encoding: all 2^k subsets of [0, k). (testing::for_each_report
// enumerates fixed-size subsets only.)
template <typename Fn>
void for_each_bitmap(uint32_t k, Fn fn) {
  Report r;
  for (uint32_t mask = 0; mask < (1u << k); ++mask) {
    r.items.clear();
    for (uint32_t v = 0; v < k; ++v) {
      if (mask >> v & 1) r.items.push_back(v);
    }
    fn(r);
  }
}

// P[j noise ones] of a unary report: Binomial(k - 1, q), from lgamma (not the sampler's
// ratio recurrence, so it checks that).
std::vector<double> noise_distribution(uint32_t k, double q) {
  std::vector<double> noise(k, 0.0);
  const double n = k - 1;
  for (uint32_t j = 0; j < k; ++j) {
    noise[j] = std::exp(std::lgamma(n + 1) - std::lgamma(j + 1.0) - std::lgamma(n - j + 1) +
                        j * std::log(q) + (n - j) * std::log1p(-q));
  }
  return noise;
}

// P[|S| = s | x] for a unary report: the true bit plus Binomial(k - 1, q) noise ones.
std::vector<double> ones_distribution(uint32_t k, double p, double q) {
  const std::vector<double> noise = noise_distribution(k, q);
  std::vector<double> out(k + 1, 0.0);
  for (uint32_t j = 0; j < k; ++j) {
    out[j] += (1 - p) * noise[j];
    out[j + 1] += p * noise[j];
  }
  return out;
}

// Chi-square statistic of observed counts against expected ones, pooling cells whose expected
// count is under 5 (walking in order) so the chi-square approximation holds. Returns
// {statistic, degrees of freedom}.
std::pair<double, int> pooled_chi_square(const std::vector<double>& observed,
                                         const std::vector<double>& expected) {
  double chi2 = 0, o = 0, e = 0;
  int cells = 0;
  for (std::size_t i = 0; i < observed.size(); ++i) {
    o += observed[i];
    e += expected[i];
    if (e >= 5) {
      chi2 += (o - e) * (o - e) / e;
      ++cells;
      o = e = 0;
    }
  }
  if (e > 0) chi2 += (o - e) * (o - e) / e, ++cells;  // remainder (tail) as one more cell
  return {chi2, cells - 1};
}

TEST_CASE("sue and oue have the rates of Wang et al. 2017", "[unary]") {
  // SUE at eps = 2 ln 3: e^(eps/2) = 3, p = 3/4, q = 1/4, V = e^(eps/2)/(e^(eps/2)-1)^2 = 3/4.
  // OUE at eps = ln 3: p = 1/2, q = 1/4, V = 4 e/(e-1)^2 = 3.
  struct Case {
    const char* name;
    double eps, p, q, v;
  };
  for (const Case& c : {Case{"sue", 2 * std::log(3.0), 0.75, 0.25, 0.75},
                        Case{"oue", std::log(3.0), 0.5, 0.25, 3.0}}) {
    INFO(c.name);
    const Protocol p = unary(c.name, 4, c.eps);
    const Encoder& enc = p.encoder();
    const Report one{.block = 0, .items = {2}}, empty{}, two{.block = 0, .items = {0, 2}};
    CHECK(enc.probability(one, 2) == Approx(c.p * std::pow(1 - c.q, 3)).epsilon(1e-13));
    CHECK(enc.probability(empty, 2) == Approx((1 - c.p) * std::pow(1 - c.q, 3)).epsilon(1e-13));
    CHECK(enc.probability(two, 1) == Approx((1 - c.p) * c.q * c.q * (1 - c.q)).epsilon(1e-13));
    Tally t = p.new_tally();
    t.add_reports(0, 100);
    t.add_counts(0, 0, 40);
    t.add_counts(0, 3, 7);
    const std::vector<double> f = p.estimator().estimate(t).frequencies;
    CHECK(f[0] == Approx((0.40 - c.q) / (c.p - c.q)).epsilon(1e-13));
    CHECK(f[1] == Approx(-c.q / (c.p - c.q)).epsilon(1e-13));
    CHECK(f[3] == Approx((0.07 - c.q) / (c.p - c.q)).epsilon(1e-13));
    const std::vector<double> truth = {0.5, 0.5, 0, 0};
    const std::vector<uint32_t> values = {0, 2};
    const std::vector<double> var = p.estimator().variances(truth, t, values);
    CHECK(100 * var[1] == Approx(c.v).epsilon(1e-13));  // f = 0: the constant V alone
    const double f_term = (c.p * (1 - c.p) - c.q * (1 - c.q)) / ((c.p - c.q) * (c.p - c.q));
    CHECK(100 * var[0] == Approx(c.v + 0.5 * f_term).epsilon(1e-13));
    CHECK(100 * p.estimator().mean_variance(truth, 100) ==
          Approx(c.v + 0.25 * f_term).epsilon(1e-13));
  }
}

TEST_CASE("unary output distributions sum to 1 and every ratio is exactly e^eps",
          "[unary][privacy]") {
  // All 2^k reports. SUE with the PGR repo's flip probability 1/(e^eps + 1) would show
  // e^(2 eps) here (docs/protocols/sue.md, "Pitfalls").
  for (const char* name : {"sue", "oue"}) {
    for (const auto& [k, eps] : std::vector<std::pair<uint32_t, double>>{
             {2, 1.0}, {4, std::log(3.0)}, {8, 1.0}, {8, 4.0}, {5, 0.05}, {6, 20.0}}) {
      INFO(name << " k=" << k << " eps=" << eps);
      const Protocol p = unary(name, k, eps);
      std::vector<double> total(k, 0.0);
      double worst = 0;
      for_each_bitmap(k, [&](const Report& r) {
        double lo = 1, hi = 0;
        for (uint32_t x = 0; x < k; ++x) {
          const double prob = p.encoder().probability(r, x);
          total[x] += prob;
          lo = std::min(lo, prob);
          hi = std::max(hi, prob);
        }
        worst = std::max(worst, hi / lo);
      });
      for (double t : total) CHECK(t == Approx(1.0).epsilon(1e-12));
      CHECK(worst == Approx(std::exp(eps)).epsilon(1e-10));
    }
  }
}

TEST_CASE("unary expected estimate equals the true frequency exactly", "[unary]") {
  // E[C_c] from the enumerated mechanism; the estimate is affine in the counts, so the
  // expected estimate is f(base) + sum_c E[C_c] (f(base + e_c) - f(base)).
  const std::vector<uint32_t> users = {0, 0, 0, 1, 2, 2, 5, 5, 5, 5};
  for (const char* name : {"sue", "oue"}) {
    const Protocol p = unary(name, 6, 1.3);
    std::vector<double> expected_counts(6, 0.0);
    for_each_bitmap(6, [&](const Report& r) {
      for (uint32_t x : users) {
        for (uint32_t c : r.items) expected_counts[c] += p.encoder().probability(r, x);
      }
    });
    Tally base = p.new_tally();
    base.add_reports(0, users.size());
    const std::vector<double> f0 = p.estimator().estimate(base).frequencies;
    std::vector<double> result = f0;
    for (uint32_t c = 0; c < 6; ++c) {
      Tally unit = base;
      unit.add_counts(0, c, 1);
      const std::vector<double> f1 = p.estimator().estimate(unit).frequencies;
      for (uint32_t v = 0; v < 6; ++v) result[v] += expected_counts[c] * (f1[v] - f0[v]);
    }
    const std::vector<double> truth = {0.3, 0.1, 0.2, 0, 0, 0.4};
    for (uint32_t v = 0; v < 6; ++v) CHECK(result[v] == Approx(truth[v]).margin(1e-12));
  }
}

TEST_CASE("unary sampler follows the mechanism's exact probabilities", "[unary][privacy]") {
  // Chi-square over all 64 reports of k = 6 for two inputs, cells with expected count under
  // 5 pooled; alpha = 1e-6 per input.
  SeededRng rng(2024);
  constexpr int kDraws = 200000;
  for (const char* name : {"sue", "oue"}) {
    const Protocol p = unary(name, 6, 1.5);
    for (uint32_t x : {0u, 5u}) {
      INFO(name << " x=" << x);
      std::vector<double> seen(64, 0.0), expected;
      Report r;
      for (int i = 0; i < kDraws; ++i) {
        p.encoder().encode(x, rng, r);
        uint32_t mask = 0;
        for (uint32_t v : r.items) mask |= 1u << v;
        ++seen[mask];
      }
      for_each_bitmap(
          6, [&](const Report& s) { expected.push_back(kDraws * p.encoder().probability(s, x)); });
      const auto [chi2, df] = pooled_chi_square(seen, expected);
      CHECK(chi2 < testing::chi_square_critical(df, 1e-6));
    }
  }
}

TEST_CASE("unary sampler is exact at larger k on both of its paths", "[unary][privacy]") {
  // Too large to enumerate, so the parts: the number of ones (true bit + binomial noise)
  // against its exact distribution, P[x in S] = p, and the noise positions uniform over ten
  // equal bins of the other values. SUE k=1000 eps=1 draws ~380 noise ones and OUE k=1000
  // eps=0.2 ~450 (dense: bitmap scan); OUE k=100000 eps=6 ~250 (sparse: bitmap membership,
  // then sort); OUE k=20000 eps=8 ~7 (a few: sorted vector).
  // Chi-square tests at alpha = 1e-6; the P[x in S] check is 5 standard errors.
  struct Case {
    const char* name;
    uint32_t k;
    double eps;
    uint32_t x;
  };
  SeededRng rng(77);
  constexpr int kDraws = 20000;
  for (const Case& c : {Case{"sue", 1000, 1.0, 999}, Case{"oue", 20000, 8.0, 0},
                        Case{"oue", 1000, 0.2, 234}, Case{"oue", 100000, 6.0, 50000}}) {
    INFO(c.name << " k=" << c.k << " eps=" << c.eps);
    const Protocol p = unary(c.name, c.k, c.eps);
    // p and q from the mechanism itself: P[S = {x}] / P[S = {}] = p / (1-p), etc.
    const Report none{}, only_x{.block = 0, .items = {c.x}};
    const Report only_other{.block = 0, .items = {c.x == 0 ? 1u : 0u}};
    const double odds_p = p.encoder().probability(only_x, c.x) / p.encoder().probability(none, c.x);
    const double odds_q =
        p.encoder().probability(only_other, c.x) / p.encoder().probability(none, c.x);
    const double pp = odds_p / (1 + odds_p), qq = odds_q / (1 + odds_q);
    std::vector<double> ones(c.k + 1, 0.0), bins(10, 0.0);
    int has_x = 0;
    Report r;
    for (int i = 0; i < kDraws; ++i) {
      p.encoder().encode(c.x, rng, r);
      REQUIRE(std::adjacent_find(r.items.begin(), r.items.end(),
                                 [](uint32_t a, uint32_t b) { return a >= b; }) == r.items.end());
      REQUIRE((r.items.empty() || r.items.back() < c.k));
      ++ones[r.items.size()];
      for (uint32_t v : r.items) {
        if (v == c.x) {
          ++has_x;
          continue;
        }
        const uint32_t index = v - (v > c.x);  // position among the k - 1 others
        ++bins[uint64_t{index} * 10 / (c.k - 1)];
      }
    }
    std::vector<double> expected = ones_distribution(c.k, pp, qq);
    for (double& e : expected) e *= kDraws;
    const auto [chi2, df] = pooled_chi_square(ones, expected);
    CHECK(chi2 < testing::chi_square_critical(df, 1e-6));
    CHECK(std::abs(has_x - kDraws * pp) < 5 * std::sqrt(kDraws * pp * (1 - pp)));
    const double noise_total = std::accumulate(bins.begin(), bins.end(), 0.0);
    std::vector<double> bin_expected(10, 0.0);
    for (uint32_t index = 0; index < c.k - 1; ++index)
      bin_expected[uint64_t{index} * 10 / (c.k - 1)] += noise_total / (c.k - 1);
    const auto [chi2_bins, df_bins] = pooled_chi_square(bins, bin_expected);
    CHECK(chi2_bins < testing::chi_square_critical(df_bins, 1e-6));
  }
}

TEST_CASE("unary attack success equals the reference code's binomial sum", "[unary][attack]") {
  // The paper's form for OUE (p = 1/2), summed term by term:
  //   (1/(2k)) (e/(e+1))^(k-1) + sum_{i=1..k} (1/(2i)) Binom(i-1; k-1, 1/(e+1)),
  // and for SUE the same with (1-p)/k and p/i, p = e^(eps/2)/(e^(eps/2)+1), q = 1-p.
  // The attack uses the closed form p (1 - (1-q)^k)/(k q) + (1-p)(1-q)^(k-1)/k.
  for (const char* name : {"sue", "oue"}) {
    for (const auto& [k, eps] : std::vector<std::pair<uint32_t, double>>{
             {2, 1.0}, {8, 0.5}, {64, 1.0}, {1000, 3.0}, {500, 12.0}, {200, 0.01}}) {
      INFO(name << " k=" << k << " eps=" << eps);
      const bool sue = std::string(name) == "sue";
      const double a = std::exp(sue ? eps / 2 : eps);
      const double p = sue ? a / (a + 1) : 0.5, q = 1 / (a + 1);
      const double n = k - 1;
      double sum = (1 - p) / k * std::pow(1 - q, n);
      for (uint32_t i = 1; i <= k; ++i) {
        const double j = i - 1;
        sum += p / i *
               std::exp(std::lgamma(n + 1) - std::lgamma(j + 1) - std::lgamma(n - j + 1) +
                        j * std::log(q) + (n - j) * std::log1p(-q));
      }
      const Protocol proto = unary(name, k, eps);
      CHECK(proto.attack().success(0) == Approx(sum).epsilon(1e-10));
      CHECK(proto.attack().success(k - 1) == proto.attack().success(0));
    }
  }
}

TEST_CASE("unary attack success matches enumeration and simulation", "[unary][attack]") {
  // Enumeration at k = 8: P[guess = x | S] = [x in S] / |S|, or 1/k for the empty report.
  for (const char* name : {"sue", "oue"}) {
    const Protocol p = unary(name, 8, 1.2);
    for (uint32_t x : {0u, 6u}) {
      double exact = 0;
      for_each_bitmap(8, [&](const Report& r) {
        const double hit = r.items.empty() ? 1.0 / 8
                                           : std::binary_search(r.items.begin(), r.items.end(), x) /
                                                 double(r.items.size());
        exact += p.encoder().probability(r, x) * hit;
      });
      CHECK(p.attack().success(x) == Approx(exact).epsilon(1e-12));
    }
  }
  // Simulation, uniform prior, k = 8 at eps = 4 (so empty reports happen and the uniform
  // fallback is exercised): 200k trials, 4.5 binomial standard errors.
  const Protocol p = unary("oue", 8, 4.0);
  SeededRng rng(31);
  constexpr int kTrials = 200000;
  int hits = 0;
  Report r;
  for (int i = 0; i < kTrials; ++i) {
    const auto x = static_cast<uint32_t>(rng.uniform(8));
    p.encoder().encode(x, rng, r);
    hits += p.attack().guess(r, rng) == x;
  }
  const double s = p.attack().success(0);
  CHECK(std::abs(static_cast<double>(hits) / kTrials - s) < 4.5 * std::sqrt(s * (1 - s) / kTrials));
}

TEST_CASE("unary estimator counts the 1-bits of each report", "[unary]") {
  // The tally's counts are the C_v: the estimate from tallied encoder output equals the
  // formula applied to counts taken directly from the reports.
  SeededRng rng(4);
  for (const char* name : {"sue", "oue"}) {
    const Protocol p = unary(name, 50, 2.0);
    const double eps_half = std::string(name) == "sue" ? 1.0 : 2.0;
    const double a = std::exp(eps_half);
    const double pp = std::string(name) == "sue" ? a / (a + 1) : 0.5, q = 1 / (a + 1);
    Tally t = p.new_tally();
    std::vector<double> counts(50, 0.0);
    Report r;
    for (int i = 0; i < 300; ++i) {
      p.encoder().encode(static_cast<uint32_t>(i % 7), rng, r);
      t.add(r);
      for (uint32_t v : r.items) ++counts[v];
    }
    const Estimate e = p.estimator().estimate(t);
    CHECK(e.reports == 300);
    for (uint32_t v = 0; v < 50; ++v)
      CHECK(e.frequencies[v] == Approx((counts[v] / 300 - q) / (pp - q)).margin(1e-12));
  }
}

TEST_CASE("unary reports are k-bit bitmaps and survive the wire", "[unary]") {
  SeededRng rng(8);
  for (const char* name : {"sue", "oue"}) {
    for (uint32_t k : {2u, 64u, 1000u}) {
      const Protocol p = unary(name, k, 1.0);
      const ReportCodec codec(p.shape());
      for (uint32_t x : {0u, k - 1}) {
        const Report r = p.encoder().encode(x, rng);
        CHECK(codec.bit_length(r) == k);
        const ParseResult<Report> back = codec.from_bytes(codec.to_bytes(r));
        REQUIRE(back.ok());
        CHECK(back.value() == r);
      }
    }
  }
}

// Issue 12: an all-ones OUE batch was counted whole, pushing every estimate to 2.5.
TEST_CASE("unary max_items is the 2^-40 tail bound and honest reports stay within it", "[unary]") {
  struct Case {
    const char* name;
    uint32_t k;
    double eps;
  };
  for (const Case& c : {Case{"sue", 1024, 1.0}, Case{"oue", 1024, 2.0}, Case{"oue", 4096, 1.0},
                        Case{"sue", 300, 8.0}, Case{"oue", 1000, 10.0}, Case{"sue", 12, 0.5}}) {
    INFO(c.name << " k=" << c.k << " eps=" << c.eps);
    const Protocol p = unary(c.name, c.k, c.eps);
    const uint32_t bound = p.shape().blocks[0].max_items;
    REQUIRE(bound >= 1);
    REQUIRE(bound <= c.k);
    const double a = std::exp(c.name == std::string("sue") ? c.eps / 2 : c.eps);
    const double q = 1 / (a + 1), keep = c.name == std::string("sue") ? a / (a + 1) : 0.5;
    // The bound is the smallest B with P[noise >= B] <= 2^-40 (or k, when the tail never gets
    // that small). The two tail computations differ in the last digits only: 1e-9 relative.
    const std::vector<double> noise = noise_distribution(c.k, q);
    auto noise_at_least = [&](uint32_t b) {
      double tail = 0;
      for (uint32_t j = b; j < c.k; ++j) tail += noise[j];
      return tail;
    };
    if (bound < c.k) CHECK(noise_at_least(bound) <= kUnaryFalseRejection * (1 + 1e-9));
    CHECK(noise_at_least(bound - 1) > kUnaryFalseRejection * (1 - 1e-9));
    // What the documentation states: an honest report is refused with probability below 2^-40.
    const std::vector<double> ones = ones_distribution(c.k, keep, q);
    double refused = 0;
    for (uint32_t s = bound + 1; s <= c.k; ++s) refused += ones[s];
    CHECK(refused <= kUnaryFalseRejection);

    SeededRng rng(2026);
    Report r;
    std::size_t most = 0;
    for (int i = 0; i < 100000; ++i) {
      p.encoder().encode(static_cast<uint32_t>(rng.uniform(c.k)), rng, r);
      most = std::max(most, r.items.size());
    }
    CHECK(most <= bound);
  }
}

TEST_CASE("unary probability stays finite and exact at large k and epsilon", "[unary]") {
  // k = 1000: the product of 1000 factors is ~1e-250, still a double; the ratio between
  // two inputs must still be exactly e^eps. At eps = 50, 1 - p for SUE is ~1e-11 and must
  // not lose digits.
  SeededRng rng(6);
  for (const auto& [name, eps] :
       std::vector<std::pair<const char*, double>>{{"sue", 1.0}, {"oue", 1.0}, {"sue", 50.0}}) {
    const Protocol p = unary(name, 1000, eps);
    Report r = p.encoder().encode(10, rng);
    if (!std::binary_search(r.items.begin(), r.items.end(), 10u)) {
      r.items.insert(std::lower_bound(r.items.begin(), r.items.end(), 10u), 10u);
    }
    uint32_t absent = 0;
    while (std::binary_search(r.items.begin(), r.items.end(), absent)) ++absent;
    const double with = p.encoder().probability(r, 10),
                 without = p.encoder().probability(r, absent);
    CHECK(with > 0);
    CHECK(with / without == Approx(std::exp(eps)).epsilon(1e-9));
  }
  // A large universe encodes quickly and sparsely: OUE at k = 2^22, eps = 10 sends ~190 ones.
  const Protocol big = unary("oue", 1u << 22, 10.0);
  const Report r = big.encoder().encode(12345, rng);
  CHECK(r.items.size() < 400);
}

TEST_CASE("unary rejects bad parameters with a message naming them", "[unary]") {
  for (const std::string name : {"sue", "oue"}) {
    CHECK_THROWS_WITH(unary(name, 1, 1.0), Catch::Contains("k must be at least 2"));
    CHECK_THROWS_WITH(unary(name, 10, -1.0), Catch::Contains("epsilon"));
    CHECK_THROWS_WITH(make_protocol({.protocol = name, .k = 10, .epsilon = 1, .moduli = {3}}),
                      Catch::Contains(name + ": moduli"));
    CHECK_THROWS_WITH(make_protocol({.protocol = name, .k = 10, .epsilon = 1, .subset_sizes = {2}}),
                      Catch::Contains("subset_sizes"));
    CHECK_THROWS_WITH(make_protocol({.protocol = name, .k = 10, .epsilon = 1, .seeds = 3}),
                      Catch::Contains("seeds"));
    const Protocol p = unary(name, 10, 1.0);
    SeededRng rng(1);
    CHECK_THROWS_WITH(p.encoder().encode(12, rng), Catch::Contains("value 12"));
    CHECK_THROWS_WITH(p.estimator().estimate(p.new_tally()), Catch::Contains("no reports"));
    Tally other = unary(name == "sue" ? "oue" : "sue", 10, 1.0).new_tally();
    other.add_reports(0, 1);
    CHECK_THROWS_WITH(p.estimator().estimate(other), Catch::Contains("not this"));
    const std::vector<double> short_f(9, 0.1);
    CHECK_THROWS_WITH(p.estimator().mean_variance(short_f, 10), Catch::Contains("frequencies"));
  }
  CHECK_THROWS_WITH(make_sue({.protocol = "oue", .k = 10, .epsilon = 1}),
                    Catch::Contains("make_sue"));
}

}  // namespace
}  // namespace residue
