// is_prime and primes_between: trial division on small ranges, known large primes and
// composites (Carmichael numbers, strong pseudoprimes, Mersenne primes), sieve edge cases.
#include "residue/rns/primes.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

namespace residue {
namespace {

bool trial_division_prime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

TEST_CASE("is prime agrees with trial division below 100000", "[primes]") {
  for (uint64_t n = 0; n < 100000; ++n) {
    INFO("n = " << n);
    REQUIRE(is_prime(n) == trial_division_prime(n));
  }
}

TEST_CASE("is prime agrees with trial division just below 2^32 and above 10^12", "[primes]") {
  for (uint64_t n = (uint64_t{1} << 32) - 2000; n < (uint64_t{1} << 32) + 2000; ++n) {
    INFO("n = " << n);
    REQUIRE(is_prime(n) == trial_division_prime(n));
  }
  for (uint64_t n = 1'000'000'000'000; n < 1'000'000'000'300; ++n) {
    INFO("n = " << n);
    REQUIRE(is_prime(n) == trial_division_prime(n));
  }
}

TEST_CASE("is prime rejects Carmichael numbers and strong pseudoprimes", "[primes]") {
  // Carmichael numbers fool the Fermat test for every coprime base.
  for (uint64_t n : {561u, 1105u, 1729u, 2465u, 2821u, 6601u, 8911u, 41041u, 825265u}) {
    INFO("n = " << n);
    REQUIRE_FALSE(is_prime(n));
  }
  // Strong pseudoprimes to the bases 2..11, 2..13, 2..19 and 2..31; the last passes every witness
  // but 37, so it fails if the witness set is cut short.
  for (uint64_t n : {uint64_t{2152302898747}, uint64_t{3474749660383}, uint64_t{341550071728321},
                     uint64_t{3825123056546413051}}) {
    INFO("n = " << n);
    REQUIRE_FALSE(is_prime(n));
  }
}

TEST_CASE("is prime accepts Mersenne primes and rejects their neighbours", "[primes]") {
  const uint64_t m61 = (uint64_t{1} << 61) - 1;
  REQUIRE(is_prime(m61));
  REQUIRE(is_prime((uint64_t{1} << 31) - 1));
  REQUIRE_FALSE(is_prime(m61 + 2));
  REQUIRE_FALSE(is_prime(m61 - 2));
  REQUIRE_FALSE(is_prime((uint64_t{1} << 59) - 1));  // 179951 * 3203431780337
}

TEST_CASE("is prime handles the top of the 64-bit range", "[primes]") {
  REQUIRE(is_prime(18446744073709551557u));  // the largest prime below 2^64
  REQUIRE_FALSE(is_prime(18446744073709551615u));
  REQUIRE_FALSE(is_prime(18446744073709551557u + 2));
  // A product of two primes near 2^32: no small factor, so only Miller-Rabin can reject it.
  REQUIRE_FALSE(is_prime(uint64_t{4294967291} * 4294967279u));
}

TEST_CASE("primes between matches trial division on small ranges", "[primes]") {
  for (uint32_t lo : {0u, 1u, 2u, 3u, 10u, 97u, 1000u}) {
    for (uint32_t hi : {0u, 2u, 3u, 4u, 11u, 98u, 1024u, 5000u}) {
      std::vector<uint32_t> expected;
      for (uint32_t n = lo; n < hi; ++n) {
        if (trial_division_prime(n)) expected.push_back(n);
      }
      INFO("lo = " << lo << ", hi = " << hi);
      REQUIRE(primes_between(lo, hi) == expected);
    }
  }
}

TEST_CASE("primes between crosses sieve segments and reaches the top of uint32", "[primes]") {
  // 32768-number segments: this range spans several of them.
  const std::vector<uint32_t> mid = primes_between(1'000'000, 1'200'000);
  std::vector<uint32_t> expected;
  for (uint32_t n = 1'000'000; n < 1'200'000; ++n) {
    if (is_prime(n)) expected.push_back(n);
  }
  REQUIRE(mid == expected);

  const std::vector<uint32_t> top = primes_between(4294967000u, 4294967295u);
  expected.clear();
  for (uint64_t n = 4294967000u; n < 4294967295u; ++n) {
    if (trial_division_prime(n)) expected.push_back(static_cast<uint32_t>(n));
  }
  REQUIRE(top == expected);
  REQUIRE(top.back() == 4294967291u);
}

TEST_CASE("primes between counts the primes below 10^6", "[primes]") {
  REQUIRE(primes_between(0, 1'000'000).size() == 78498);
  REQUIRE(primes_between(512, 1024).front() == 521);
  REQUIRE(primes_between(512, 1024).back() == 1021);
}

}  // namespace
}  // namespace residue
