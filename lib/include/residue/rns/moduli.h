// Moduli for a residue number system: when a set of moduli identifies every value of [0, k).
//
// A moduli set is valid for a domain [0, k) when the moduli are pairwise coprime, their
// product covers k (CRT), and the stacked residue matrix has full column rank: coverage
// alone is not enough ({5, 7} covers 12 values but has rank 11 on them). Which valid set MSS
// uses is a protocol question, weighed in protocols/mss_moduli.h.
//
//   validate_moduli(12, moduli);   // throws Error naming the offending modulus
#pragma once

#include <cstdint>
#include <span>

namespace residue {

/// True if the product of the moduli is at least k.
bool covers_domain(uint32_t k, std::span<const uint32_t> moduli);

/// True if the residue matrix of `moduli` over [0, k) has full column rank k: every value is
/// identified by its residue-class counts. Exact for every k, in O(sum_j sqrt(m_j)): the rank
/// is min(k, sum of Euler's phi over the distinct divisors of the moduli), which is
/// min(k, 1 + sum_j (m_j - 1)) for pairwise coprime moduli. Throws Error for a modulus of 0.
bool has_full_column_rank(uint32_t k, std::span<const uint32_t> moduli);

/// Throws Error, naming the offending modulus, unless the moduli are valid for [0, k):
/// at least one, each >= 2, pairwise coprime, covering k, full column rank.
void validate_moduli(uint32_t k, std::span<const uint32_t> moduli);

}  // namespace residue
