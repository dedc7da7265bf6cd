// The finite field GF(g) of OLH's hash family (protocols/local_hash.h), on the integers [0, g).
// Internal: not installed.
//
// For a prime g, arithmetic mod g. For g = p^e (e > 1, g <= 256) the base-p digits of an
// element are its coefficients, lowest first, as a polynomial in x modulo the first monic
// irreducible polynomial of degree e, counting polynomials in the order of the integer their
// lower coefficients spell in base p (GF(4): x^2 + x + 1, GF(8): x^3 + x + 1, GF(9): x^2 + 1,
// GF(256): x^8 + x^4 + x^3 + x + 1; docs/protocols/olh.md). Part of the wire contract: the
// buckets clients compute depend on these polynomials.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace residue {

/// True if GF(g) exists and its arithmetic is cheap here: g is a prime, or a prime power up
/// to 256 (whose arithmetic is tables of g^2 bytes).
bool supported_field_order(uint64_t g);

/// Immutable after construction, thread-safe.
class GaloisField {
 public:
  enum class Kind { kPrime, kBinary, kTable };

  /// REQUIRES: supported_field_order(order).
  explicit GaloisField(uint32_t order);

  Kind kind() const { return kind_; }
  uint32_t order() const { return order_; }
  /// kTable: the g x g addition table, row a at a * g.
  const uint8_t* add_table() const { return add_.data(); }

  uint32_t add(uint32_t a, uint32_t b) const {
    switch (kind_) {
      case Kind::kPrime: {
        const uint32_t s = a + b;  // < 2^27: the order is at most 2^26
        return s >= order_ ? s - order_ : s;
      }
      case Kind::kBinary:
        return a ^ b;
      case Kind::kTable:
        break;
    }
    return add_[std::size_t{a} * order_ + b];
  }

  uint32_t multiply(uint32_t a, uint32_t b) const {
    if (kind_ == Kind::kPrime) return static_cast<uint32_t>(uint64_t{a} * b % order_);
    return mul_[std::size_t{a} * order_ + b];
  }

 private:
  uint32_t slow_add(uint32_t a, uint32_t b) const;
  uint32_t slow_multiply(uint32_t a, uint32_t b) const;

  uint32_t order_;
  Kind kind_ = Kind::kPrime;
  uint32_t characteristic_ = 0;
  uint32_t degree_ = 1;
  std::vector<uint32_t> polynomial_;  // the modulus over GF(p), coefficients lowest first
  std::vector<uint8_t> add_, mul_;
};

}  // namespace residue
