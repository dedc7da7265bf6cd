#include "residue/protocols/report_size.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

/// ln C(n, k) for 0 <= k <= n.
double log_choose(double n, double k) {
  return std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1);
}

/// E[g >> b] for one gap of a uniformly random omega-subset of [0, m). The omega + 1 spacings
/// (the omega gaps plus the space after the last position) are exchangeable, so every gap has
/// P(g >= t) = C(m - t, omega) / C(m, omega), and E[g >> b] = sum_{u >= 1} P(g >= u 2^b).
double expected_quotient(uint32_t m, uint32_t omega, unsigned b) {
  const double log_total = log_choose(m, omega);
  const uint64_t max_gap = uint64_t{m} - omega;
  const uint64_t step = uint64_t{1} << b;
  double sum = 0;
  for (uint64_t t = step; t <= max_gap; t += step) {
    const double p = std::exp(log_choose(static_cast<double>(m - t), omega) - log_total);
    sum += p;
    // The terms decrease at least geometrically, so the tail is negligible.
    if (p < 1e-13) break;
  }
  return sum;
}

/// Expected Rice length of the gaps of a uniformly random omega-subset of [0, m).
double expected_rice_bits(uint32_t m, uint32_t omega, unsigned b) {
  return omega * (b + 1 + expected_quotient(m, omega, b));
}

}  // namespace

SubsetLayout subset_layout(uint32_t universe, uint32_t subset_size) {
  if (universe < 1 || subset_size > universe) {
    throw Error("subset_size must be in [0, universe = " + std::to_string(universe) +
                "] with universe >= 1, but is " + std::to_string(subset_size) + ".");
  }
  SubsetLayout layout;
  if (subset_size == 0) {
    layout.kind = SubsetLayout::Kind::kBitmap;
    layout.expected_bits = universe;
    layout.entropy_bits = universe;
    return layout;
  }
  if (subset_size == 1) {
    layout.kind = SubsetLayout::Kind::kSingle;
    layout.single_width = static_cast<unsigned>(std::bit_width(universe - 1));
    layout.expected_bits = layout.single_width;
    layout.entropy_bits = std::log2(static_cast<double>(universe));
    return layout;
  }
  // b is part of the wire format, so it comes from integers only (no libm, no platform
  // drift). For gaps of mean g, a Rice code costs about b + 1 + (g + 1/2) / 2^b bits per
  // position; that is convex in b, and increasing b pays while 2^(b+1) < 2g + 1. With
  // g = (m - omega) / (omega + 1), over a sweep of 600 (m, omega) this is within 1.1% (0.01%
  // on average) of the b minimizing the exact expected length.
  const uint64_t n = 2 * (uint64_t{universe} - subset_size) + subset_size + 1;
  const uint64_t d = 2 * (uint64_t{subset_size} + 1);
  while ((d << (layout.rice_parameter + 1)) < n) ++layout.rice_parameter;
  const double best = expected_rice_bits(universe, subset_size, layout.rice_parameter);
  // The writer sends min(bitmap, Rice) per subset; this is the min of the two expectations,
  // an upper bound on the true mean that is tight except where they nearly coincide.
  layout.expected_bits = 1 + std::min(static_cast<double>(universe), best);
  layout.entropy_bits = log_choose(universe, subset_size) / std::log(2.0);
  return layout;
}

unsigned block_index_bits(std::size_t blocks) {
  // Block indices are uint32_t, so a valid shape has at most 2^32 blocks.
  return static_cast<unsigned>(std::bit_width(uint64_t{blocks} - 1));
}

double expected_report_bits(const ReportShape& shape) {
  double sum = 0;
  for (const BlockShape& b : shape.blocks)
    sum += subset_layout(b.universe, b.subset_size).expected_bits;
  return block_index_bits(shape.blocks.size()) + sum / static_cast<double>(shape.blocks.size());
}

double report_entropy_bits(const ReportShape& shape) {
  double sum = 0;
  for (const BlockShape& b : shape.blocks)
    sum += subset_layout(b.universe, b.subset_size).entropy_bits;
  const double blocks = static_cast<double>(shape.blocks.size());
  return std::log2(blocks) + sum / blocks;
}

}  // namespace residue
