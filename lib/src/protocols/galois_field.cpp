#include "protocols/galois_field.h"

#include <algorithm>
#include <array>

#include "residue/core/error.h"
#include "residue/rns/primes.h"

namespace residue {
namespace {

// Prime powers that are not primes are supported up to this order: their arithmetic is
// tables of g^2 bytes.
constexpr uint32_t kMaxTableField = 256;

using Polynomial = std::vector<uint32_t>;  // coefficients over GF(p), lowest first

Polynomial digits(uint32_t x, uint32_t p, uint32_t count) {
  Polynomial out(count);
  for (uint32_t i = 0; i < count; ++i, x /= p) out[i] = x % p;
  return out;
}

// True if the monic `divisor` divides `a` over GF(p).
bool divides(const Polynomial& divisor, Polynomial a, uint32_t p) {
  const std::size_t t = divisor.size() - 1;
  for (std::size_t deg = a.size() - 1; deg >= t; --deg) {
    const uint32_t c = a[deg];
    if (c != 0) {
      for (std::size_t i = 0; i <= t; ++i)
        a[deg - t + i] = (a[deg - t + i] + (p - c) * divisor[i]) % p;
    }
    if (deg == t) break;
  }
  return std::all_of(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(t),
                     [](uint32_t c) { return c == 0; });
}

bool irreducible(const Polynomial& m, uint32_t p) {
  const uint32_t e = static_cast<uint32_t>(m.size()) - 1;
  uint32_t count = 1;  // p^t monic polynomials of degree t
  for (uint32_t t = 1; 2 * t <= e; ++t) {
    count *= p;
    for (uint32_t r = 0; r < count; ++r) {
      Polynomial f = digits(r, p, t);
      f.push_back(1);
      if (divides(f, m, p)) return false;
    }
  }
  return true;
}

Polynomial first_irreducible(uint32_t p, uint32_t e) {
  uint32_t count = 1;
  for (uint32_t i = 0; i < e; ++i) count *= p;
  for (uint32_t r = 0;; ++r) {  // terminates: GF(p^e) exists
    Polynomial m = digits(r, p, e);
    m.push_back(1);
    if (irreducible(m, p)) return m;
    if (r + 1 == count) throw Error("olh: no irreducible polynomial found (a bug).");
  }
}

}  // namespace

bool supported_field_order(uint64_t g) {
  if (g < 2) return false;
  if (is_prime(g)) return true;
  if (g > kMaxTableField) return false;
  uint64_t p = 2;
  while (g % p != 0) ++p;
  while (g % p == 0) g /= p;
  return g == 1;
}

GaloisField::GaloisField(uint32_t order) : order_(order) {
  if (is_prime(order)) {
    kind_ = Kind::kPrime;
    characteristic_ = order;
    return;
  }
  uint32_t p = 2;
  while (order % p != 0) ++p;
  characteristic_ = p;
  degree_ = 0;
  for (uint32_t rest = order; rest > 1; rest /= p) ++degree_;
  kind_ = p == 2 ? Kind::kBinary : Kind::kTable;
  polynomial_ = first_irreducible(p, degree_);
  // Products through the powers of a generator of the multiplicative group: g slow
  // products per candidate instead of g^2 (the table is the same for any generator).
  std::vector<uint32_t> power, log(order, 0);
  for (uint32_t alpha = 2; power.size() != order - 1; ++alpha) {
    power.assign(1, 1);
    for (uint32_t x = slow_multiply(1, alpha); x != 1; x = slow_multiply(x, alpha))
      power.push_back(x);
  }
  for (uint32_t i = 0; i < order - 1; ++i) log[power[i]] = i;
  if (kind_ == Kind::kTable) add_.resize(std::size_t{order} * order);  // binary adds by XOR
  mul_.assign(std::size_t{order} * order, 0);
  for (uint32_t a = 0; a < order; ++a) {
    for (uint32_t b = 0; b < order; ++b) {
      if (kind_ == Kind::kTable)
        add_[std::size_t{a} * order + b] = static_cast<uint8_t>(slow_add(a, b));
      if (a != 0 && b != 0) {
        mul_[std::size_t{a} * order + b] =
            static_cast<uint8_t>(power[(log[a] + log[b]) % (order - 1)]);
      }
    }
  }
}

uint32_t GaloisField::slow_add(uint32_t a, uint32_t b) const {
  const uint32_t p = characteristic_;
  uint32_t out = 0, place = 1;
  for (uint32_t i = 0; i < degree_; ++i, a /= p, b /= p, place *= p)
    out += (a % p + b % p) % p * place;
  return out;
}

uint32_t GaloisField::slow_multiply(uint32_t a, uint32_t b) const {
  const uint32_t p = characteristic_, e = degree_;
  std::array<uint32_t, 8> da{}, db{};  // e <= 8 since g <= 256
  for (uint32_t i = 0; i < e; ++i, a /= p, b /= p) {
    da[i] = a % p;
    db[i] = b % p;
  }
  std::array<uint32_t, 2 * 8> product{};
  for (uint32_t i = 0; i < e; ++i)
    for (uint32_t j = 0; j < e; ++j) product[i + j] = (product[i + j] + da[i] * db[j]) % p;
  // x^e = -(m_0 + ... + m_{e-1} x^{e-1}): fold the high coefficients down.
  for (uint32_t deg = 2 * e - 2; deg >= e; --deg) {
    const uint32_t c = product[deg];
    product[deg] = 0;
    for (uint32_t i = 0; i < e; ++i)
      product[deg - e + i] = (product[deg - e + i] + (p - c) * polynomial_[i]) % p;
  }
  uint32_t out = 0, place = 1;
  for (uint32_t i = 0; i < e; ++i, place *= p) out += product[i] * place;
  return out;
}

}  // namespace residue
