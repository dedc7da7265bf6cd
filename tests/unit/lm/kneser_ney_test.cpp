// KneserNey: hand-computed values on tiny corpora, normalization over the vocabulary, the
// fast distribution() against probability() and against a direct map-based reference.
#include "residue/lm/kneser_ney.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <tuple>
#include <vector>

#include "residue/core/error.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

using Sentences = std::vector<std::vector<uint32_t>>;

// Words a, b, c of the hand-computed example.
constexpr uint32_t kA = 0, kB = 1, kC = 2;

// Sentences "a b", "a c", "b a b" with one discount D = 0.5 everywhere. By hand (s = <s>):
//   trigrams  (s s a) 2, (s s b) 1, (s a b) 1, (s a c) 1, (s b a) 1, (b a b) 1
//   bigrams   a(s a) 2, a(s b) 1 (raw counts after <s>); a(a b) 2 (u in {s, b}),
//             a(a c) 1, a(b a) 1
//   unigrams  a(a) 2 (v in {s, b}), a(b) 2 (v in {s, a}), a(c) 1; total 5
//   p1: freed 3 * 0.5 / 5 = 0.3, spread over 3 words: p1 = (0.4, 0.4, 0.2)
//   p2(.|a): total 3, g = 1/3: p2(b|a) = 1.5/3 + 0.4/3, p2(c|a) = 0.5/3 + 0.2/3, p2(a|a) = 0.4/3
//   p3(.|s a): total 2, g = 1/2: p3(b|s a) = 0.25 + p2(b|a)/2, p3(a|s a) = p2(a|a)/2
//   p2(.|s): total 3, g = 1/3: p2(a|s) = 1.5/3 + 0.4/3
//   p3(a|s s) = 1.5/3 + p2(a|s)/3 = 32/45
KneserNey hand_model() {
  const Sentences sentences = {{kA, kB}, {kA, kC}, {kB, kA, kB}};
  return KneserNey::train(sentences, 3, {.fixed_discount = 0.5});
}

TEST_CASE("kneser ney matches hand-computed values with a fixed discount", "[kneser_ney]") {
  const KneserNey lm = hand_model();
  const uint32_t s = lm.bos();
  CHECK(s == 3);
  const double tol = 1e-14;
  CHECK(lm.probability(kA, s, s) == Approx(32.0 / 45).margin(tol));
  CHECK(lm.probability(kB, s, s) == Approx(0.5 / 3 + (0.5 / 3 + 0.4 / 3) / 3).margin(tol));
  CHECK(lm.probability(kC, s, s) == Approx(0.2 / 3 / 3).margin(tol));
  const double p2_b_a = 1.5 / 3 + 0.4 / 3;
  CHECK(lm.probability(kB, s, kA) == Approx(0.25 + p2_b_a / 2).margin(tol));
  CHECK(lm.probability(kC, s, kA) == Approx(0.25 + (0.5 / 3 + 0.2 / 3) / 2).margin(tol));
  CHECK(lm.probability(kA, s, kA) == Approx(0.4 / 3 / 2).margin(tol));
  // (b a) was seen once, followed by b: same shape as (s a) but one successor.
  CHECK(lm.probability(kB, kB, kA) == Approx(0.5 / 1 + 0.5 * p2_b_a).margin(tol));
  // (a b) was never followed by anything: back off to p2(.|b); b was followed by a once.
  CHECK(lm.probability(kA, kA, kB) == Approx(0.5 + 0.5 * 0.4).margin(tol));
  // c was never followed by anything: p2(.|c) is the unigram.
  CHECK(lm.probability(kA, kC, kC) == Approx(0.4).margin(tol));
  CHECK(lm.probability(kC, kC, kC) == Approx(0.2).margin(tol));
  CHECK_FALSE(lm.discounts_estimated(3));
  CHECK(lm.discounts(2) == std::array<double, 3>{0.5, 0.5, 0.5});
}

TEST_CASE("kneser ney estimates modified discounts from counts of counts", "[kneser_ney]") {
  // One-word sentences: w0, w1, w5 once, w2 twice, w3 three times, w4 four times; w6 never.
  // Trigrams (s s w) have counts of counts n1..n4 = 3, 1, 1, 1, so Y = 3 / (3 + 2) = 0.6 and
  // D1 = 1 - 2 Y n2/n1 = 0.6, D2 = 2 - 3 Y n3/n2 = 0.2, D3+ = 3 - 4 Y n4/n3 = 0.6. Bigrams after
  // <s> keep raw counts: the same discounts. Every word has one predecessor (<s>), so unigram
  // counts of counts are n1 = 6, n2 = 0: the fallback (0.5, 1, 1.5).
  Sentences sentences;
  const std::vector<std::pair<uint32_t, int>> times = {{0, 1}, {1, 1}, {2, 2},
                                                       {3, 3}, {4, 4}, {5, 1}};
  for (auto [word, n] : times) {
    for (int i = 0; i < n; ++i) sentences.push_back({word});
  }
  const KneserNey lm = KneserNey::train(sentences, 7);
  CHECK(lm.discounts_estimated(3));
  CHECK(lm.discounts_estimated(2));
  CHECK_FALSE(lm.discounts_estimated(1));
  for (int order : {2, 3}) {
    CHECK(lm.discounts(order)[0] == Approx(0.6).margin(1e-15));
    CHECK(lm.discounts(order)[1] == Approx(0.2).margin(1e-15));
    CHECK(lm.discounts(order)[2] == Approx(0.6).margin(1e-15));
  }
  CHECK(lm.discounts(1) == std::array<double, 3>{0.5, 1.0, 1.5});
  // p1(w) = (1 - 0.5) / 6 + (6 * 0.5 / 6) / 7 for w0..w5 and 1/14 for w6; total 12 and freed
  // 3 * 0.6 + 0.2 + 0.6 + 0.6 = 3.2 at both higher orders.
  const double p1 = 0.5 / 6 + 0.5 / 7;
  const double g = 3.2 / 12;
  const double p2 = (4 - 0.6) / 12 + g * p1;
  const uint32_t s = lm.bos();
  CHECK(lm.probability(4, s, s) == Approx((4 - 0.6) / 12 + g * p2).margin(1e-15));
  CHECK(lm.probability(2, s, s) == Approx((2 - 0.2) / 12 + g * ((2 - 0.2) / 12 + g * p1)));
  CHECK(lm.probability(6, s, s) == Approx(g * g * (0.5 / 7)).margin(1e-15));
  CHECK(lm.probability(6, 4, 4) == Approx(0.5 / 7).margin(1e-15));  // nothing follows w4
}

// A direct transcription of the formulas in kneser_ney.h with maps, for comparison.
class ReferenceKn {
 public:
  ReferenceKn(const Sentences& sentences, uint32_t v, double d) : v_(v), d_(d) {
    const uint32_t bos = v;
    for (const auto& sentence : sentences) {
      uint32_t a = bos, b = bos;
      for (uint32_t w : sentence) {
        ++c3_[{a, b, w}];
        if (b == bos) ++a2_[{b, w}];  // raw counts after <s>
        left2_[{b, w}].insert(a);
        a = b;
        b = w;
      }
    }
    for (const auto& [bw, lefts] : left2_) {
      if (bw.first != bos) a2_[bw] = static_cast<double>(lefts.size());
      left1_[bw.second].insert(bw.first);
    }
  }

  double p1(uint32_t w) const {
    double total = 0, types = 0;
    for (const auto& [x, lefts] : left1_) total += static_cast<double>(lefts.size()), ++types;
    const auto it = left1_.find(w);
    const double a = it == left1_.end() ? 0 : static_cast<double>(it->second.size());
    return std::max(a - d_, 0.0) / total + d_ * types / total / v_;
  }
  double p2(uint32_t w, uint32_t b) const {
    double total = 0, types = 0, own = 0;
    for (const auto& [bw, a] : a2_) {
      if (bw.first != b) continue;
      total += a;
      ++types;
      if (bw.second == w) own = a;
    }
    if (total == 0) return p1(w);
    return std::max(own - d_, 0.0) / total + d_ * types / total * p1(w);
  }
  double p3(uint32_t w, uint32_t a, uint32_t b) const {
    double total = 0, types = 0, own = 0;
    for (const auto& [abw, c] : c3_) {
      if (std::get<0>(abw) != a || std::get<1>(abw) != b) continue;
      total += c;
      ++types;
      if (std::get<2>(abw) == w) own = c;
    }
    if (total == 0) return p2(w, b);
    return std::max(own - d_, 0.0) / total + d_ * types / total * p2(w, b);
  }

 private:
  uint32_t v_;
  double d_;
  std::map<std::tuple<uint32_t, uint32_t, uint32_t>, double> c3_;
  std::map<std::pair<uint32_t, uint32_t>, double> a2_;
  std::map<std::pair<uint32_t, uint32_t>, std::set<uint32_t>> left2_;
  std::map<uint32_t, std::set<uint32_t>> left1_;
};

// Sentences of 1..12 words with Zipf-like word frequencies (id i drawn with weight ~1/(i+1)).
Sentences zipf_sentences(uint32_t vocab, int count, uint64_t seed) {
  SeededRng rng(seed);
  std::vector<double> cumulative(vocab);
  double sum = 0;
  for (uint32_t i = 0; i < vocab; ++i) cumulative[i] = sum += 1.0 / (i + 1);
  Sentences out(count);
  for (auto& sentence : out) {
    const uint64_t length = 1 + rng.uniform(12);
    for (uint64_t i = 0; i < length; ++i) {
      const double x = rng.uniform01() * sum;
      sentence.push_back(static_cast<uint32_t>(
          std::upper_bound(cumulative.begin(), cumulative.end(), x) - cumulative.begin()));
    }
  }
  return out;
}

TEST_CASE("kneser ney agrees with a direct reference implementation", "[kneser_ney]") {
  const Sentences sentences = zipf_sentences(30, 150, 3);
  const KneserNey lm = KneserNey::train(sentences, 30, {.fixed_discount = 0.75});
  const ReferenceKn reference(sentences, 30, 0.75);
  const uint32_t s = lm.bos();
  const std::vector<std::pair<uint32_t, uint32_t>> contexts = {{s, s}, {s, 0},   {0, 1},
                                                               {2, 0}, {29, 29}, {5, s}};
  for (auto [u, v] : contexts) {
    for (uint32_t w = 0; w < 30; ++w) {
      CHECK(lm.probability(w, u, v) == Approx(reference.p3(w, u, v)).margin(1e-13));
    }
  }
}

TEST_CASE("kneser ney distributions sum to one and match probability", "[kneser_ney]") {
  const uint32_t vocab = 500;
  const Sentences sentences = zipf_sentences(vocab, 4000, 11);
  const KneserNey lm = KneserNey::train(sentences, vocab);
  // Around 20k tokens over 500 words: the closed-form discounts exist at the higher orders.
  CHECK(lm.discounts_estimated(3));
  CHECK(lm.discounts_estimated(2));
  const uint32_t s = lm.bos();
  std::vector<std::pair<uint32_t, uint32_t>> contexts = {
      {s, s}, {s, 0}, {s, 499}, {499, 499}, {0, s}};
  for (std::size_t i = 0; i < 40; ++i) contexts.emplace_back(sentences[i][0], sentences[i + 1][0]);
  std::vector<double> p(vocab);
  for (auto [u, v] : contexts) {
    lm.distribution(u, v, p);
    // Sums of 500 positive doubles below 1: rounding stays far below 1e-12.
    CHECK(std::accumulate(p.begin(), p.end(), 0.0) == Approx(1.0).margin(1e-12));
    for (uint32_t w = 0; w < vocab; ++w) {
      REQUIRE(p[w] > 0);
      REQUIRE(p[w] == Approx(lm.probability(w, u, v)).margin(1e-15));
    }
  }
}

TEST_CASE("kneser ney perplexity is the exponentiated mean negative log probability",
          "[kneser_ney]") {
  const KneserNey lm = hand_model();
  const uint32_t s = lm.bos();
  const Sentences test = {{kA, kB}, {kC}};
  const double log_p1 = std::log(lm.probability(kA, s, s)) + std::log(lm.probability(kB, s, kA));
  const double log_p2 = std::log(lm.probability(kC, s, s));
  CHECK(lm.log_probability(test[0]) == Approx(log_p1).margin(1e-14));
  CHECK(lm.perplexity(test) == Approx(std::exp(-(log_p1 + log_p2) / 3)).margin(1e-12));
  // Skipping c drops its position but keeps it as context.
  const Sentences with_c = {{kC, kA}};
  CHECK(lm.perplexity(with_c, kC) == Approx(1 / lm.probability(kA, s, kC)).margin(1e-12));
  CHECK_THROWS_WITH(lm.perplexity(Sentences{{kC}}, kC), Catch::Contains("no position"));
}

TEST_CASE("kneser ney rejects bad input with clear errors", "[kneser_ney]") {
  CHECK_THROWS_WITH(KneserNey::train(Sentences{{0, 5}}, 3),
                    Catch::Contains("sentence 0 position 1 has id 5"));
  CHECK_THROWS_WITH(KneserNey::train(Sentences{{}}, 3), Catch::Contains("no token"));
  CHECK_THROWS_WITH(KneserNey::train(Sentences{{0}}, 0), Catch::Contains("vocab_size"));
  CHECK_THROWS_WITH(KneserNey::train(Sentences{{0}}, 3, {.fixed_discount = 1.0}),
                    Catch::Contains("fixed_discount must be in (0, 1)"));
  CHECK_THROWS_WITH(KneserNey::train(Sentences{{0}}, 3, {.fallback_discounts = {0.5, 2.5, 1}}),
                    Catch::Contains("D_2"));
  const KneserNey lm = hand_model();
  CHECK_THROWS_WITH(lm.probability(3, 0, 0), Catch::Contains("target 3"));
  CHECK_THROWS_WITH(lm.probability(0, 4, 0), Catch::Contains("context (4, 0)"));
  std::vector<double> small(2);
  CHECK_THROWS_WITH(lm.distribution(0, 0, small), Catch::Contains("size 3"));
  CHECK_THROWS_WITH(lm.discounts(4), Catch::Contains("order must be 1, 2 or 3"));
}

}  // namespace
}  // namespace residue
