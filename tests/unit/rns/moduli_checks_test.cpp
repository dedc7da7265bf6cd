// Moduli validity: coverage, the exact column rank (graph test and dense rank, cross-checked
// against each other and against a closed form) and validate_moduli's messages.
#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <set>
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

uint32_t euler_phi(uint32_t n) {
  uint32_t result = n;
  for (uint32_t p = 2; p * p <= n; ++p) {
    if (n % p != 0) continue;
    while (n % p == 0) n /= p;
    result -= result / p;
  }
  if (n > 1) result -= result / n;
  return result;
}

// Exact rank without any matrix: z is in the null space iff t^m - 1 divides
// z(t) = sum_x z_x t^x for every modulus m (the class sums are the coefficients of z mod
// t^m - 1), i.e. iff lcm_j (t^{m_j} - 1) = prod of the cyclotomic Phi_d over all divisors d of
// the moduli divides z. So rank = min(k, sum of phi(d) over those divisors).
uint32_t closed_form_rank(uint32_t k, const std::vector<uint32_t>& moduli) {
  std::set<uint32_t> divisors;
  for (uint32_t m : moduli) {
    for (uint32_t d = 1; d <= m; ++d) {
      if (m % d == 0) divisors.insert(d);
    }
  }
  uint64_t degree = 0;
  for (uint32_t d : divisors) degree += euler_phi(d);
  return static_cast<uint32_t>(std::min<uint64_t>(k, degree));
}

// Rank of the stacked 0/1 matrix by SVD, independent of the library's QR. Singular values of
// these matrices that are not zero stay above 1e-6 of the largest up to k = 600 (measured),
// rounding leaves the others below 1e-14, so 1e-9 sits well inside the gap.
Eigen::Index svd_rank(uint32_t k, const std::vector<uint32_t>& moduli) {
  Eigen::Index rows = 0;
  for (uint32_t m : moduli) rows += std::min(m, k);
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(rows, k);
  Eigen::Index top = 0;
  for (uint32_t m : moduli) {
    for (uint32_t x = 0; x < k; ++x) a(top + x % m, x) = 1;
    top += std::min(m, k);
  }
  Eigen::BDCSVD<Eigen::MatrixXd> svd(a);
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

TEST_CASE("column rank matches the worked examples of the protocol notes", "[moduli]") {
  // protocols.md 8.1 and 11.1 item 11.
  REQUIRE(has_full_column_rank(6, std::vector<uint32_t>{3, 4}));
  REQUIRE(has_full_column_rank(10, std::vector<uint32_t>{3, 4, 5}));
  REQUIRE(has_full_column_rank(64, std::vector<uint32_t>{53, 59, 61}));
  REQUIRE_FALSE(has_full_column_rank(6, std::vector<uint32_t>{2, 3}));
  REQUIRE_FALSE(has_full_column_rank(10, std::vector<uint32_t>{2, 3, 5}));
  REQUIRE_FALSE(has_full_column_rank(12, std::vector<uint32_t>{5, 7}));  // although 35 >= 12

  // The closed form and the SVD give the exact deficient ranks quoted there.
  REQUIRE(closed_form_rank(6, {2, 3}) == 4);
  REQUIRE(closed_form_rank(10, {2, 3, 5}) == 8);
  REQUIRE(closed_form_rank(12, {5, 7}) == 11);
  REQUIRE(svd_rank(6, {2, 3}) == 4);
  REQUIRE(svd_rank(10, {2, 3, 5}) == 8);
  REQUIRE(svd_rank(12, {5, 7}) == 11);
}

TEST_CASE("column rank of moduli above k/2 follows the pair graph", "[moduli]") {
  // One modulus m < k: every pair class {x, x + m} is its own bipartite component.
  REQUIRE_FALSE(has_full_column_rank(10, std::vector<uint32_t>{7}));
  REQUIRE_FALSE(has_full_column_rank(10, std::vector<uint32_t>{7, 7, 7}));
  // Two distinct moduli above k/2 always suffice: each component reaches a singleton.
  REQUIRE(has_full_column_rank(10, std::vector<uint32_t>{6, 7}));
  // A modulus >= k makes every class a singleton.
  REQUIRE(has_full_column_rank(10, std::vector<uint32_t>{10}));
  REQUIRE(has_full_column_rank(10, std::vector<uint32_t>{7, 1000}));
  // No rows at all.
  REQUIRE_FALSE(has_full_column_rank(3, std::vector<uint32_t>{}));
}

TEST_CASE("column rank of moduli above k/2 agrees with the dense rank", "[moduli]") {
  // Random sets with moduli in (k/2, k + 4], repeats allowed. The closed form shows that
  // above k/2 a set is deficient only when it has a single distinct modulus below k, so one
  // set in four is drawn that way to give the search deficient cases to find.
  std::mt19937 gen(11);
  int full = 0;
  int deficient = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const uint32_t k = 2 + draw(gen, 299);
    const uint32_t lo = k / 2 + 1;
    std::vector<uint32_t> moduli;
    const bool single = trial % 4 == 0;
    const uint32_t count = 1 + draw(gen, 4);
    for (uint32_t j = 0; j < count; ++j) {
      moduli.push_back(single && j > 0 ? moduli[0] : lo + draw(gen, k + 5 - lo));
    }
    const bool graph = has_full_column_rank(k, moduli);
    const Eigen::Index dense = svd_rank(k, moduli);
    INFO("k = " << k << ", moduli " << Catch::Detail::stringify(moduli));
    REQUIRE(graph == (dense == k));
    REQUIRE(dense == closed_form_rank(k, moduli));
    (graph ? full : deficient) += 1;
  }
  REQUIRE(full >= 100);
  REQUIRE(deficient >= 20);
}

TEST_CASE("dense column rank agrees with the closed form", "[moduli]") {
  // Random sets with at least one modulus <= k/2 (so the library takes its dense path),
  // including coprime sets placed exactly on the boundary sum(m_j) - l + 1 = k and one past.
  std::mt19937 gen(5);
  int full = 0;
  int deficient = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const uint32_t k = 4 + draw(gen, 197);
    std::vector<uint32_t> moduli = {1 + draw(gen, k / 2)};
    const uint32_t count = draw(gen, 5);
    for (uint32_t j = 0; j < count; ++j) moduli.push_back(1 + draw(gen, k + 3));
    const bool full_rank = has_full_column_rank(k, moduli);
    INFO("k = " << k << ", moduli " << Catch::Detail::stringify(moduli));
    REQUIRE(full_rank == (closed_form_rank(k, moduli) == k));
    (full_rank ? full : deficient) += 1;
  }
  REQUIRE(full >= 20);
  REQUIRE(deficient >= 20);

  for (const std::vector<uint32_t>& moduli :
       {std::vector<uint32_t>{31, 32, 33, 35}, std::vector<uint32_t>{97, 101, 103, 107, 109},
        std::vector<uint32_t>{199, 200, 201, 203, 209, 211}}) {
    uint32_t boundary = 1;
    for (uint32_t m : moduli) boundary += m - 1;
    INFO("moduli " << Catch::Detail::stringify(moduli) << ", boundary k = " << boundary);
    REQUIRE(has_full_column_rank(boundary, moduli));
    REQUIRE_FALSE(has_full_column_rank(boundary + 1, moduli));
  }
}

TEST_CASE("dense column rank compresses many moduli without losing rank", "[moduli]") {
  // 40 moduli near 60 stack about 2400 rows on k = 400 columns, forcing compressions.
  std::vector<uint32_t> moduli;
  for (uint32_t m = 40; moduli.size() < 40; ++m) moduli.push_back(m);
  REQUIRE(has_full_column_rank(400, moduli) == (closed_form_rank(400, moduli) == 400));
  const std::vector<uint32_t> repeated(40, 199);  // rank 199 however often it is repeated
  REQUIRE_FALSE(has_full_column_rank(400, repeated));
  std::vector<uint32_t> plus_one = repeated;
  plus_one.push_back(202);  // 199 + 202 - 1 = 400
  REQUIRE(has_full_column_rank(400, plus_one));
}

TEST_CASE("column rank refuses large domains with a modulus at most k/2", "[moduli]") {
  REQUIRE_THROWS_MATCHES(has_full_column_rank(10000, std::vector<uint32_t>{1000, 9973}), Error,
                         Message("exact rank check needs every modulus above k/2 when k > "
                                 "4096, but modulus 1000 <= 5000"));
  REQUIRE_THROWS_AS(has_full_column_rank(5, std::vector<uint32_t>{0, 7}), Error);
  // Above k/2 the graph test takes any k.
  REQUIRE(has_full_column_rank(100000, std::vector<uint32_t>{50021, 50023}));
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
}

}  // namespace
}  // namespace residue
