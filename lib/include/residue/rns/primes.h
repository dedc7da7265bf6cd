// Primes for moduli selection: deterministic primality and prime ranges.
//
//   std::vector<uint32_t> p = primes_between(512, 1024);   // 521, 523, ..., 1021
#pragma once

#include <cstdint>
#include <vector>

namespace residue {

/// Deterministic for all 64-bit n (Miller-Rabin with a fixed witness set).
bool is_prime(uint64_t n);

/// All primes p with lo <= p < hi, ascending (segmented sieve; O(hi - lo) memory).
std::vector<uint32_t> primes_between(uint32_t lo, uint32_t hi);

}  // namespace residue
