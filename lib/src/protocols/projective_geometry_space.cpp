// PG(t-1, q): field arithmetic, point indexing and the samplers of PGR (see
// projective_geometry_internal.h for the indexing).
#include <cmath>
#include <string>

#include "protocols/projective_geometry_internal.h"
#include "residue/core/error.h"
#include "residue/rns/primes.h"

namespace residue {
namespace {

// Below this field size inverses come from a table of q entries; above it (t = 2 with a
// large q) from the extended Euclidean algorithm, so that a client does not build a table of
// 4q bytes for one inverse per report. The decoder builds its own table (field_inverses).
constexpr uint32_t kInverseTableLimit = 1u << 16;

uint32_t euclid_inverse(uint32_t x, uint32_t q) {
  int64_t r0 = q, r1 = x, s0 = 0, s1 = 1;
  while (r1 != 0) {
    const int64_t quotient = r0 / r1;
    int64_t tmp = r0 - quotient * r1;
    r0 = r1;
    r1 = tmp;
    tmp = s0 - quotient * s1;
    s0 = s1;
    s1 = tmp;
  }
  return static_cast<uint32_t>(s0 < 0 ? s0 + q : s0);
}

}  // namespace

ProjectiveSpace::ProjectiveSpace(uint32_t q, uint32_t t) : q_(q), t_(t) {
  if (!is_prime(q))
    throw Error("pgr: the field size q must be prime, but is " + std::to_string(q) + ".");
  if (t < 2 || t > kMaxDimension) {
    throw Error("pgr: the dimension t must be in [2, " + std::to_string(kMaxDimension) +
                "], but is " + std::to_string(t) + ".");
  }
  uint64_t count = 0;
  points_.push_back(0);
  for (uint32_t l = 1; l <= t; ++l) {
    count = count * q + 1;
    if (count > kMaxPoints) {
      throw Error("pgr: PG(" + std::to_string(t - 1) + ", " + std::to_string(q) +
                  ") has more than 2^26 points; the tally and the decoder need memory "
                  "proportional to them.");
    }
    points_.push_back(static_cast<uint32_t>(count));
  }
  if (q < kInverseTableLimit) inverse_ = field_inverses(q);
}

std::vector<uint32_t> field_inverses(uint32_t q) {
  // inv(i) = -(q / i) inv(q mod i), from q = (q / i) i + (q mod i).
  std::vector<uint32_t> inverse(q, 0);
  if (q > 1) inverse[1] = 1;
  for (uint32_t i = 2; i < q; ++i) {
    inverse[i] = static_cast<uint32_t>((q - uint64_t{q / i} * inverse[q % i] % q) % q);
  }
  return inverse;
}

uint32_t ProjectiveSpace::inverse(uint32_t x) const {
  return inverse_.empty() ? euclid_inverse(x, q_) : inverse_[x];
}

void ProjectiveSpace::point(uint32_t index, std::span<uint32_t> out) const {
  const auto l = static_cast<uint32_t>(out.size());
  uint32_t trailing = 0;  // coordinates after the leading 1: the block of `index`
  while (index >= points_[trailing + 1]) ++trailing;
  uint32_t rest = index - points_[trailing];
  for (uint32_t i = l; i-- > 0;) {
    if (i + trailing + 1 == l) {
      out[i] = 1;
    } else if (i + trailing + 1 > l) {
      out[i] = rest % q_;
      rest /= q_;
    } else {
      out[i] = 0;
    }
  }
}

uint32_t ProjectiveSpace::index(std::span<const uint32_t> x) const {
  std::size_t lead = 0;
  while (x[lead] == 0) ++lead;
  uint64_t rest = 0;
  for (std::size_t i = lead + 1; i < x.size(); ++i) rest = rest * q_ + x[i];
  return points_[x.size() - 1 - lead] + static_cast<uint32_t>(rest);
}

void ProjectiveSpace::canonicalize(std::span<uint32_t> x) const {
  std::size_t lead = 0;
  while (x[lead] == 0) ++lead;
  if (x[lead] == 1) return;
  const uint64_t scale = inverse(x[lead]);
  for (std::size_t i = lead; i < x.size(); ++i) x[i] = static_cast<uint32_t>(x[i] * scale % q_);
}

uint32_t ProjectiveSpace::dot(std::span<const uint32_t> a, std::span<const uint32_t> b) const {
  uint64_t sum = 0;  // each product < 2^52 and t <= 32 terms: no overflow
  for (std::size_t i = 0; i < a.size(); ++i) sum += uint64_t{a[i]} * b[i];
  return static_cast<uint32_t>(sum % q_);
}

bool ProjectiveSpace::orthogonal(uint32_t a, uint32_t b) const {
  uint32_t u[kMaxDimension], v[kMaxDimension];
  point(a, std::span(u, t_));
  point(b, std::span(v, t_));
  return dot(std::span(u, t_), std::span(v, t_)) == 0;
}

void ProjectiveSpace::sample_with_dot(std::span<const uint32_t> v, uint32_t target, Rng& rng,
                                      std::span<uint32_t> u) const {
  std::size_t pivot = 0;
  while (v[pivot] == 0) ++pivot;
  // The free coordinates (all but the pivot) as one number in [0, q^(t-1)); with target 0
  // the all-zero choice would give u = 0, so it is excluded: [1, q^(t-1)).
  const uint64_t free_count = uint64_t{points_[t_ - 1]} * (q_ - 1) + 1;  // q^(t-1)
  const uint64_t low = target == 0 ? 1 : 0;
  uint64_t digits = low + rng.uniform(free_count - low);
  uint64_t partial = 0;
  for (std::size_t i = t_; i-- > 0;) {
    if (i == pivot) continue;
    u[i] = static_cast<uint32_t>(digits % q_);
    digits /= q_;
    partial += uint64_t{u[i]} * v[i];
  }
  // v[pivot] = 1, so u[pivot] = target - (the rest of the dot product).
  u[pivot] = static_cast<uint32_t>((target + q_ - partial % q_) % q_);
}

uint32_t ProjectiveSpace::sample_point(std::span<const uint32_t> v, uint32_t target,
                                       Rng& rng) const {
  uint32_t u[kMaxDimension];
  const std::span<uint32_t> out(u, t_);
  sample_with_dot(v, target, rng, out);
  canonicalize(out);
  return index(out);
}

ProjectiveGeometryRates projective_geometry_rates_for(uint32_t q, uint32_t t, double epsilon) {
  const ProjectiveSpace space(q, t);
  ProjectiveGeometryRates r{.q = q,
                            .t = t,
                            .universe = space.points(),
                            .cset = space.points(t - 1),
                            .cint = space.points(t - 2),
                            .epsilon = epsilon};
  const double e = std::exp(epsilon), e1 = std::expm1(epsilon);
  const double cset = r.cset, cint = r.cint, universe = r.universe;
  r.p = 1 / (e1 * cset + universe);
  r.s = e * r.p * cset;
  r.r = r.p * (e1 * cint + cset);
  r.not_s = r.p * (universe - cset);
  r.not_r = r.p * (e1 * (cset - cint) + universe - cset);
  r.gap = r.p * e1 * (cset - cint);
  return r;
}

ProjectiveGeometryRates projective_geometry_rates(uint32_t k, double epsilon) {
  check_k_and_epsilon({.protocol = "pgr", .k = k, .epsilon = epsilon});
  // The reference's rule (run_experiment.cc): q = ceil(e^eps + 1), made odd, then the next
  // prime. e^eps + 1 > 2 for eps > 0, so q = 2 never comes out of it.
  const double start = std::ceil(std::exp(epsilon) + 1);
  if (start > static_cast<double>(ProjectiveSpace::kMaxPoints)) {
    throw Error("pgr: epsilon " + std::to_string(epsilon) +
                " needs a field of more than 2^26 elements (q >= e^eps + 1); PGR would send "
                "one of more than 2^26 points. Use a smaller epsilon or another protocol.");
  }
  auto q = static_cast<uint32_t>(start);
  if (q % 2 == 0) ++q;
  while (!is_prime(q)) q += 2;
  uint64_t count = q + uint64_t{1};  // K_2
  uint32_t t = 2;
  while (count < k) {
    count = count * q + 1;
    ++t;
  }
  if (count > ProjectiveSpace::kMaxPoints) {
    throw Error("pgr: k = " + std::to_string(k) + " at epsilon " + std::to_string(epsilon) +
                " needs PG(" + std::to_string(t - 1) + ", " + std::to_string(q) + ") with " +
                std::to_string(count) +
                " points, more than 2^26; the tally and the decoder need memory proportional "
                "to them. Use a smaller epsilon or another protocol.");
  }
  return projective_geometry_rates_for(q, t, epsilon);
}

}  // namespace residue
