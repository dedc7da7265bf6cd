#include "crt.h"

#include <numeric>
#include <string>
#include <utility>

#include "residue/core/error.h"

namespace residue {
namespace {

// The inverse of a modulo m by the extended Euclidean algorithm. REQUIRES: gcd(a, m) = 1.
uint64_t inverse_mod(uint64_t a, uint64_t m) {
  int64_t old_r = static_cast<int64_t>(a % m), r = static_cast<int64_t>(m);
  int64_t old_s = 1, s = 0;
  while (r != 0) {
    const int64_t q = old_r / r;
    old_r -= q * r;
    std::swap(old_r, r);
    old_s -= q * s;
    std::swap(old_s, s);
  }
  const int64_t mi = static_cast<int64_t>(m);
  return static_cast<uint64_t>(((old_s % mi) + mi) % mi);
}

}  // namespace

bool pairwise_coprime(std::span<const uint32_t> moduli) {
  for (size_t i = 0; i < moduli.size(); ++i) {
    for (size_t j = i + 1; j < moduli.size(); ++j) {
      if (std::gcd(moduli[i], moduli[j]) != 1) return false;
    }
  }
  return true;
}

BigInt moduli_product(std::span<const uint32_t> moduli) {
  BigInt product = 1;
  for (uint32_t m : moduli) product *= m;
  return product;
}

std::vector<uint32_t> to_residues(const BigInt& x, std::span<const uint32_t> moduli) {
  std::vector<uint32_t> residues;
  residues.reserve(moduli.size());
  for (uint32_t m : moduli) residues.push_back(static_cast<uint32_t>(x % m));
  return residues;
}

BigInt crt_reconstruct(std::span<const uint32_t> residues, std::span<const uint32_t> moduli) {
  if (residues.size() != moduli.size()) {
    throw Error("crt_reconstruct needs one residue per modulus, but has " +
                std::to_string(residues.size()) + " residues for " + std::to_string(moduli.size()) +
                " moduli.");
  }
  for (size_t j = 0; j < moduli.size(); ++j) {
    if (residues[j] >= moduli[j]) {
      throw Error("residue " + std::to_string(residues[j]) + " at index " + std::to_string(j) +
                  " is not below its modulus " + std::to_string(moduli[j]) + ".");
    }
  }
  for (size_t i = 0; i < moduli.size(); ++i) {
    for (size_t j = i + 1; j < moduli.size(); ++j) {
      const uint32_t g = std::gcd(moduli[i], moduli[j]);
      if (g != 1) {
        throw Error("moduli " + std::to_string(moduli[i]) + " (index " + std::to_string(i) +
                    ") and " + std::to_string(moduli[j]) + " (index " + std::to_string(j) +
                    ") share the factor " + std::to_string(g) + ".");
      }
    }
  }

  // Garner: after step j, x is the solution for the first j + 1 moduli and product their
  // product; the next digit t makes x + product * t right modulo m_j as well.
  BigInt x = 0;
  BigInt product = 1;
  for (size_t j = 0; j < moduli.size(); ++j) {
    const uint64_t m = moduli[j];
    const uint64_t x_mod = static_cast<uint64_t>(x % m);
    const uint64_t product_mod = static_cast<uint64_t>(product % m);
    const uint64_t diff = (residues[j] + m - x_mod) % m;
    const uint64_t t = diff * inverse_mod(product_mod, m) % m;
    x += product * t;
    product *= m;
  }
  return x;
}

}  // namespace residue
