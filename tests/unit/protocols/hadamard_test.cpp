// Hadamard Response: the parameter rule, the sets C_x, privacy by enumeration, the fast
// decoder against brute-force counting, exact unbiasedness and exact variance from the
// mechanism itself, the vanilla (B = 1) special case, the published spike numbers, and the
// attack's exact success rate against a brute-force one.
#include "residue/protocols/hadamard.h"

#include <bit>
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

Protocol hr(uint32_t k, double epsilon) {
  return make_protocol({.protocol = "hr", .k = k, .epsilon = epsilon});
}

Report output(uint32_t y) {
  return Report{.block = 0, .items = {y}};
}

// C_x read off the mechanism: the outputs with the larger of its two probabilities.
std::set<uint32_t> support(const Protocol& p, uint32_t x) {
  const auto outputs = static_cast<uint32_t>(p.shape().blocks[0].universe);
  double high = 0;
  for (uint32_t y = 0; y < outputs; ++y)
    high = std::max(high, p.encoder().probability(output(y), x));
  std::set<uint32_t> set;
  for (uint32_t y = 0; y < outputs; ++y) {
    if (p.encoder().probability(output(y), x) > high * (1 - 1e-9)) set.insert(y);
  }
  return set;
}

// The estimate from a tally holding the single report y: a user's contribution c_x(y).
std::vector<double> single_report_estimate(const Protocol& p, uint32_t y) {
  Tally t = p.new_tally();
  t.add(output(y));
  return p.estimator().estimate(t).frequencies;
}

TEST_CASE("hr parameter rule follows the reference code", "[hr]") {
  // docs/protocols/hr.md, "Parameters": eps = 5, k = 22000 gives B = 128, b = 256, K = 32640.
  HadamardLayout l = hadamard_layout(22000, 5.0);
  CHECK(l.blocks == 128);
  CHECK(l.block_size == 256);
  CHECK(l.padded_k() == 32640);
  CHECK(l.outputs() == 32768);
  // e^eps <= 2: one block, b = 2^ceil(log2(k + 1)) (the basic, "vanilla" HR).
  l = hadamard_layout(22000, 0.5);
  CHECK(l.blocks == 1);
  CHECK(l.block_size == 32768);
  // HR k = 3 has K = 4 outputs (docs/protocols/hr.md, "Reference values").
  l = hadamard_layout(3, 0.5);
  CHECK(l.blocks == 1);
  CHECK(l.block_size == 4);
  // e^eps = 7.39: B = 4, and 4 (b - 1) >= 20 needs b = 8.
  l = hadamard_layout(20, 2.0);
  CHECK(l.blocks == 4);
  CHECK(l.block_size == 8);
  // min(e^eps, 2k) = 2k = 6: B = 4 > k, one value per block.
  l = hadamard_layout(3, 50.0);
  CHECK(l.blocks == 4);
  CHECK(l.block_size == 2);
  // k / B = 1.5: b - 1 must be at least 2, so b = 4. The reference's integer k/B + 1 = 2 would
  // give b = 2 and K = 2 < k, leaving value 2 without a row.
  l = hadamard_layout(3, std::log(3.0));
  CHECK(l.blocks == 2);
  CHECK(l.block_size == 4);
  CHECK(l.padded_k() >= 3);
}

TEST_CASE("hr sets have b/2 outputs in their block and pairwise intersections of b/4", "[hr]") {
  // docs/protocols/hr.md, "Mechanism", read off Encoder::probability. k = 20, eps = 2: B = 4,
  // b = 8.
  const Protocol p = hr(20, 2.0);
  const uint32_t b = 8;
  std::vector<std::set<uint32_t>> sets;
  for (uint32_t x = 0; x < 20; ++x) {
    sets.push_back(support(p, x));
    CHECK(sets[x].size() == b / 2);
    for (uint32_t y : sets[x]) CHECK(y / b == x / (b - 1));  // inside x's own block
  }
  for (uint32_t x = 0; x < 20; ++x) {
    for (uint32_t z = x + 1; z < 20; ++z) {
      std::vector<uint32_t> common;
      std::set_intersection(sets[x].begin(), sets[x].end(), sets[z].begin(), sets[z].end(),
                            std::back_inserter(common));
      CHECK(common.size() == (x / (b - 1) == z / (b - 1) ? b / 4 : 0));
    }
  }
}

TEST_CASE("hr output distribution sums to 1 and every ratio is e^eps", "[hr][privacy]") {
  for (const auto& [k, eps] : std::vector<std::pair<uint32_t, double>>{
           {3, 0.5}, {3, std::log(3.0)}, {20, 2.0}, {9, 5.0}, {5, 50.0}, {40, 0.69}}) {
    INFO("k=" << k << " eps=" << eps);
    const testing::MechanismCheck m = testing::enumerate_mechanism(hr(k, eps));
    CHECK(m.worst_total_error < 1e-12);
    CHECK(m.worst_ratio <= std::exp(eps) * (1 + 1e-12));
    CHECK(m.worst_ratio == Approx(std::exp(eps)).epsilon(1e-9));
  }
}

TEST_CASE("hr sampler follows the mechanism's exact probabilities", "[hr][privacy]") {
  // Chi-square over all 32 outputs (k = 20, eps = 2) for a value in a full block and one in
  // the last, partial block; critical value at alpha = 1e-6 per input.
  const Protocol p = hr(20, 2.0);
  SeededRng rng(2024);
  constexpr int kDraws = 200000;
  for (uint32_t x : {3u, 19u}) {
    std::map<uint32_t, int> seen;
    Report r;
    for (int i = 0; i < kDraws; ++i) {
      p.encoder().encode(x, rng, r);
      REQUIRE(r.items.size() == 1);
      ++seen[r.items[0]];
    }
    double chi2 = 0;
    int cells = 0;
    testing::for_each_report(p.shape(), [&](const Report& s) {
      const double e = kDraws * p.encoder().probability(s, x);
      const double d = seen[s.items[0]] - e;
      chi2 += d * d / e;
      ++cells;
    });
    CHECK(cells == 32);
    CHECK(chi2 < testing::chi_square_critical(cells - 1, 1e-6));
  }
}

TEST_CASE("hr fast decoder equals brute-force counting", "[hr]") {
  // c_x = 2D/(e-1) (cnt1 - cnt2/2), D = e - 1 + 2B, counted report by report over C_x and
  // x's block, against the per-block Walsh-Hadamard transforms, on random tallies.
  SeededRng rng(11);
  for (const auto& [k, eps] : std::vector<std::pair<uint32_t, double>>{
           {1000, 4.0}, {300, 0.5}, {100, 1.0}, {20, 2.0}, {7, 50.0}}) {
    INFO("k=" << k << " eps=" << eps);
    const Protocol p = hr(k, eps);
    const HadamardLayout l = hadamard_layout(k, eps);
    const uint32_t b = l.block_size;
    Tally t = p.new_tally();
    for (int i = 0; i < 3000; ++i) t.add(output(static_cast<uint32_t>(rng.uniform(l.outputs()))));
    const std::vector<double> fast = p.estimator().estimate(t).frequencies;
    REQUIRE(fast.size() == k);
    const double e = std::exp(eps), scale = 2 * (e - 1 + 2.0 * l.blocks) / (e - 1);
    const std::span<const uint64_t> counts = t.counts(0);
    for (uint32_t x = 0; x < k; ++x) {
      const uint32_t block = x / (b - 1), row = x % (b - 1) + 1;
      double cnt1 = 0, cnt2 = 0;
      for (uint32_t c = 0; c < b; ++c) {
        const auto n = static_cast<double>(counts[block * b + c]);
        cnt2 += n;
        if (std::popcount(row & c) % 2 == 0) cnt1 += n;
      }
      CHECK(fast[x] == Approx(scale * (cnt1 - cnt2 / 2) / 3000).margin(1e-12));
    }
  }
}

TEST_CASE("hr expected estimate equals the true frequency exactly", "[hr]") {
  // Both a B > 1 layout with a partial block and padding-only blocks, and a vanilla one.
  for (const auto& [k, eps] : std::vector<std::pair<uint32_t, double>>{{20, 2.0}, {6, 0.5}}) {
    const Protocol p = hr(k, eps);
    const std::vector<uint32_t> users = {0, 0, 0, 1, 2, 5, 5, 5, 5, k - 1};
    const std::vector<double> expected = testing::expected_estimate(p, {users}, {});
    std::vector<double> truth(k, 0.0);
    for (uint32_t v : users) truth[v] += 0.1;
    for (uint32_t v = 0; v < k; ++v) CHECK(expected[v] == Approx(truth[v]).margin(1e-12));
  }
}

TEST_CASE("hr closed-form variance equals the variance computed from the mechanism", "[hr]") {
  // Each user's contribution c_x(y) is the estimate from a one-report tally; its exact
  // variance under P[y | user's value] summed over users, over n^2, is Var[f_hat_x].
  for (const auto& [k, eps] :
       std::vector<std::pair<uint32_t, double>>{{20, 2.0}, {6, 0.5}, {9, 5.0}}) {
    INFO("k=" << k << " eps=" << eps);
    const Protocol p = hr(k, eps);
    const auto outputs = static_cast<uint32_t>(p.shape().blocks[0].universe);
    std::vector<std::vector<double>> contribution(outputs);
    for (uint32_t y = 0; y < outputs; ++y) contribution[y] = single_report_estimate(p, y);
    const std::vector<uint32_t> users = {0, 0, 1, 3, 3, 3, k - 1, k / 2};
    const auto n = static_cast<double>(users.size());
    std::vector<double> f(k, 0.0), brute(k, 0.0);
    for (uint32_t u : users) {
      f[u] += 1 / n;
      for (uint32_t x = 0; x < k; ++x) {
        double mean = 0, square = 0;
        for (uint32_t y = 0; y < outputs; ++y) {
          const double py = p.encoder().probability(output(y), u);
          mean += py * contribution[y][x];
          square += py * contribution[y][x] * contribution[y][x];
        }
        brute[x] += (square - mean * mean) / (n * n);
      }
    }
    Tally t = p.new_tally();
    t.add_reports(0, users.size());
    std::vector<uint32_t> all(k);
    for (uint32_t x = 0; x < k; ++x) all[x] = x;
    const std::vector<double> closed = p.estimator().variances(f, t, all);
    double mean_brute = 0;
    for (uint32_t x = 0; x < k; ++x) {
      CHECK(closed[x] == Approx(brute[x]).epsilon(1e-9));
      mean_brute += brute[x] / k;
    }
    CHECK(p.estimator().mean_variance(f, users.size()) == Approx(mean_brute).epsilon(1e-9));
  }
}

TEST_CASE("hr with one block is the vanilla Hadamard response", "[hr]") {
  // docs/protocols/hr.md, "Exact variance" at B = 1: f_x = 2(e+1)/(e-1) (#{y in C_x}/n - 1/2) and
  // Var = [(e+1)^2/(e-1)^2 - f_x]/n, exactly. eps = 0.5 < ln 2 gives B = 1.
  const uint32_t k = 100;
  const double eps = 0.5, e = std::exp(eps);
  const Protocol p = hr(k, eps);
  REQUIRE(hadamard_layout(k, eps).blocks == 1);
  const uint32_t b = hadamard_layout(k, eps).block_size;
  REQUIRE(b == 128);
  SeededRng rng(5);
  Tally t = p.new_tally();
  const uint64_t n = 5000;
  for (uint64_t i = 0; i < n; ++i) t.add(p.encoder().encode(static_cast<uint32_t>(i % 7), rng));
  const std::vector<double> f_hat = p.estimator().estimate(t).frequencies;
  const std::span<const uint64_t> counts = t.counts(0);
  for (uint32_t x = 0; x < k; ++x) {
    double in_set = 0;
    for (uint32_t c = 0; c < b; ++c) {
      if (std::popcount((x + 1) & c) % 2 == 0) in_set += static_cast<double>(counts[c]);
    }
    CHECK(f_hat[x] == Approx(2 * (e + 1) / (e - 1) * (in_set / n - 0.5)).margin(1e-12));
  }
  const std::vector<double> f = [&] {
    std::vector<double> v(k, 0.0);
    v[0] = 0.5;
    v[1] = 0.3;
    v[99] = 0.2;
    return v;
  }();
  const std::vector<double> var =
      p.estimator().variances(f, t, std::vector<uint32_t>{0, 1, 50, 99});
  const double constant = (e + 1) * (e + 1) / ((e - 1) * (e - 1));
  CHECK(var[0] == Approx((constant - 0.5) / n).epsilon(1e-12));
  CHECK(var[1] == Approx((constant - 0.3) / n).epsilon(1e-12));
  CHECK(var[2] == Approx(constant / n).epsilon(1e-12));
  CHECK(var[3] == Approx((constant - 0.2) / n).epsilon(1e-12));
  CHECK(p.estimator().mean_variance(f, n) == Approx((constant - 1.0 / k) / n).epsilon(1e-12));
}

TEST_CASE("hr closed form reproduces the published spike runs", "[hr]") {
  // PGR repo, experiments/results/spike{5,7}.mse: all users hold item 0, k = 22000, eps = 5,
  // count-scale MSE over the k items, 300 trials; HR means 3439.37 (n = 50000) and 689.61
  // (n = 10000), standard errors 11.76 and 2.22 from the spread of the trials. The exact
  // closed form (values below from an independent evaluation of docs/protocols/hr.md, "Exact
  // variance", with the x' = x term (e+1)D/(e-1)^2 - 1) sits within one standard error of both.
  const Protocol p = hr(22000, 5.0);
  std::vector<double> spike(22000, 0.0);
  spike[0] = 1;
  const double mse5 = p.estimator().mean_variance(spike, 50000) * 50000.0 * 50000.0;
  const double mse7 = p.estimator().mean_variance(spike, 10000) * 10000.0 * 10000.0;
  CHECK(mse5 == Approx(3440.146059166801).epsilon(1e-9));
  CHECK(mse7 == Approx(3440.146059166801 / 5).epsilon(1e-9));
  CHECK(std::abs(mse5 - 3439.37) < 11.76);
  CHECK(std::abs(mse7 - 689.61) < 2.22);
}

TEST_CASE("hr attack success equals the rate computed from the mechanism", "[hr][attack]") {
  // Brute force: S(y) = {x < k : y in C_x} from Encoder::probability; the guess is uniform on
  // S(y), or on [0, k) when S(y) is empty. Layouts: partial last block with R = 6 and a
  // padding-only block (k = 20, eps = 2), last block with R = 1 and R = 2 (k = 7 and 8 at
  // eps = 2: B = 4, b = 4), full blocks and a padding block (k = 9), b = 2 (k = 5, eps = 50),
  // vanilla (k = 6, eps = 0.5), two blocks of 7 and 6 values (k = 13, eps = 1).
  for (const auto& [k, eps] : std::vector<std::pair<uint32_t, double>>{
           {20, 2.0}, {7, 2.0}, {8, 2.0}, {9, 2.0}, {5, 50.0}, {6, 0.5}, {13, 1.0}}) {
    INFO("k=" << k << " eps=" << eps);
    const Protocol p = hr(k, eps);
    const auto outputs = static_cast<uint32_t>(p.shape().blocks[0].universe);
    std::vector<std::set<uint32_t>> sets(k);
    for (uint32_t x = 0; x < k; ++x) sets[x] = support(p, x);
    SeededRng rng(3);
    for (uint32_t x = 0; x < k; ++x) {
      double brute = 0;
      for (uint32_t y = 0; y < outputs; ++y) {
        std::vector<uint32_t> candidates;
        for (uint32_t z = 0; z < k; ++z) {
          if (sets[z].count(y) != 0) candidates.push_back(z);
        }
        const double py = p.encoder().probability(output(y), x);
        if (candidates.empty()) {
          brute += py / k;
        } else if (sets[x].count(y) != 0) {
          brute += py / static_cast<double>(candidates.size());
        }
        // Every guess lies in S(y) when S(y) is not empty.
        if (x == 0 && !candidates.empty()) {
          for (int i = 0; i < 20; ++i) {
            const uint32_t g = p.attack().guess(output(y), rng);
            CHECK(std::binary_search(candidates.begin(), candidates.end(), g));
          }
        }
      }
      CHECK(p.attack().success(x) == Approx(brute).epsilon(1e-12));
    }
  }
}

TEST_CASE("hr attack guesses uniformly over the candidate values", "[hr][attack]") {
  // k = 20, eps = 2: output (block 2, column 5) has candidates among rows 1..6 of block 2
  // (values 14..19) with popcount(row & 5) even: rows 2, 5 -> values 15, 18. Column 0 of
  // block 1 has all 7 values 7..13. Chi-square at alpha = 1e-6.
  const Protocol p = hr(20, 2.0);
  SeededRng rng(9);
  for (const auto& [y, candidates] : std::vector<std::pair<uint32_t, std::vector<uint32_t>>>{
           {2 * 8 + 5, {15, 18}}, {1 * 8 + 0, {7, 8, 9, 10, 11, 12, 13}}}) {
    std::map<uint32_t, int> seen;
    constexpr int kDraws = 70000;
    for (int i = 0; i < kDraws; ++i) ++seen[p.attack().guess(output(y), rng)];
    REQUIRE(seen.size() == candidates.size());
    double chi2 = 0;
    const double expected = static_cast<double>(kDraws) / static_cast<double>(candidates.size());
    for (uint32_t c : candidates) chi2 += (seen[c] - expected) * (seen[c] - expected) / expected;
    CHECK(chi2 < testing::chi_square_critical(static_cast<double>(candidates.size()) - 1, 1e-6));
  }
}

TEST_CASE("hr estimator and encoder refuse what is not theirs", "[hr]") {
  const Protocol p = hr(20, 2.0);
  SeededRng rng(1);
  CHECK_THROWS_WITH(p.encoder().encode(20, rng), Catch::Contains("value 20"));
  CHECK_THROWS_WITH(p.estimator().estimate(p.new_tally()), Catch::Contains("no reports"));
  // An SS tally with as many positions as HR has outputs (32): only the id tells them apart.
  Tally foreign = make_protocol({.protocol = "ss", .k = 32, .epsilon = 2.0}).new_tally();
  foreign.add_reports(0, 1);
  CHECK_THROWS_WITH(p.estimator().estimate(foreign), Catch::Contains("residue.ss"));
  CHECK_THROWS_WITH(p.estimator().mean_variance(std::vector<double>(19, 0.0), 10),
                    Catch::Contains("expected 20 frequencies"));
}

TEST_CASE("hr rejects bad parameters with a message naming them", "[hr]") {
  CHECK_THROWS_WITH(hr(1, 1.0), Catch::Contains("k must be at least 2"));
  CHECK_THROWS_WITH(hr(10, 0.0), Catch::Contains("epsilon"));
  CHECK_THROWS_WITH(hr(10, 51.0), Catch::Contains("epsilon"));
  CHECK_THROWS_WITH(make_protocol({.protocol = "hr", .k = 10, .epsilon = 1, .moduli = {3, 4}}),
                    Catch::Contains("moduli"));
  CHECK_THROWS_WITH(make_protocol({.protocol = "hr", .k = 10, .epsilon = 1, .subset_sizes = {2}}),
                    Catch::Contains("subset_sizes"));
  CHECK_THROWS_WITH(make_protocol({.protocol = "hr", .k = 10, .epsilon = 1, .seeds = 4}),
                    Catch::Contains("seeds") && Catch::Contains("4"));
  CHECK_THROWS_WITH(make_hr({.protocol = "ss", .k = 10, .epsilon = 1}), Catch::Contains("\"ss\""));
  CHECK_THROWS_WITH(hadamard_layout(4000000000u, 50.0), Catch::Contains("2^32"));
  // Completing the params changes nothing: HR has no parameters to fill.
  const ProtocolParams done = complete_params({.protocol = "hr", .k = 10, .epsilon = 1});
  CHECK(done == ProtocolParams{.protocol = "hr", .k = 10, .epsilon = 1});
  CHECK(hr(10, 1).id() == "residue.hr.1");
}

TEST_CASE("hr reports take ceil(log2(B b)) bits and encoding allocates once", "[hr]") {
  const Protocol p = hr(22000, 5.0);
  REQUIRE(p.shape().blocks.size() == 1);
  CHECK(p.shape().blocks[0].universe == 32768);
  CHECK(p.shape().blocks[0].subset_size == 1);
  SeededRng rng(4);
  Report r;
  p.encoder().encode(7, rng, r);
  const uint32_t* data = r.items.data();
  for (int i = 0; i < 1000; ++i) {
    p.encoder().encode(static_cast<uint32_t>(rng.uniform(22000)), rng, r);
    REQUIRE(r.items.size() == 1);
    REQUIRE(r.items[0] < 32768u);
  }
  CHECK(r.items.data() == data);
}

}  // namespace
}  // namespace residue
