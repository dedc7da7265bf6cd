// PGR internals (not installed): the projective space PG(t-1, q) with its point indexing,
// the fast decoder, and a factory for explicit (q, t) that the public q-rule never picks
// (the Fano plane, q = 2). Tests include this header by relative path.
//
// Point indexing (the reference code's, util.cc): canonical vectors are ordered by the
// position of their leading 1 counted from the right, so the blocks have sizes 1, q, q^2, ...
// (block L holds the vectors with L coordinates after the leading 1, and starts at
// K_L = (q^L - 1)/(q - 1)); inside a block, by those L coordinates read as a base-q number,
// most significant first. Prepending zeros keeps the index, so the canonical vectors of
// length l are exactly the indices [0, K_l) in every longer length.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "residue/protocols/params.h"
#include "residue/protocols/projective_geometry.h"
#include "residue/protocols/protocol.h"
#include "residue/random/rng.h"

namespace residue {

/// PG(t-1, q) for a prime q: arithmetic in F_q and the index <-> canonical vector bijection.
/// Immutable and thread-safe.
class ProjectiveSpace {
 public:
  /// Longest vectors supported; K <= 2^26 keeps t <= 26 even for q = 2.
  static constexpr uint32_t kMaxDimension = 32;
  /// Largest universe K accepted.
  static constexpr uint64_t kMaxPoints = uint64_t{1} << 26;

  /// Throws Error unless q is prime, 2 <= t <= kMaxDimension and K <= kMaxPoints.
  ProjectiveSpace(uint32_t q, uint32_t t);

  uint32_t q() const { return q_; }
  uint32_t t() const { return t_; }
  /// K_l = (q^l - 1)/(q - 1), the canonical vectors of length l, for l in [0, t].
  uint32_t points(uint32_t l) const { return points_[l]; }
  /// K = K_t.
  uint32_t points() const { return points_[t_]; }

  /// x^{-1} in F_q. REQUIRES: 0 < x < q.
  uint32_t inverse(uint32_t x) const;
  /// The table of inverses (entry 0 unused), or empty when q >= 2^16 (then inverse() runs
  /// the extended Euclidean algorithm).
  std::span<const uint32_t> inverse_table() const { return inverse_; }
  /// The canonical vector of length out.size() (<= t) with index `index` (< K_{out.size()}).
  void point(uint32_t index, std::span<uint32_t> out) const;
  /// The index of a canonical vector of any length <= t. REQUIRES: x canonical.
  uint32_t index(std::span<const uint32_t> x) const;
  /// Scales a nonzero vector so its first nonzero coordinate is 1. REQUIRES: x != 0.
  void canonicalize(std::span<uint32_t> x) const;
  /// <a, b> mod q. REQUIRES: equal lengths.
  uint32_t dot(std::span<const uint32_t> a, std::span<const uint32_t> b) const;
  /// Whether the points with indices a and b are orthogonal. O(t).
  bool orthogonal(uint32_t a, uint32_t b) const;

  /// Draws a uniform nonzero u in F_q^t with <u, v> = target, where v is canonical (so its
  /// first nonzero coordinate is 1), into u (size t). O(t), no rejection: the t - 1 free
  /// coordinates come from one uniform draw, which skips the all-zero choice when target = 0.
  void sample_with_dot(std::span<const uint32_t> v, uint32_t target, Rng& rng,
                       std::span<uint32_t> u) const;
  /// The index of a uniform point of S_v = {u : <u, v> = 0} (target 0) or, for any nonzero
  /// target, of a uniform point off S_v (each has exactly one representative with
  /// <u, v> = target). O(t).
  uint32_t sample_point(std::span<const uint32_t> v, uint32_t target, Rng& rng) const;

 private:
  uint32_t q_;
  uint32_t t_;
  std::vector<uint32_t> points_;   // K_0 .. K_t
  std::vector<uint32_t> inverse_;  // table for q < 2^16; extended Euclid above
};

/// The inverses of 1 .. q-1 in F_q (entry 0 unused), in O(q). REQUIRES: q prime.
std::vector<uint32_t> field_inverses(uint32_t q);

/// PGR's rates for an explicit field size q and dimension t (no q-rule; q = 2 allowed).
ProjectiveGeometryRates projective_geometry_rates_for(uint32_t q, uint32_t t, double epsilon);

/// The fast decoder: out[v] = sum of y[u] over the points u with <u, v> = 0, for every v.
/// y and out have size K (throws Error otherwise). O(K q t) time (O(K) for t = 2), two
/// layers of about 2K values of T. Instantiated for uint32_t, uint64_t and double; integer
/// sums must fit the type (every partial sum is at most sum(y)).
template <typename T>
void orthogonal_sums(const ProjectiveSpace& space, std::span<const T> y, std::span<T> out);

/// PGR with an explicit field size and dimension (tests only: the Fano plane q = 2, t = 3).
/// REQUIRES: K_t >= k. Throws Error like make_pgr.
Protocol make_pgr_with_field(const ProtocolParams& params, uint32_t q, uint32_t t);

}  // namespace residue
