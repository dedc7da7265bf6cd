// Subset Selection's sampler for subsets that fill a sizeable share of the universe, from
// about a tenth of the random words Floyd's algorithm takes (one word per pick).
#pragma once

#include <cstdint>
#include <vector>

#include "residue/random/rng.h"

namespace residue {

/// True when draw_others_by_rate draws `count` of the k - 1 others from fewer words than
/// Floyd's algorithm: when they are at least 1/16 of them.
bool rate_subset_pays(uint32_t k, uint32_t count);

/// As draw_distinct_others: writes into `items`, sorted, `value` if `include_value`, plus
/// `count` distinct values drawn uniformly from [0, k) \ {value}. Allocation-free once `items`
/// (and the thread's scratch bitmap) have grown. REQUIRES: value < k, count <= k - 1.
void draw_others_by_rate(uint32_t k, uint32_t value, uint32_t count, bool include_value, Rng& rng,
                         std::vector<uint32_t>& items);

}  // namespace residue
