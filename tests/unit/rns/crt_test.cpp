// Residues and CRT reconstruction: the header example, round trips far above 2^64, the
// helpers, and the errors for mismatched sizes, residues out of range and shared factors.
#include "rns/crt.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <vector>

#include "residue/core/error.h"
#include "residue/rns/primes.h"

namespace residue {
namespace {

using Catch::Matchers::Contains;

TEST_CASE("crt reconstruct inverts to residues on the header example", "[crt]") {
  const std::vector<uint32_t> m = {53, 59, 61};
  const std::vector<uint32_t> r = to_residues(BigInt(1000), m);
  REQUIRE(r == std::vector<uint32_t>{46, 56, 24});
  REQUIRE(crt_reconstruct(r, m) == 1000);
}

TEST_CASE("crt reconstruct round trips every value of a small product", "[crt]") {
  const std::vector<uint32_t> m = {4, 9, 5, 7};  // coprime but not all prime
  for (uint32_t x = 0; x < 4 * 9 * 5 * 7; ++x) {
    REQUIRE(crt_reconstruct(to_residues(BigInt(x), m), m) == x);
  }
}

TEST_CASE("crt reconstruct round trips random values far above 2^64", "[crt]") {
  // 30 primes just above 10^4: their product is about 2^400.
  std::vector<uint32_t> m = primes_between(10'000, 10'400);
  m.resize(30);
  const BigInt product = moduli_product(m);
  REQUIRE(product > BigInt(1) << 390);

  std::mt19937_64 gen(7);
  for (int trial = 0; trial < 200; ++trial) {
    BigInt x = 0;
    for (int word = 0; word < 7; ++word) x = (x << 64) | BigInt(gen());
    x %= product;
    INFO("x = " << x);
    REQUIRE(crt_reconstruct(to_residues(x, m), m) == x);
  }
  const BigInt top = product - 1;
  REQUIRE(crt_reconstruct(to_residues(top, m), m) == top);
  REQUIRE(crt_reconstruct(to_residues(BigInt(0), m), m) == 0);
}

TEST_CASE("crt reconstruct reduces into the range of the product", "[crt]") {
  const std::vector<uint32_t> m = {7, 11, 13};
  REQUIRE(crt_reconstruct(to_residues(BigInt(1001 + 5), m), m) == 5);
}

TEST_CASE("pairwise coprime and moduli product handle the edge cases", "[crt]") {
  REQUIRE(pairwise_coprime(std::vector<uint32_t>{}));
  REQUIRE(pairwise_coprime(std::vector<uint32_t>{1, 1, 7}));
  REQUIRE(pairwise_coprime(std::vector<uint32_t>{8, 9, 25, 49}));
  REQUIRE_FALSE(pairwise_coprime(std::vector<uint32_t>{8, 9, 25, 35}));
  REQUIRE(moduli_product(std::vector<uint32_t>{}) == 1);
  REQUIRE(moduli_product(std::vector<uint32_t>{4294967295u, 4294967295u, 3}) ==
          BigInt("55340232195358851075"));
}

TEST_CASE("crt reconstruct of no moduli is zero", "[crt]") {
  REQUIRE(crt_reconstruct(std::vector<uint32_t>{}, std::vector<uint32_t>{}) == 0);
}

TEST_CASE("crt reconstruct rejects mismatched sizes", "[crt]") {
  REQUIRE_THROWS_MATCHES(
      crt_reconstruct(std::vector<uint32_t>{1, 2}, std::vector<uint32_t>{3, 5, 7}), Error,
      Catch::Matchers::Message("crt_reconstruct needs one residue per modulus, but has 2 "
                               "residues for 3 moduli."));
}

TEST_CASE("crt reconstruct rejects a residue that is not below its modulus", "[crt]") {
  REQUIRE_THROWS_WITH(
      crt_reconstruct(std::vector<uint32_t>{1, 5, 2}, std::vector<uint32_t>{3, 5, 7}),
      Contains("residue 5 at index 1") && Contains("modulus 5"));
}

TEST_CASE("crt reconstruct rejects moduli that share a factor", "[crt]") {
  REQUIRE_THROWS_WITH(
      crt_reconstruct(std::vector<uint32_t>{1, 2, 3}, std::vector<uint32_t>{5, 6, 9}),
      Contains("moduli 6 (index 1) and 9 (index 2) share the factor 3"));
}

}  // namespace
}  // namespace residue
