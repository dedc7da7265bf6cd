// ReportCodec: the versioned binary encoding of one report of a given ReportShape.
//
// Bit layout (docs/wire_format.md), little-endian bit order (core/bit_io.h):
//   block index   ceil(log2 B) bits for a shape of B blocks (0 bits when B = 1)
//   subset        the block's SubsetCodec: flag bit, then bitmap or Rice-coded gaps
// bit_length() is this exact count; it is what `residue simulate` reports as bits.
// A standalone report (to_bytes) is one format-version byte followed by the bits, padded
// with zero bits to a byte boundary. Batches (daemon) carry the version once per batch.
// read()/from_bytes() are strict: they reject out-of-range blocks, wrong subset sizes,
// non-increasing positions, bad padding and trailing bytes, and never crash (fuzzed).
//
//   ReportCodec codec(protocol.shape());
//   std::vector<uint8_t> bytes = codec.to_bytes(report);
//   ParseResult<Report> back = codec.from_bytes(bytes);
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "residue/core/bit_io.h"
#include "residue/core/error.h"
#include "residue/protocols/report.h"
#include "residue/wire/subset_codec.h"

namespace residue {

/// Version byte of a standalone report; bump when the bit layout changes.
inline constexpr uint8_t kReportFormatVersion = 1;

class ReportCodec {
 public:
  /// Throws Error if the shape has no blocks or a block is invalid for SubsetCodec.
  explicit ReportCodec(const ReportShape& shape);

  /// Bits of the block-index field.
  unsigned block_bits() const { return block_bits_; }
  const SubsetCodec& block_codec(uint32_t block) const { return codecs_[block]; }

  /// True if `report` fits the shape: block in range, subset_size items, strictly
  /// increasing, all below the block's universe. (Not max_items: parse_batch checks that.)
  bool well_formed(const Report& report) const;
  /// The most positions a report of `block` may hold in a batch: its subset size, or for an
  /// any-size block the shape's max_items (its universe when that is 0).
  uint32_t max_items(uint32_t block) const { return max_items_[block]; }
  /// The largest max_items(block): what one report can cost the batch parser, in positions.
  uint32_t max_items() const;
  /// Exact bits of `report` on the wire. REQUIRES: well_formed(report).
  std::size_t bit_length(const Report& report) const;
  /// REQUIRES: well_formed(report).
  void write(const Report& report, BitWriter& out) const;
  /// Reads one report; the error offset counts bytes from the start of the reader's input.
  ParseResult<Report> read(BitReader& in) const;
  /// Reads the report at bit `bit_pos` of the first `bit_length` bits of `bytes` into `out`,
  /// reusing its storage, and advances `bit_pos`. Accepts and rejects exactly as read(in) does
  /// (error offsets count from the start of `bytes`; on false `out` is garbage), several times
  /// faster: the batch parser's path. REQUIRES: bit_pos <= bit_length <= 8 * bytes.size().
  bool read(std::span<const uint8_t> bytes, std::size_t bit_length, std::size_t& bit_pos,
            Report& out, ParseError& error) const;

  /// Version byte + bits + zero padding. REQUIRES: well_formed(report).
  std::vector<uint8_t> to_bytes(const Report& report) const;
  ParseResult<Report> from_bytes(std::span<const uint8_t> bytes) const;

  /// Mean bits per report when blocks are equally likely and subsets uniformly random
  /// (expected_report_bits, protocols/report_size.h).
  double expected_bits() const;
  /// Mean entropy bound: log2 of the block count plus the mean log2 C(m_j, omega_j).
  double entropy_bits() const;
  /// Longest encoding of any report, in bits.
  std::size_t max_bits() const;

 private:
  bool read(BitReader& in, Report& out, ParseError& error) const;

  ReportShape shape_;
  std::vector<SubsetCodec> codecs_;
  std::vector<uint32_t> max_items_;
  unsigned block_bits_ = 0;
};

}  // namespace residue
