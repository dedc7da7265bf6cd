// The validity checks of rns/moduli.h: coverage, exact column rank, validate_moduli.
#include <numeric>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "crt.h"
#include "residue/core/error.h"
#include "residue/rns/moduli.h"

namespace residue {
namespace {

std::string join(std::span<const uint32_t> moduli) {
  std::string s = "{";
  for (size_t j = 0; j < moduli.size(); ++j) {
    if (j > 0) s += ", ";
    s += std::to_string(moduli[j]);
  }
  return s + "}";
}

// Every divisor d of m with Euler's phi(d), built from m's factorization (phi is
// multiplicative, phi(p^e) = p^(e-1) (p - 1)). REQUIRES: m >= 1.
std::vector<std::pair<uint32_t, uint32_t>> divisors_with_phi(uint32_t m) {
  std::vector<std::pair<uint32_t, uint32_t>> divisors = {{1, 1}};
  auto multiply_in = [&divisors](uint32_t p, uint32_t exponent) {
    const size_t base = divisors.size();
    for (size_t i = 0; i < base; ++i) {
      uint32_t d = divisors[i].first;
      uint32_t phi = divisors[i].second * (p - 1);
      for (uint32_t e = 1; e <= exponent; ++e) {
        d *= p;
        divisors.emplace_back(d, phi);
        phi *= p;
      }
    }
  };
  for (uint32_t p = 2; static_cast<uint64_t>(p) * p <= m; ++p) {
    uint32_t exponent = 0;
    for (; m % p == 0; m /= p) ++exponent;
    if (exponent > 0) multiply_in(p, exponent);
  }
  if (m > 1) multiply_in(m, 1);
  return divisors;
}

}  // namespace

bool covers_domain(uint32_t k, std::span<const uint32_t> moduli) {
  return moduli_product(moduli) >= k;
}

bool has_full_column_rank(uint32_t k, std::span<const uint32_t> moduli) {
  for (size_t j = 0; j < moduli.size(); ++j) {
    if (moduli[j] == 0) {
      throw Error("modulus 0 at index " + std::to_string(j) + " has no residue classes.");
    }
  }
  // Block j sums z over the classes mod m_j, which are the coefficients of
  // z(t) = sum_x z_x t^x reduced mod t^{m_j} - 1. So A z = 0 iff every t^{m_j} - 1, hence
  // their lcm L, divides z(t). As t^m - 1 is the product of the cyclotomic Phi_d over d | m,
  // deg L is the sum of phi(d) over the distinct divisors of all moduli, and the multiples
  // of L below degree k span k - deg L dimensions: rank A = min(k, deg L).
  std::unordered_set<uint32_t> seen;
  uint64_t degree = 0;
  for (uint32_t m : moduli) {
    for (const auto& [d, phi] : divisors_with_phi(m)) {
      if (seen.insert(d).second) degree += phi;
    }
    if (degree >= k) return true;
  }
  return degree >= k;
}

void validate_moduli(uint32_t k, std::span<const uint32_t> moduli) {
  if (moduli.empty()) throw Error("the moduli set is empty: MSS needs at least one modulus.");
  for (size_t j = 0; j < moduli.size(); ++j) {
    if (moduli[j] < 2) {
      throw Error("modulus " + std::to_string(moduli[j]) + " at index " + std::to_string(j) +
                  " must be at least 2.");
    }
  }
  for (size_t i = 0; i < moduli.size(); ++i) {
    for (size_t j = i + 1; j < moduli.size(); ++j) {
      const uint32_t g = std::gcd(moduli[i], moduli[j]);
      if (g != 1) {
        throw Error("moduli " + std::to_string(moduli[i]) + " and " + std::to_string(moduli[j]) +
                    " share the factor " + std::to_string(g) + ".");
      }
    }
  }
  const BigInt product = moduli_product(moduli);
  if (product < k) {
    throw Error("product of moduli " + product.str() + " does not cover k = " + std::to_string(k) +
                ".");
  }
  if (!has_full_column_rank(k, moduli)) {
    throw Error("moduli " + join(moduli) + " do not identify all " + std::to_string(k) +
                " values: the residue matrix has rank < k.");
  }
}

}  // namespace residue
