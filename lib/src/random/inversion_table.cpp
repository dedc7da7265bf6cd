#include "residue/random/inversion_table.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

// floor(x 2^128) for x in [0, 1), exactly: each product by 2^64 and each integer part of a
// double is exact. Sets *exact when x has no bits below 2^-128.
Uint128 fixed_point(double x, bool* exact = nullptr) {
  const double high_scaled = x * 0x1.0p64;
  const auto high = static_cast<uint64_t>(high_scaled);
  const double low_scaled = (high_scaled - static_cast<double>(high)) * 0x1.0p64;
  const auto low = static_cast<uint64_t>(low_scaled);
  if (exact != nullptr) *exact = low_scaled == static_cast<double>(low);
  return (static_cast<Uint128>(high) << 64) | low;
}

// floor((1 - s) 2^128) = 2^128 - ceil(s 2^128), from s itself (1 - s would round away what
// lies below 2^-53). Clamped below 2^128.
Uint128 complement_fixed_point(double s) {
  bool exact = false;
  const Uint128 f = fixed_point(s, &exact);
  if (!exact) return ~f;
  return f == 0 ? ~Uint128{0} : ~f + 1;
}

}  // namespace

InversionTable::InversionTable(std::span<const double> weights) {
  if (weights.empty()) throw Error("InversionTable: no weights.");
  std::vector<double> after(weights.size(), 0.0);  // after[i] = sum of the weights after i
  double total = 0;
  for (std::size_t i = weights.size(); i-- > 0;) {
    if (!(weights[i] >= 0) || !std::isfinite(weights[i])) {
      throw Error("InversionTable: weight " + std::to_string(i) +
                  " must be finite and non-negative, but is " + std::to_string(weights[i]) + ".");
    }
    after[i] = total;
    total += weights[i];
  }
  if (!(total > 0)) throw Error("InversionTable: the weights sum to zero.");
  bounds_.resize(weights.size() - 1);
  double up_to = 0;  // the weights of 0..i
  for (std::size_t i = 0; i + 1 < weights.size(); ++i) {
    up_to += weights[i];
    bounds_[i] =
        up_to <= after[i] ? fixed_point(up_to / total) : complement_fixed_point(after[i] / total);
  }
  // Rounding can leave neighbours out of order by a unit; the draw needs them sorted.
  for (std::size_t i = 1; i < bounds_.size(); ++i)
    bounds_[i] = std::max(bounds_[i], bounds_[i - 1]);
}

std::size_t InversionTable::sample(Rng& rng) const {
  // The index is the number of bounds at or below U, the uniform's first 128 bits. Bounds whose
  // top word is below U's are; those whose top word is above are not; for ties (probability
  // below size() 2^-64) the second word decides.
  const uint64_t high = rng.next_u64();
  auto it = std::partition_point(bounds_.begin(), bounds_.end(), [high](Uint128 b) {
    return static_cast<uint64_t>(b >> 64) < high;
  });
  if (it != bounds_.end() && static_cast<uint64_t>(*it >> 64) == high) {
    const uint64_t low = rng.next_u64();
    while (it != bounds_.end() && static_cast<uint64_t>(*it >> 64) == high &&
           static_cast<uint64_t>(*it) <= low) {
      ++it;
    }
  }
  return static_cast<std::size_t>(it - bounds_.begin());
}

}  // namespace residue
