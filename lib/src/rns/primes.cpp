#include "residue/rns/primes.h"

#include <algorithm>
#include <array>

namespace residue {
namespace {

__extension__ using Uint128 = unsigned __int128;  // __extension__: no -Wpedantic warning

uint64_t mul_mod(uint64_t a, uint64_t b, uint64_t n) {
  return static_cast<uint64_t>(static_cast<Uint128>(a) * b % n);
}

uint64_t pow_mod(uint64_t base, uint64_t exponent, uint64_t n) {
  uint64_t result = 1;
  base %= n;
  while (exponent > 0) {
    if (exponent & 1) result = mul_mod(result, base, n);
    base = mul_mod(base, base, n);
    exponent >>= 1;
  }
  return result;
}

// The first twelve primes as witnesses make Miller-Rabin exact below 3.3e24, so for all of
// uint64_t (Sorenson and Webster, 2015).
constexpr std::array<uint64_t, 12> kWitnesses = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};

// Sieve segments of this many numbers keep the working set in L1/L2 cache.
constexpr uint64_t kSegment = 1 << 15;

// Primes below `limit` by the plain sieve of Eratosthenes.
std::vector<uint32_t> small_primes(uint32_t limit) {
  std::vector<bool> composite(limit, false);
  std::vector<uint32_t> primes;
  for (uint64_t p = 2; p < limit; ++p) {
    if (composite[p]) continue;
    primes.push_back(static_cast<uint32_t>(p));
    for (uint64_t q = p * p; q < limit; q += p) composite[q] = true;
  }
  return primes;
}

}  // namespace

bool is_prime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t p : kWitnesses) {
    if (n % p == 0) return n == p;
  }
  uint64_t d = n - 1;
  int s = 0;
  while ((d & 1) == 0) {
    d >>= 1;
    ++s;
  }
  for (uint64_t a : kWitnesses) {
    uint64_t x = pow_mod(a, d, n);
    if (x == 1 || x == n - 1) continue;
    bool witnessed_composite = true;
    for (int r = 1; r < s && witnessed_composite; ++r) {
      x = mul_mod(x, x, n);
      if (x == n - 1) witnessed_composite = false;
    }
    if (witnessed_composite) return false;
  }
  return true;
}

std::vector<uint32_t> primes_between(uint32_t lo, uint32_t hi) {
  std::vector<uint32_t> result;
  const uint64_t begin = std::max<uint64_t>(lo, 2);
  const uint64_t end = hi;
  if (begin >= end) return result;

  // Every composite below `end` has a prime factor at most sqrt(end - 1) < 2^16.
  uint64_t root = 1;
  while (root * root < end) ++root;
  const std::vector<uint32_t> base = small_primes(static_cast<uint32_t>(root + 1));

  std::vector<bool> composite;
  for (uint64_t start = begin; start < end; start += kSegment) {
    const uint64_t stop = std::min(end, start + kSegment);
    composite.assign(stop - start, false);
    for (uint64_t p : base) {
      if (p * p >= stop) break;
      const uint64_t first = std::max(p * p, (start + p - 1) / p * p);
      for (uint64_t q = first; q < stop; q += p) composite[q - start] = true;
    }
    for (uint64_t n = start; n < stop; ++n) {
      if (!composite[n - start]) result.push_back(static_cast<uint32_t>(n));
    }
  }
  return result;
}

}  // namespace residue
