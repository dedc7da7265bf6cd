// GRR: the reference cases of docs/protocols/grr.md, "Reference values" (Warner's k = 2 and
// k = 4 at eps = ln 3),
// privacy by enumeration, exact unbiasedness, the sampler and the attack against their exact
// probabilities, report bits and parameter validation.
#include "residue/protocols/grr.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"
#include "residue/wire/report_codec.h"
#include "support/protocol_oracle.h"

namespace residue {
namespace {

Protocol grr(uint32_t k, double epsilon) {
  return make_protocol({.protocol = "grr", .k = k, .epsilon = epsilon});
}

Report single(uint32_t y) {
  return Report{.block = 0, .items = {y}};
}

// A tally of n reports with the given count per value (the counts sum to n).
Tally tally_of(const Protocol& p, const std::vector<uint64_t>& counts) {
  Tally t = p.new_tally();
  for (uint32_t v = 0; v < counts.size(); ++v) t.add_counts(0, v, counts[v]);
  t.add_reports(0, std::accumulate(counts.begin(), counts.end(), uint64_t{0}));
  return t;
}

TEST_CASE("grr with k=2 is Warner's randomized response", "[grr]") {
  // p = e/(e+1), and since p(1-p) = q(1-q) the variance is
  // e^eps / (n (e^eps - 1)^2) exactly, whatever f is.
  for (double eps : {std::log(3.0), 0.3, 2.5}) {
    const Protocol p = grr(2, eps);
    const double e = std::exp(eps);
    CHECK(p.encoder().probability(single(0), 0) == Approx(e / (e + 1)).epsilon(1e-14));
    CHECK(p.encoder().probability(single(1), 0) == Approx(1 / (e + 1)).epsilon(1e-14));
    const Tally t = tally_of(p, {3, 7});
    for (double f0 : {0.0, 0.25, 0.5, 0.9, 1.0}) {
      const std::vector<double> f = {f0, 1 - f0};
      const std::vector<uint32_t> values = {0, 1};
      for (double var : p.estimator().variances(f, t, values))
        CHECK(var == Approx(e / (10 * (e - 1) * (e - 1))).epsilon(1e-12));
      CHECK(p.estimator().mean_variance(f, 10) == Approx(e / (10 * (e - 1) * (e - 1))));
    }
  }
  // eps = ln 3: p = 3/4 and f_0 = 2 C_0 / n - 1/2; with one report of x = 0 the estimate is
  // 3/2 (w.p. 3/4) or -1/2 (w.p. 1/4): mean 1, variance 3/4 = 3 / (4 n).
  const Protocol p = grr(2, std::log(3.0));
  CHECK(p.estimator().estimate(tally_of(p, {5, 3})).frequencies[0] ==
        Approx(2 * 5.0 / 8 - 0.5).epsilon(1e-14));
  double mean = 0, second = 0;
  for (uint32_t y : {0u, 1u}) {
    const double prob = p.encoder().probability(single(y), 0);
    const double f0 = p.estimator().estimate(tally_of(p, {y == 0, y == 1})).frequencies[0];
    CHECK(f0 == Approx(y == 0 ? 1.5 : -0.5).epsilon(1e-14));
    mean += prob * f0;
    second += prob * f0 * f0;
  }
  CHECK(mean == Approx(1.0).epsilon(1e-14));
  CHECK(second - mean * mean == Approx(0.75).epsilon(1e-13));
  const std::vector<double> point = {1, 0};
  CHECK(p.estimator().mean_variance(point, 1) == Approx(0.75).epsilon(1e-13));
}

TEST_CASE("grr with k=4 and eps=ln 3 has p = 1/2, q = 1/6 and V = 5/4", "[grr]") {
  // f = 3 C / n - 1/2 and V* = (e + k - 2)/(e - 1)^2 = 5/4.
  const Protocol p = grr(4, std::log(3.0));
  CHECK(p.encoder().probability(single(2), 2) == Approx(0.5).epsilon(1e-14));
  CHECK(p.encoder().probability(single(1), 2) == Approx(1.0 / 6).epsilon(1e-14));
  const Tally t = tally_of(p, {10, 0, 25, 5});
  const std::vector<double> f = p.estimator().estimate(t).frequencies;
  for (uint32_t v = 0; v < 4; ++v) {
    CHECK(f[v] == Approx(3.0 * static_cast<double>(t.counts(0)[v]) / 40 - 0.5).margin(1e-14));
  }
  // Fixed support size 1: the estimates sum to exactly 1 (docs/protocols/estimation.md,
  // "Sum identity").
  CHECK(std::accumulate(f.begin(), f.end(), 0.0) == Approx(1.0).epsilon(1e-14));
  const std::vector<double> zero = {0, 0, 0, 1};
  const std::vector<uint32_t> values = {0};
  CHECK(40 * p.estimator().variances(zero, t, values)[0] == Approx(1.25).epsilon(1e-13));
  // With the f-term: Var = (f p(1-p) + (1-f) q(1-q)) / (n (p-q)^2); at f = 1, 9/4.
  CHECK(4 * 40 * p.estimator().mean_variance(zero, 40) == Approx(3 * 1.25 + 2.25).epsilon(1e-13));
}

TEST_CASE("grr output distribution sums to 1 and every ratio is exactly e^eps", "[grr][privacy]") {
  for (const auto& [k, eps] : std::vector<std::pair<uint32_t, double>>{
           {2, std::log(3.0)}, {5, 0.5}, {8, 2.0}, {8, 0.1}, {3, 12.0}}) {
    const testing::MechanismCheck m = testing::enumerate_mechanism(grr(k, eps));
    CHECK(m.worst_total_error < 1e-12);
    CHECK(m.worst_ratio == Approx(std::exp(eps)).epsilon(1e-12));
  }
}

TEST_CASE("grr expected estimate equals the true frequency exactly", "[grr]") {
  const Protocol p = grr(7, 1.3);
  const std::vector<uint32_t> users = {0, 0, 0, 1, 2, 2, 6, 6, 6, 6};
  const std::vector<double> expected = testing::expected_estimate(p, {users}, {});
  std::vector<double> truth(7, 0.0);
  for (uint32_t v : users) truth[v] += 0.1;
  for (uint32_t v = 0; v < 7; ++v) CHECK(expected[v] == Approx(truth[v]).margin(1e-12));
}

TEST_CASE("grr sampler follows the mechanism's exact probabilities", "[grr][privacy]") {
  // Chi-square over the k = 5 outputs for three inputs (including both ends, where the
  // r + (r >= x) shift is easiest to get wrong); alpha = 1e-6 per input.
  const Protocol p = grr(5, 1.0);
  SeededRng rng(11);
  constexpr int kDraws = 100000;
  for (uint32_t x : {0u, 2u, 4u}) {
    std::vector<int> seen(5, 0);
    Report r;
    for (int i = 0; i < kDraws; ++i) {
      p.encoder().encode(x, rng, r);
      REQUIRE(r.items.size() == 1);
      ++seen[r.items[0]];
    }
    double chi2 = 0;
    for (uint32_t y = 0; y < 5; ++y) {
      const double e = kDraws * p.encoder().probability(single(y), x);
      chi2 += (seen[y] - e) * (seen[y] - e) / e;
    }
    CHECK(chi2 < testing::chi_square_critical(4, 1e-6));
  }
}

TEST_CASE("grr attack guesses the report and succeeds with probability p", "[grr][attack]") {
  const Protocol p = grr(10, 2.0);
  const double e = std::exp(2.0);
  SeededRng rng(5);
  // Exact, by enumeration: the guess is deterministic, so success = P[y = x].
  for (uint32_t x : {0u, 9u}) {
    double exact = 0;
    for (uint32_t y = 0; y < 10; ++y)
      exact += p.encoder().probability(single(y), x) * (p.attack().guess(single(y), rng) == x);
    CHECK(exact == Approx(e / (e + 9)).epsilon(1e-14));
    CHECK(p.attack().success(x) == Approx(exact).epsilon(1e-14));
  }
  // Empirical, uniform prior: 200k trials, standard error sqrt(p(1-p)/200k) ~ 1.1e-3;
  // 4.5 standard errors.
  constexpr int kTrials = 200000;
  int hits = 0;
  Report r;
  for (int i = 0; i < kTrials; ++i) {
    const auto x = static_cast<uint32_t>(rng.uniform(10));
    p.encoder().encode(x, rng, r);
    hits += p.attack().guess(r, rng) == x;
  }
  const double s = p.attack().success(0);
  CHECK(std::abs(static_cast<double>(hits) / kTrials - s) < 4.5 * std::sqrt(s * (1 - s) / kTrials));
}

TEST_CASE("grr reports take ceil(log2 k) bits and survive the wire", "[grr]") {
  SeededRng rng(9);
  for (const auto& [k, bits] : std::vector<std::pair<uint32_t, std::size_t>>{
           {2, 1}, {16, 4}, {17, 5}, {1000, 10}, {1u << 20, 20}}) {
    const Protocol p = grr(k, 1.0);
    const ReportCodec codec(p.shape());
    for (uint32_t x : {0u, k / 2, k - 1}) {
      const Report r = p.encoder().encode(x, rng);
      CHECK(codec.bit_length(r) == bits);
      const ParseResult<Report> back = codec.from_bytes(codec.to_bytes(r));
      REQUIRE(back.ok());
      CHECK(back.value() == r);
    }
  }
}

TEST_CASE("grr stays exact at large epsilon", "[grr]") {
  // eps = 50: 1 - p ~ 4e-22 must not round to 0, or Var at f = 1 would lose its f-term.
  const Protocol p = grr(3, 50.0);
  const double e = std::exp(50.0);
  // In double, p = e/(e+2) rounds to 1, so 1 - p would be 0.
  const std::vector<double> point = {1, 0, 0};
  const double var_1 = 2 * e / ((e - 1) * (e - 1));
  const double var_0 = (e + 1) / ((e - 1) * (e - 1));
  CHECK(3 * p.estimator().mean_variance(point, 1) == Approx(var_1 + 2 * var_0).epsilon(1e-12));
}

TEST_CASE("grr rejects bad parameters with a message naming them", "[grr]") {
  CHECK_THROWS_WITH(grr(1, 1.0), Catch::Contains("k must be at least 2"));
  CHECK_THROWS_WITH(grr(10, 0.0), Catch::Contains("epsilon"));
  CHECK_THROWS_WITH(make_protocol({.protocol = "grr", .k = 10, .epsilon = 1, .moduli = {3, 5}}),
                    Catch::Contains("moduli"));
  CHECK_THROWS_WITH(make_protocol({.protocol = "grr", .k = 10, .epsilon = 1, .subset_sizes = {1}}),
                    Catch::Contains("subset_sizes"));
  CHECK_THROWS_WITH(make_protocol({.protocol = "grr", .k = 10, .epsilon = 1, .seeds = 4}),
                    Catch::Contains("seeds") && Catch::Contains("4"));
  CHECK_THROWS_WITH(make_grr({.protocol = "ss", .k = 10, .epsilon = 1}), Catch::Contains("ss"));
  const Protocol p = grr(10, 1.0);
  SeededRng rng(1);
  CHECK_THROWS_WITH(p.encoder().encode(10, rng), Catch::Contains("value 10"));
  Tally other = make_protocol({.protocol = "ss", .k = 10, .epsilon = 1}).new_tally();
  other.add_reports(0, 1);
  CHECK_THROWS_WITH(p.estimator().estimate(other), Catch::Contains("residue.ss"));
  CHECK_THROWS_WITH(p.estimator().estimate(p.new_tally()), Catch::Contains("no reports"));
  CHECK(complete_params({.protocol = "grr", .k = 10, .epsilon = 1}).subset_sizes.empty());
}

}  // namespace
}  // namespace residue
