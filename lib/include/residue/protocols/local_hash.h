// Optimal local hashing (OLH; Wang et al., USENIX Security 2017) over a public pool of hash
// functions in which every two values collide equally often.
//
// A client holding x draws a seed s uniformly from [0, S), hashes h = H_s(x) into g buckets
// and sends (s, y): y = h with probability p = e^eps / (e^eps + g - 1), otherwise a uniform
// other bucket (GRR on [0, g)). The pool is the projective hash family of GF(g)^d:
// H_s(v) = <a_s, digits of v in base g> over the field GF(g), one a_s per line through the
// origin. Any two distinct values collide under exactly (g^{d-1} - 1) / (g - 1) of the S =
// (g^d - 1) / (g - 1) seeds, so OLH is a pure protocol (support {v : H_s(v) = y}) with an
// exactly unbiased estimator and an exact variance, for every population. A pool of random
// hash functions has neither: users sharing a hash share its collisions, a fixed bias
// (docs/protocols/olh.md). The tally is the S x g table of counts per (seed, y); decoding it
// costs O(min(n, S) k), and S is about k / (g - 1) to g k / (g - 1).
//
//   Protocol olh = make_olh({.protocol = "olh", .k = 1024, .epsilon = 1});  // g = 4, S = 341
//   Report r = olh.encoder().encode(3, rng);   // r.block = s, r.items = {y}
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "residue/protocols/params.h"
#include "residue/protocols/protocol.h"

namespace residue {

/// The public hash pool of OLH on k values at epsilon; every field follows from (k, epsilon).
struct LocalHashDesign {
  /// g: the prime, or prime power up to 256, with the smaller variance of the two nearest
  /// e^eps + 1 (the author's code uses round(e^eps) + 1); at most the smallest such >= k.
  uint32_t buckets = 0;
  /// d: the smallest with g^d >= k.
  uint32_t dimension = 0;
  /// S = (g^d - 1) / (g - 1).
  uint32_t seeds = 0;
  /// c = (g^{d-1} - 1) / (g^d - 1): the fraction of seeds under which two values collide.
  double collision_rate = 0;
};

/// Throws Error naming k or epsilon if they are invalid, or if the pool's tally would hold
/// more than 2^26 counters (k above about 10^7 at epsilon = 1).
LocalHashDesign local_hash_design(uint32_t k, double epsilon);

/// The hash functions H_s : [0, k) -> [0, g) of the pool. Part of the wire contract: a client
/// in any language computes the same buckets (docs/protocols/olh.md gives the field
/// polynomials and the seed order). Immutable, cheap to copy, thread-safe.
class LocalHashFamily {
 public:
  /// Throws Error unless k >= 1, g is a prime or a prime power up to 256, and S g <= 2^26.
  LocalHashFamily(uint32_t k, uint32_t buckets);

  uint32_t k() const;
  uint32_t buckets() const;
  uint32_t dimension() const;
  uint32_t seeds() const;
  double collision_rate() const;

  /// H_s(v) in O(d). REQUIRES: seed < seeds(), value < k().
  uint32_t hash(uint32_t seed, uint32_t value) const;
  /// out[v] = H_s(v) for every v in [0, k), size k. O(k + g^ceil(d/2)) through two tables of
  /// partial inner products; allocation-free after the first call on a thread.
  void hash_all(uint32_t seed, std::span<uint32_t> out) const;
  /// sizes[y] = |{v < k : H_s(v) = y}| (size g), the preimage sizes the attack needs.
  /// O(G + g k / G) with G = g^ceil(d/2), without hashing every value.
  void bucket_sizes(uint32_t seed, std::span<uint32_t> sizes) const;
  /// sums[v] += counts[H_s(v)] for every v (sums size k, counts size g): one seed's share of
  /// the support counts C_v, the decoder's inner loop. Same cost as hash_all.
  void add_support_counts(uint32_t seed, std::span<const uint64_t> counts,
                          std::span<uint64_t> sums) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

/// The OLH protocol on [0, k). Fills seeds with the pool size S; a nonzero seeds must equal
/// it (the pool is fixed by k and epsilon). Throws Error naming the bad parameter.
Protocol make_olh(const ProtocolParams& params);

}  // namespace residue
