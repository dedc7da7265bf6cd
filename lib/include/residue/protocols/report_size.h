// The size of a report on the wire, from its shape alone (docs/wire_format.md): how each
// block's subset is laid out, its mean length, and the entropy bound.
//
// It sits beside ReportShape, below the codec, so that a protocol can weigh report length
// against accuracy without reaching up into wire/ (the MSS moduli search, protocols/mss_moduli.h).
// The codec (wire/subset_codec.h) writes and reads each block by its SubsetLayout.
//
//   double bits = expected_report_bits(protocol.shape());
#pragma once

#include <cstddef>
#include <cstdint>

#include "residue/protocols/report.h"

namespace residue {

/// How one block's subset goes on the wire; fixed by (universe m, subset size omega).
struct SubsetLayout {
  enum class Kind {
    kChoose,  ///< omega > 1: flag bit, then a bitmap or Rice-coded gaps
    kSingle,  ///< omega = 1: the position in ceil(log2 m) bits
    kBitmap,  ///< omega = 0: any number of positions, an m-bit bitmap
  };
  Kind kind = Kind::kChoose;
  /// kChoose: the Rice parameter b of the gaps, from integers only (it fixes the bits).
  unsigned rice_parameter = 0;
  /// kSingle: ceil(log2 m).
  unsigned single_width = 0;
  /// Mean length of a uniformly random subset, flag included; for kChoose the smaller of the
  /// bitmap's and Rice's expected lengths, an upper bound on the mean.
  double expected_bits = 0;
  /// The fewest bits any encoding can average: log2 C(m, omega) (m for kBitmap).
  double entropy_bits = 0;
};

/// Throws Error unless universe >= 1 and subset_size <= universe.
SubsetLayout subset_layout(uint32_t universe, uint32_t subset_size);

/// Bits of the block-index field of a shape of `blocks` blocks: ceil(log2 blocks).
unsigned block_index_bits(std::size_t blocks);

/// Mean bits of a report when blocks are equally likely and subsets uniformly random, and the
/// mean entropy bound (log2 of the block count plus the mean of the blocks'). Throws Error like
/// subset_layout() for an invalid block. REQUIRES: at least one block.
double expected_report_bits(const ReportShape& shape);
double report_entropy_bits(const ReportShape& shape);

}  // namespace residue
