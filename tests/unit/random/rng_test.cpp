// Rng, SeededRng and Csprng: reproducible and distinct streams, uniform(bound) range and
// unbiasedness, uniform01 and bernoulli frequencies, bernoulli's exactness at both ends, wiping
// of drawn words, and Csprng freshness and bit balance.
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <set>
#include <vector>

#include "residue/random/csprng.h"
#include "residue/random/hmac_drbg.h"
#include "residue/random/seeded_rng.h"
#include "support/scripted_rng.h"

namespace residue {
namespace {

std::vector<uint64_t> draw_words(Rng& rng, size_t n) {
  std::vector<uint64_t> words(n);
  for (uint64_t& w : words) w = rng.next_u64();
  return words;
}

double chi_square(const std::vector<int>& counts, double expected) {
  double chi2 = 0;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  return chi2;
}

TEST_CASE("seeded rng is reproducible for a seed and stream", "[rng]") {
  // 1000 words cross several buffer refills.
  SeededRng a(42, 3);
  SeededRng b(42, 3);
  REQUIRE(draw_words(a, 1000) == draw_words(b, 1000));
}

TEST_CASE("seeded rng streams and seeds give unrelated sequences", "[rng]") {
  // Any shared word, even at a shifted position, would mean overlapping sequences: for
  // unrelated 64-bit words the chance of one coincidence among 5 * 2000^2 pairs is 2e-11.
  std::vector<std::vector<uint64_t>> sequences;
  for (auto [seed, stream] :
       {std::pair<uint64_t, uint64_t>{42, 0}, {42, 1}, {42, 2}, {43, 0}, {0, 0}, {0, 1}}) {
    SeededRng rng(seed, stream);
    sequences.push_back(draw_words(rng, 2000));
  }
  std::set<uint64_t> seen;
  size_t total = 0;
  for (const auto& s : sequences) {
    seen.insert(s.begin(), s.end());
    total += s.size();
  }
  REQUIRE(seen.size() == total);
}

TEST_CASE("uniform stays below its bound", "[rng]") {
  SeededRng rng(1);
  for (uint64_t bound : {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{1000},
                         (uint64_t{1} << 63) + 1, ~uint64_t{0}}) {
    for (int i = 0; i < 10000; ++i) REQUIRE(rng.uniform(bound) < bound);
  }
  for (int i = 0; i < 100; ++i) REQUIRE(rng.uniform(1) == 0);
}

TEST_CASE("uniform is unbiased for a small bound", "[rng]") {
  // 700000 draws in [0, 7): chi-square with 6 degrees of freedom, P[chi2_6 > 45] = 4.7e-8.
  SeededRng rng(2024);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 700000; ++i) ++counts[rng.uniform(7)];
  const double chi2 = chi_square(counts, 100000);
  INFO("chi-square = " << chi2);
  REQUIRE(chi2 < 45);
}

TEST_CASE("uniform is unbiased for a bound where the modulo would not be", "[rng]") {
  // With bound = 2/3 of 2^64, x % bound would put 2/3 of the mass in the lower half. Sixteen
  // equal bins of 160000 draws: chi-square with 15 degrees of freedom, P[chi2_15 > 65] = 3e-8,
  // while the modulo bias would give a statistic near 18000.
  const uint64_t bound = ~uint64_t{0} / 3 * 2;
  SeededRng rng(77);
  std::vector<int> counts(16, 0);
  for (int i = 0; i < 160000; ++i) {
    const uint64_t x = rng.uniform(bound);
    ++counts[static_cast<size_t>(static_cast<double>(x) / static_cast<double>(bound) * 16)];
  }
  const double chi2 = chi_square(counts, 10000);
  INFO("chi-square = " << chi2);
  REQUIRE(chi2 < 65);
}

TEST_CASE("uniform01 lies in the unit interval with mean one half", "[rng]") {
  // The mean of 10^6 uniforms has sd sqrt(1/12 / 10^6) = 2.9e-4; 6 sd (1.7e-3) is a false
  // alarm rate of 2e-9.
  SeededRng rng(5);
  double sum = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    const double u = rng.uniform01();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
  }
  REQUIRE(std::abs(sum / 1e6 - 0.5) < 1.7e-3);
}

TEST_CASE("bernoulli hits its probability and clamps it", "[rng]") {
  // 10^6 trials at p = 0.25: the frequency has sd 4.3e-4; 6 sd is 2.6e-3.
  SeededRng rng(9);
  int hits = 0;
  for (int i = 0; i < 1'000'000; ++i) hits += rng.bernoulli(0.25) ? 1 : 0;
  REQUIRE(std::abs(hits / 1e6 - 0.25) < 2.6e-3);
  for (int i = 0; i < 1000; ++i) {
    REQUIRE_FALSE(rng.bernoulli(0.0));
    REQUIRE_FALSE(rng.bernoulli(-1.0));
    REQUIRE(rng.bernoulli(1.0));
    REQUIRE(rng.bernoulli(2.0));
  }
}

TEST_CASE("bernoulli is exact far below 2^-53 and within 2^-53 of 1", "[rng]") {
  // The uniform's threshold, found over two words: the coin's probability to 2^-128 (a margin
  // that matters only for the 1e-30 cases).
  for (double p : {0.25, 0.3, 1e-10, 1e-20, 3e-30, 0x1.0p-60}) {
    INFO("p = " << p);
    const testing::Tail tail =
        testing::tail_probability({}, [p](Rng& rng) { return !rng.bernoulli(p); });
    CHECK(tail.below == Approx(p).epsilon(1e-12).margin(0x1.0p-128));
  }
  // 1 - 4e-18 is 1 as a double: bernoulli(p, not_p) draws on the complement.
  for (double not_p : {1e-10, 4.248354255291589e-18, 1e-30}) {
    INFO("not_p = " << not_p);
    const testing::Tail tail = testing::tail_probability(
        {}, [not_p](Rng& rng) { return !rng.bernoulli(1 - not_p, not_p); });
    CHECK(tail.above == Approx(not_p).epsilon(1e-12).margin(0x1.0p-128));
  }
  // Away from the ends both forms agree with the old 53-bit comparison on all but a 2^-53
  // sliver of the words, so seeded streams and memoized reports keep their values.
  SeededRng a(3), b(3);
  for (int i = 0; i < 100000; ++i) {
    const double p = 0.1 + 0.8 * (i % 97) / 97.0;
    REQUIRE(a.bernoulli(p, 1 - p) == (static_cast<double>(b.next_u64() >> 11) * 0x1.0p-53 < p));
  }
}

TEST_CASE("issue 12: an rng wipes the words it hands out, and its buffer when destroyed", "[rng]") {
  // A twin HmacDrbg tells which words the buffer holds: the first refill is 128 of them.
  const std::vector<uint8_t> secret(32, 7);
  HmacDrbg twin(secret, {});
  const std::vector<uint64_t> words = draw_words(twin, Rng::kBufferWords);
  alignas(HmacDrbg) unsigned char storage[sizeof(HmacDrbg)];
  auto* drbg = new (storage) HmacDrbg(secret, {});
  auto occurrences = [&storage](uint64_t word) {
    int found = 0;
    for (std::size_t at = 0; at + sizeof word <= sizeof storage; ++at) {
      found += std::memcmp(storage + at, &word, sizeof word) == 0;
    }
    return found;
  };
  REQUIRE(draw_words(*drbg, 10) == std::vector<uint64_t>(words.begin(), words.begin() + 10));
  for (std::size_t i = 0; i < words.size(); ++i) {
    INFO("word " << i);
    // Drawn words are gone; the others are still there, so the scan does see the buffer.
    CHECK(occurrences(words[i]) == (i < 10 ? 0 : 1));
  }
  drbg->~HmacDrbg();
  for (std::size_t i = 0; i < words.size(); ++i) {
    INFO("word " << i);
    CHECK(occurrences(words[i]) == 0);
  }
}

TEST_CASE("csprng instances produce different words", "[rng]") {
  Csprng a;
  Csprng b;
  const std::vector<uint64_t> wa = draw_words(a, 300);
  const std::vector<uint64_t> wb = draw_words(b, 300);
  std::set<uint64_t> seen(wa.begin(), wa.end());
  seen.insert(wb.begin(), wb.end());
  REQUIRE(seen.size() == 600);
}

TEST_CASE("csprng bits are balanced", "[rng]") {
  // 100000 words are 6.4e6 bits; the count of ones has mean 3.2e6 and sd 1265, and 6 sd
  // (7590) is a false alarm rate of 2e-9. Each bit position (mean 50000, sd 158) gets 6 sd too.
  Csprng rng;
  std::vector<int> per_bit(64, 0);
  int64_t ones = 0;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t w = rng.next_u64();
    ones += std::popcount(w);
    for (int bit = 0; bit < 64; ++bit) per_bit[bit] += static_cast<int>((w >> bit) & 1);
  }
  REQUIRE(std::abs(ones - 3'200'000) < 7590);
  for (int bit = 0; bit < 64; ++bit) {
    INFO("bit " << bit);
    REQUIRE(std::abs(per_bit[bit] - 50000) < 950);
  }
}

}  // namespace
}  // namespace residue
