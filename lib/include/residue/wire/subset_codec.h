// SubsetCodec: the wire form of a set of positions in [0, m), in O(m / 64 + omega) word
// operations. Three layouts, fixed by (m, omega) (docs/wire_format.md):
//   omega = 1  the single position in ceil(log2 m) bits (MSS and SS at large epsilon, GRR).
//   omega > 1  one flag bit, then either
//              flag 0: a bitmap of m bits (bit x set when x is in the subset), or
//              flag 1: omega Rice codes of the gaps g_0 = a_0, g_i = a_i - a_{i-1} - 1, with
//              the Rice parameter b fixed by (m, omega) so it is never sent: g >> b in unary
//              (ones ended by a zero), then the low b bits of g.
//              The writer picks whichever is shorter for the subset at hand (ties: bitmap).
//   omega = 0  any number of positions (unary encodings): the bitmap alone, m bits.
// The layout and its sizes come from protocols/report_size.h, where protocols read them too.
// No combinatorial ranks and no big integers: thousands of positions encode in microseconds,
// within about 1% of the entropy bound log2 C(m, omega) when omega is small relative to m.
//
//   SubsetCodec codec(1024, 276);
//   codec.write(items, writer);
//   std::size_t bits = codec.bit_length(items);
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "residue/core/bit_io.h"
#include "residue/core/error.h"
#include "residue/protocols/report_size.h"

namespace residue {

class SubsetCodec {
 public:
  /// `subset_size` 0 means any number of positions. Throws Error unless universe >= 1 and
  /// subset_size <= universe.
  SubsetCodec(uint32_t universe, uint32_t subset_size);

  uint32_t universe() const { return universe_; }
  uint32_t subset_size() const { return subset_size_; }
  unsigned rice_parameter() const { return layout_.rice_parameter; }

  /// Exact encoded length of `items` in bits (flag included).
  /// REQUIRES: items strictly increasing, all < universe(), subset_size() of them (any
  /// number when subset_size() is 0).
  std::size_t bit_length(std::span<const uint32_t> items) const;
  /// REQUIRES: as for bit_length.
  void write(std::span<const uint32_t> items, BitWriter& out) const;
  /// Reads one subset into `items`. On malformed input returns false and sets `error` (the
  /// offset is the byte holding the offending bit); never reads past the reader's end.
  bool read(BitReader& in, std::vector<uint32_t>& items, ParseError& error) const;

  /// Mean encoded length for a uniformly random subset (flag included); for omega > 1 the
  /// smaller of the bitmap's and Rice's expected lengths, an upper bound on the mean.
  double expected_bits() const { return layout_.expected_bits; }
  /// log2 C(universe, subset_size): the fewest bits any encoding can average (m for a
  /// subset of any size: the bitmap is the bound for a uniformly random one).
  double entropy_bits() const { return layout_.entropy_bits; }
  /// Longest possible encoding.
  std::size_t max_bits() const;

 private:
  using Kind = SubsetLayout::Kind;

  std::size_t rice_bits(std::span<const uint32_t> items) const;
  void write_bitmap(std::span<const uint32_t> items, BitWriter& out) const;
  /// Appends the bitmap's positions to `items`; with kChoose, exactly subset_size of them.
  bool read_bitmap(BitReader& in, std::vector<uint32_t>& items, ParseError& error) const;

  uint32_t universe_;
  uint32_t subset_size_;
  SubsetLayout layout_;
};

}  // namespace residue
