// MemoryDecoder: FAISS's nearest cell is the client's exact Codebook::cell, the mixture is a
// distribution, and p_mem is the softmax-weighted vote of the K nearest cells.
#include "residue/memory/memory_decoder.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <vector>

#include "memory_fixture.h"
#include "residue/random/seeded_rng.h"
#include "residue/search/threads.h"

namespace residue {
namespace {

using testing::small_memory;
using testing::unit_rows;

double squared_distance(std::span<const float> a, std::span<const float> b) {
  double d = 0;
  for (std::size_t j = 0; j < a.size(); ++j) d += (double{a[j]} - b[j]) * (double{a[j]} - b[j]);
  return d;
}

TEST_CASE("memory decoder nearest cell equals the exact codebook cell", "[memory_decoder]") {
  set_search_threads(1);
  SeededRng rng(11);
  const Codebook book(16, unit_rows(64, 16, rng));
  MemoryArm arm;
  arm.name = "uniform";
  arm.kind = ArmKind::kUniform;
  const MemoryDecoder decoder(book, arm, 5);
  const std::vector<float> keys = unit_rows(3000, 16, rng);
  const Neighbours nn = decoder.search(keys, 1);  // batched: FAISS uses BLAS for >= 20 keys
  const std::vector<uint32_t> exact = book.cells_of(keys);
  int differ = 0;
  for (std::size_t i = 0; i < exact.size(); ++i) {
    if (nn.cells[i] == exact[i]) continue;
    // FAISS computes |x|^2 + |c|^2 - 2 x.c in float: it may only disagree on a near-tie.
    ++differ;
    const std::span<const float> key(keys.data() + i * 16, 16);
    CHECK(std::abs(squared_distance(key, book.centroid(nn.cells[i])) -
                   squared_distance(key, book.centroid(exact[i]))) < 1e-5);
  }
  CHECK(differ <= 3);
  // One key at a time (no BLAS) as well.
  for (std::size_t i = 0; i < 200; ++i) {
    const std::span<const float> key(keys.data() + i * 16, 16);
    CHECK(decoder.search(key, 1).cells[0] == book.cell(key));
  }
}

TEST_CASE("memory decoder mixture sums to one for every arm kind", "[memory_decoder]") {
  set_search_threads(1);
  const Memory m = small_memory();
  SeededRng rng(3);
  const std::vector<float> keys = unit_rows(50, m.dimension(), rng);
  for (const MemoryArm& arm : m.arms()) {
    const MemoryDecoder decoder(m.codebook(), arm, m.tokens());
    for (std::size_t i = 0; i < 50; ++i) {
      std::vector<double> p_lm(m.tokens());
      for (double& x : p_lm) x = rng.uniform01();
      const double z = std::accumulate(p_lm.begin(), p_lm.end(), 0.0);
      for (double& x : p_lm) x /= z;
      std::vector<double> p(m.tokens()), p_mem(m.tokens());
      const std::span<const float> key(keys.data() + i * m.dimension(), m.dimension());
      decoder.memory_distribution(key, p_mem);
      decoder.distribution(key, p_lm, p);
      CHECK(std::accumulate(p_mem.begin(), p_mem.end(), 0.0) == Approx(1).epsilon(1e-12));
      CHECK(std::accumulate(p.begin(), p.end(), 0.0) == Approx(1).epsilon(1e-12));
      for (uint32_t t = 0; t < m.tokens(); ++t) {
        REQUIRE(p[t] > 0);
        CHECK(p[t] == Approx(arm.hyper.lambda * p_mem[t] + (1 - arm.hyper.lambda) * p_lm[t]));
      }
    }
  }
}

TEST_CASE("memory decoder p_mem is the weighted vote of the nearest cells", "[memory_decoder]") {
  set_search_threads(1);
  const Memory m = small_memory();
  const MemoryArm& arm = m.arm("ldp_project");  // K = 2, T = 0.1, alpha = 0.5
  const MemoryDecoder decoder(m.codebook(), arm, m.tokens());
  SeededRng rng(4);
  const std::vector<float> key = unit_rows(1, m.dimension(), rng);
  // By hand: the two nearest centroids, softmax(-d / T), smoothed rows.
  std::vector<std::pair<double, uint32_t>> d;
  for (uint32_t c = 0; c < m.cells(); ++c)
    d.push_back({squared_distance(key, m.codebook().centroid(c)), c});
  std::sort(d.begin(), d.end());
  const double w0 = 1, w1 = std::exp(-(d[1].first - d[0].first) / 0.1);
  const uint32_t tokens = m.tokens();
  std::vector<double> expected(tokens, 0.0);
  for (auto [w, c] :
       {std::pair{w0 / (w0 + w1), d[0].second}, std::pair{w1 / (w0 + w1), d[1].second}}) {
    double total = 0;
    for (uint32_t t = 0; t < tokens; ++t) total += arm.counts[c * tokens + t];
    for (uint32_t t = 0; t < tokens; ++t) {
      expected[t] += w * (arm.counts[c * tokens + t] + 0.5) / (total + 0.5 * tokens);
    }
  }
  std::vector<double> p_mem(tokens);
  decoder.memory_distribution(key, p_mem);
  for (uint32_t t = 0; t < tokens; ++t)
    CHECK(p_mem[t] == Approx(expected[t]).epsilon(1e-5));  // FAISS distances are float
  CHECK(decoder.row_probability(d[0].second, 3, 0.5) ==
        Approx((arm.counts[d[0].second * tokens + 3] + 0.5) /
               (decoder.row_total(d[0].second) + 0.5 * tokens)));
}

TEST_CASE("memory decoder refuses bad shapes", "[memory_decoder]") {
  const Memory m = small_memory();
  MemoryArm arm = m.arm("ldp_project");
  arm.counts.pop_back();
  CHECK_THROWS_WITH(MemoryDecoder(m.codebook(), arm, m.tokens()),
                    Catch::Contains("has 32 counts, but 3 rows x 11 tokens need 33"));
  const MemoryDecoder decoder(m.codebook(), m.arm("ldp_project"), m.tokens());
  CHECK_THROWS_WITH(decoder.search(std::vector<float>(6), 1), Catch::Contains("6 floats"));
  CHECK_THROWS_WITH(decoder.search(std::vector<float>(4), 4),
                    Catch::Contains("k must be in [1, 3]"));
  std::vector<double> p(m.tokens()), short_lm(3);
  CHECK_THROWS_WITH(decoder.distribution(std::vector<float>(4), short_lm, p),
                    Catch::Contains("p_lm needs 11 entries"));
}

}  // namespace
}  // namespace residue
