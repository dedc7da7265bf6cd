// BitWriter and BitReader: little-endian bit streams, the substrate of the wire format.
//
// Bit i of a stream is bit (i % 8) of byte i / 8, and a multi-bit field is written least
// significant bit first. BitReader never reads past its input: every read reports failure
// instead, so a parser can turn it into a ParseError with bit_position() / 8 as the offset.
//
//   BitWriter w;
//   w.write_bits(5, 3);          // value 5 in 3 bits
//   w.write_unary(2);            // "110"
//   BitReader r(w.bytes(), w.bit_length());
//   uint64_t v; r.read_bits(3, v);
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace residue {

/// Appends bits to a growable byte buffer. Not thread-safe.
class BitWriter {
 public:
  /// Appends the low `count` bits of `value`. REQUIRES: count <= 64.
  void write_bits(uint64_t value, unsigned count);
  /// Appends `value` ones followed by one zero.
  void write_unary(uint64_t value);
  /// Number of bits written so far.
  std::size_t bit_length() const { return bits_; }
  /// The buffer, ceil(bit_length() / 8) bytes; the unused high bits of the last byte are zero.
  /// Valid until the next write.
  std::span<const uint8_t> bytes() const { return {bytes_.data(), (bits_ + 7) / 8}; }
  /// Moves the buffer out and resets the writer.
  std::vector<uint8_t> take_bytes();
  void clear();

 private:
  std::vector<uint8_t> bytes_;
  std::size_t bits_ = 0;
};

/// Reads bits from a byte span it does not own; the span must outlive the reader.
class BitReader {
 public:
  /// Reads from the first `bit_length` bits of `bytes`. REQUIRES: bit_length <= 8 * bytes.size().
  BitReader(std::span<const uint8_t> bytes, std::size_t bit_length);
  explicit BitReader(std::span<const uint8_t> bytes) : BitReader(bytes, bytes.size() * 8) {}

  /// Reads `count` bits (count <= 64) into `out`; false, with nothing consumed, past the end.
  bool read_bits(unsigned count, uint64_t& out);
  /// Reads a unary code (ones ended by a zero) of value at most `max_value`; false past the
  /// end or when more than `max_value` ones follow. Runs in O(value / 64) word operations.
  bool read_unary(uint64_t max_value, uint64_t& out);
  std::size_t bit_position() const { return pos_; }
  std::size_t bits_left() const { return end_ - pos_; }

 private:
  std::span<const uint8_t> bytes_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
};

}  // namespace residue
