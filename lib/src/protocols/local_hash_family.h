// The pool of OLH's hash family (LocalHashFamily, protocols/local_hash.h) for k values and
// g buckets: its geometry and its limits, shared by the family (local_hash_family.cpp) and
// the choice of g for epsilon (local_hash.cpp). Internal: not installed.
#pragma once

#include <cstdint>
#include <string>

namespace residue {

/// d, S and c of the pool: g^d >= k, S = (g^d - 1) / (g - 1) seeds, and two values collide
/// under the fraction c = (g^{d-1} - 1) / (g^d - 1) of them.
struct LocalHashPool {
  uint32_t dimension = 0;
  uint64_t seeds = 0;
  double collision_rate = 0;
};

/// REQUIRES: 1 <= k <= 2^26, g >= 2.
LocalHashPool local_hash_pool(uint32_t k, uint64_t g);

/// Throws Error if k exceeds 2^26, the most values OLH takes.
void check_local_hash_domain(uint32_t k);

/// Throws Error if the pool's tally would hold more than 2^26 counters (S g), naming `context`,
/// what fixed g ("g = 4", "epsilon = 1").
void check_pool_size(uint32_t k, uint64_t g, const LocalHashPool& pool, const std::string& context);

}  // namespace residue
