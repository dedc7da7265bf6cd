// Report and ReportShape: what one client sends, in the form every protocol shares.
//
// A report is a block index and a sorted set of positions inside that block's universe:
// Subset Selection sends one block (the subset of [k]); MSS sends (j, subset of [m_j]).
// The ReportShape lists, per block, the universe size and the number of positions a report
// of that block carries; the wire codec (wire/report_codec.h) and the Tally read it.
//
//   Report r;
//   encoder.encode(value, rng, r);   // r.block, r.items (sorted, distinct)
#pragma once

#include <cstdint>
#include <vector>

namespace residue {

struct Report {
  /// Which block the report belongs to (MSS: the modulus index j). 0 for one-block protocols.
  uint32_t block = 0;
  /// Positions in [0, universe of the block), strictly increasing.
  std::vector<uint32_t> items;

  bool operator==(const Report&) const = default;
};

struct BlockShape {
  /// Size of the block's universe (MSS: the modulus m_j; SS: k).
  uint32_t universe = 0;
  /// Exact number of positions in every report of this block (the subset size omega), or 0
  /// for reports with any number of positions (unary encodings).
  uint32_t subset_size = 0;
  /// Any-size blocks only: the most positions an honest report holds, but for a probability
  /// the protocol states (unary: below 2^-40). The batch parser refuses a report with more,
  /// so that one forged report cannot count as many. 0: no bound.
  uint32_t max_items = 0;

  bool operator==(const BlockShape&) const = default;
};

struct ReportShape {
  std::vector<BlockShape> blocks;

  bool operator==(const ReportShape&) const = default;
};

}  // namespace residue
