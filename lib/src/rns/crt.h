// The residue number system: residues of an integer and Chinese-remainder reconstruction.
//
// Products of many moduli exceed 2^64 quickly (30 primes near 10^4 are ~2^400), so the
// integers here are Boost.Multiprecision cpp_int.
//
//   std::vector<uint32_t> m = {53, 59, 61};
//   auto r = to_residues(BigInt(1000), m);      // {46, 56, 24}
//   BigInt x = crt_reconstruct(r, m);           // 1000
#pragma once

#include <boost/multiprecision/cpp_int.hpp>
#include <cstdint>
#include <span>
#include <vector>

namespace residue {

using BigInt = boost::multiprecision::cpp_int;

/// True if every pair of moduli has gcd 1.
bool pairwise_coprime(std::span<const uint32_t> moduli);

/// The product of the moduli (1 for none).
BigInt moduli_product(std::span<const uint32_t> moduli);

/// x mod m_j for each modulus. REQUIRES: x >= 0, every m_j >= 1.
std::vector<uint32_t> to_residues(const BigInt& x, std::span<const uint32_t> moduli);

/// The unique x in [0, prod m_j) with x = residues[j] (mod m_j) for all j.
/// Throws Error if the sizes differ, a residue is not below its modulus, or the moduli are
/// not pairwise coprime.
BigInt crt_reconstruct(std::span<const uint32_t> residues, std::span<const uint32_t> moduli);

}  // namespace residue
