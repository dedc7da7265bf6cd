// Moduli validity: coverage, the exact column rank (cross-checked against a pair-graph test
// and a dense SVD rank) and validate_moduli's messages.
#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <vector>

#include "residue/core/error.h"
#include "residue/rns/moduli.h"

namespace residue {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::Message;

// Uniform in [0, n) (the slight modulo bias is irrelevant for drawing test cases).
uint32_t draw(std::mt19937& gen, uint32_t n) {
  return static_cast<uint32_t>(gen() % n);
}

// Independent exact oracle for moduli all above k/2, where every residue class in [0, k) is a
// singleton {x} (forcing z_x = 0 in the null space) or a pair {x, x + m} (forcing
// z_x = -z_{x+m}). A component of the pair graph carries a null vector (+-1 by colour) iff it
// is bipartite and holds no singleton. REQUIRES: 2 m > k for every modulus.
bool pair_graph_full_rank(uint32_t k, const std::vector<uint32_t>& moduli) {
  std::vector<int> colour(k, -1);
  for (uint32_t root = 0; root < k; ++root) {
    if (colour[root] >= 0) continue;
    colour[root] = 0;
    std::vector<uint32_t> stack = {root};
    bool bipartite = true;
    bool has_singleton = false;
    while (!stack.empty()) {
      const uint32_t x = stack.back();
      stack.pop_back();
      for (uint32_t m : moduli) {
        if (x < m && x + uint64_t{m} >= k) has_singleton = true;
        for (uint64_t y : {x >= m ? uint64_t{x} - m : uint64_t{k}, uint64_t{x} + m}) {
          if (y >= k) continue;
          if (colour[y] < 0) {
            colour[y] = 1 - colour[x];
            stack.push_back(static_cast<uint32_t>(y));
          } else if (colour[y] == colour[x]) {
            bipartite = false;
          }
        }
      }
    }
    if (bipartite && !has_singleton) return false;
  }
  return true;
}

// Rank of the stacked 0/1 matrix by Jacobi SVD. On the random sets below the nonzero singular
// values stay above 1e-3 of the largest and the zero ones below 2e-16 (measured), so 1e-9 sits
// well inside the gap. Not so near sum_j (m_j - 1) + 1 = k: there the smallest nonzero value
// falls to 4e-12 of the largest at k = 513 and below rounding at k = 1218, which is why the
// library computes the rank in closed form. (Eigen 3.4's BDCSVD is unfit as an oracle: on
// {96, 96}, k = 177 it reports a spurious singular value of 0.025.)
Eigen::Index svd_rank(uint32_t k, const std::vector<uint32_t>& moduli) {
  Eigen::Index rows = 0;
  for (uint32_t m : moduli) rows += std::min(m, k);
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(rows, k);
  Eigen::Index top = 0;
  for (uint32_t m : moduli) {
    for (uint32_t x = 0; x < k; ++x) a(top + x % m, x) = 1;
    top += std::min(m, k);
  }
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(a);
  svd.setThreshold(1e-9);
  return svd.rank();
}

TEST_CASE("covers domain compares the product of the moduli with k", "[moduli]") {
  REQUIRE(covers_domain(35, std::vector<uint32_t>{5, 7}));
  REQUIRE_FALSE(covers_domain(36, std::vector<uint32_t>{5, 7}));
  REQUIRE(covers_domain(1, std::vector<uint32_t>{}));
  REQUIRE_FALSE(covers_domain(2, std::vector<uint32_t>{}));
  // The product overflows 64 bits.
  REQUIRE(covers_domain(4294967295u, std::vector<uint32_t>(5, 4294967291u)));
}

TEST_CASE("column rank is full or deficient as in the worked examples", "[moduli]") {
  // docs/protocols/mss.md, "Reference values".
  REQUIRE(has_full_column_rank(6, std::vector<uint32_t>{3, 4}));
  REQUIRE(has_full_column_rank(10, std::vector<uint32_t>{3, 4, 5}));
  REQUIRE(has_full_column_rank(64, std::vector<uint32_t>{53, 59, 61}));
  REQUIRE_FALSE(has_full_column_rank(6, std::vector<uint32_t>{2, 3}));
  REQUIRE_FALSE(has_full_column_rank(10, std::vector<uint32_t>{2, 3, 5}));
  REQUIRE_FALSE(has_full_column_rank(12, std::vector<uint32_t>{5, 7}));  // although 35 >= 12

  // The deficient ranks quoted there, by SVD.
  REQUIRE(svd_rank(6, {2, 3}) == 4);
  REQUIRE(svd_rank(10, {2, 3, 5}) == 8);
  REQUIRE(svd_rank(12, {5, 7}) == 11);
  REQUIRE(svd_rank(64, {53, 59, 61}) == 64);
}

TEST_CASE("column rank of moduli above k/2 follows the pair graph", "[moduli]") {
  // One modulus m < k: every pair class {x, x + m} is its own bipartite component.
  REQUIRE_FALSE(has_full_column_rank(10, std::vector<uint32_t>{7}));
  REQUIRE_FALSE(has_full_column_rank(10, std::vector<uint32_t>{7, 7, 7}));
  // Two distinct moduli above k/2 always suffice: deg lcm(t^a - 1, t^b - 1) >= 2 min(a, b).
  REQUIRE(has_full_column_rank(10, std::vector<uint32_t>{6, 7}));
  REQUIRE(has_full_column_rank(12, std::vector<uint32_t>{8, 12}));
  // A modulus >= k makes every class a singleton.
  REQUIRE(has_full_column_rank(10, std::vector<uint32_t>{10}));
  REQUIRE(has_full_column_rank(10, std::vector<uint32_t>{7, 1000}));
  // No rows at all.
  REQUIRE_FALSE(has_full_column_rank(3, std::vector<uint32_t>{}));
  REQUIRE(has_full_column_rank(0, std::vector<uint32_t>{}));
}

TEST_CASE("column rank of moduli above k/2 agrees with the pair graph and the SVD", "[moduli]") {
  // Random sets with moduli in (k/2, k + 4], repeats allowed. Above k/2 a set is deficient
  // only when it has one distinct modulus below k, so one set in four repeats its first
  // modulus to give the search deficient cases to find.
  std::mt19937 gen(11);
  int full = 0;
  int deficient = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const uint32_t k = 2 + draw(gen, 299);
    const uint32_t lo = k / 2 + 1;
    std::vector<uint32_t> moduli;
    const uint32_t count = 1 + draw(gen, 4);
    for (uint32_t j = 0; j < count; ++j) {
      moduli.push_back(trial % 4 == 0 && j > 0 ? moduli[0] : lo + draw(gen, k + 5 - lo));
    }
    const bool full_rank = has_full_column_rank(k, moduli);
    INFO("k = " << k << ", moduli " << Catch::Detail::stringify(moduli));
    REQUIRE(full_rank == pair_graph_full_rank(k, moduli));
    REQUIRE(full_rank == (svd_rank(k, moduli) == k));
    (full_rank ? full : deficient) += 1;
  }
  REQUIRE(full >= 50);
  REQUIRE(deficient >= 10);
}

TEST_CASE("column rank agrees with the pair graph on large domains", "[moduli]") {
  std::mt19937 gen(3);
  int deficient = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const uint32_t k = 1000 + draw(gen, 200000);
    const uint32_t lo = k / 2 + 1;
    std::vector<uint32_t> moduli = {lo + draw(gen, k - lo)};
    if (trial % 4 != 0) moduli.push_back(lo + draw(gen, k - lo));
    const bool full_rank = has_full_column_rank(k, moduli);
    INFO("k = " << k << ", moduli " << Catch::Detail::stringify(moduli));
    REQUIRE(full_rank == pair_graph_full_rank(k, moduli));
    deficient += full_rank ? 0 : 1;
  }
  REQUIRE(deficient >= 10);
}

TEST_CASE("column rank with small moduli agrees with the SVD", "[moduli]") {
  // Random sets with at least one modulus <= k/2, repeats and common factors allowed.
  std::mt19937 gen(5);
  int full = 0;
  int deficient = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const uint32_t k = 4 + draw(gen, 117);
    std::vector<uint32_t> moduli = {1 + draw(gen, k / 2)};
    const uint32_t count = draw(gen, 5);
    for (uint32_t j = 0; j < count; ++j) moduli.push_back(1 + draw(gen, k + 3));
    const bool full_rank = has_full_column_rank(k, moduli);
    INFO("k = " << k << ", moduli " << Catch::Detail::stringify(moduli));
    REQUIRE(full_rank == (svd_rank(k, moduli) == k));
    (full_rank ? full : deficient) += 1;
  }
  REQUIRE(full >= 20);
  REQUIRE(deficient >= 20);
}

TEST_CASE("column rank of coprime moduli is full exactly up to sum (m_j - 1) + 1", "[moduli]") {
  for (const std::vector<uint32_t>& moduli :
       {std::vector<uint32_t>{31, 32, 33, 35}, std::vector<uint32_t>{97, 101, 103, 107, 109},
        std::vector<uint32_t>{199, 200, 201, 203, 209, 211}, std::vector<uint32_t>{65536, 65537}}) {
    uint32_t boundary = 1;
    for (uint32_t m : moduli) boundary += m - 1;
    INFO("moduli " << Catch::Detail::stringify(moduli) << ", boundary k = " << boundary);
    REQUIRE(has_full_column_rank(boundary, moduli));
    REQUIRE_FALSE(has_full_column_rank(boundary + 1, moduli));
  }
  // Small enough to stay well conditioned at the boundary: the SVD agrees.
  REQUIRE(svd_rank(128, {31, 32, 33, 35}) == 128);
  REQUIRE(svd_rank(129, {31, 32, 33, 35}) == 128);
}

TEST_CASE("column rank counts shared divisors once", "[moduli]") {
  // {4, 6}: divisors {1, 2, 3, 4, 6}, phi sum 1 + 1 + 2 + 2 + 2 = 8 (not 4 + 6 - 1 = 9).
  REQUIRE(has_full_column_rank(8, std::vector<uint32_t>{4, 6}));
  REQUIRE_FALSE(has_full_column_rank(9, std::vector<uint32_t>{4, 6}));
  REQUIRE(svd_rank(9, {4, 6}) == 8);
  // A modulus dividing another adds nothing.
  REQUIRE_FALSE(has_full_column_rank(13, std::vector<uint32_t>{12, 2, 3, 4, 6}));
  REQUIRE(svd_rank(13, {12, 2, 3, 4, 6}) == 12);
}

TEST_CASE("column rank rejects a modulus of zero", "[moduli]") {
  REQUIRE_THROWS_MATCHES(has_full_column_rank(5, std::vector<uint32_t>{7, 0}), Error,
                         Message("modulus 0 at index 1 has no residue classes."));
}

TEST_CASE("validate moduli names the offending modulus or pair", "[moduli]") {
  REQUIRE_THROWS_WITH(validate_moduli(10, std::vector<uint32_t>{}), Contains("empty"));
  REQUIRE_THROWS_MATCHES(validate_moduli(10, std::vector<uint32_t>{5, 1}), Error,
                         Message("modulus 1 at index 1 must be at least 2."));
  REQUIRE_THROWS_MATCHES(validate_moduli(10, std::vector<uint32_t>{5, 6, 9}), Error,
                         Message("moduli 6 and 9 share the factor 3."));
  REQUIRE_THROWS_MATCHES(validate_moduli(40, std::vector<uint32_t>{5, 7}), Error,
                         Message("product of moduli 35 does not cover k = 40."));
  REQUIRE_THROWS_MATCHES(validate_moduli(12, std::vector<uint32_t>{5, 7}), Error,
                         Message("moduli {5, 7} do not identify all 12 values: the residue "
                                 "matrix has rank < k."));
}

TEST_CASE("validate moduli accepts valid sets", "[moduli]") {
  REQUIRE_NOTHROW(validate_moduli(64, std::vector<uint32_t>{53, 59, 61}));
  REQUIRE_NOTHROW(validate_moduli(10, std::vector<uint32_t>{3, 4, 5}));
  REQUIRE_NOTHROW(validate_moduli(6, std::vector<uint32_t>{3, 4}));
  REQUIRE_NOTHROW(validate_moduli(1 << 20, std::vector<uint32_t>{524309, 524341, 524347}));
  // Small moduli on a large domain: exact, with no dense matrix.
  REQUIRE_NOTHROW(validate_moduli(10000, std::vector<uint32_t>{1000, 9973}));
}

}  // namespace
}  // namespace residue
