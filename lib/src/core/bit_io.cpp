#include "residue/core/bit_io.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

void store_le64(uint8_t* p, uint64_t v) {
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  std::memcpy(p, &v, sizeof v);
}

uint64_t low_mask(unsigned count) {
  return count >= 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1;
}

/// The 64 bits of `bytes` starting at bit `pos`; bits past the end of `bytes` read as zero.
uint64_t peek64(std::span<const uint8_t> bytes, std::size_t pos) {
  const std::size_t byte = pos / 8;
  const unsigned shift = pos % 8;
  uint64_t word = 0;
  if (byte + 8 <= bytes.size()) {
    word = load_le64(bytes.data() + byte);
  } else {
    for (std::size_t i = byte; i < bytes.size(); ++i) {
      word |= uint64_t{bytes[i]} << (8 * (i - byte));
    }
  }
  const uint64_t spill = byte + 8 < bytes.size() ? bytes[byte + 8] : 0;
  // Shifting in two steps is 0 for shift == 0, without a branch on the alignment.
  return (word >> shift) | ((spill << 1) << (63 - shift));
}

}  // namespace

void BitWriter::write_bits(uint64_t value, unsigned count) {
  if (count == 0) return;
  value &= low_mask(count);
  const std::size_t byte = bits_ / 8;
  const unsigned shift = bits_ % 8;
  // One unaligned 64-bit OR plus a spill byte covers any field, so keep 9 zeroed bytes from
  // the current one on; growth is geometric and bytes past bit_length() stay zero.
  if (bytes_.size() < byte + 9) bytes_.resize(std::max(byte + 9, 2 * bytes_.size()));
  uint8_t* p = bytes_.data() + byte;
  store_le64(p, load_le64(p) | (value << shift));
  p[8] = static_cast<uint8_t>(p[8] | ((value >> 1) >> (63 - shift)));  // 0 for shift == 0
  bits_ += count;
}

void BitWriter::write_unary(uint64_t value) {
  for (; value >= 64; value -= 64) write_bits(~uint64_t{0}, 64);
  write_bits(low_mask(static_cast<unsigned>(value)), static_cast<unsigned>(value) + 1);
}

std::vector<uint8_t> BitWriter::take_bytes() {
  bytes_.resize((bits_ + 7) / 8);
  std::vector<uint8_t> out = std::move(bytes_);
  bytes_ = {};
  bits_ = 0;
  return out;
}

void BitWriter::clear() {
  bytes_.clear();
  bits_ = 0;
}

BitReader::BitReader(std::span<const uint8_t> bytes, std::size_t bit_length)
    : bytes_(bytes), end_(bit_length) {
  if (bit_length > bytes.size() * 8) {
    throw Error("bit_length must be at most 8 * bytes.size() = " +
                std::to_string(bytes.size() * 8) + ", but is " + std::to_string(bit_length) + ".");
  }
}

bool BitReader::read_bits(unsigned count, uint64_t& out) {
  if (count > bits_left()) return false;
  out = count == 0 ? 0 : peek64(bytes_, pos_) & low_mask(count);
  pos_ += count;
  return true;
}

bool BitReader::read_unary(uint64_t max_value, uint64_t& out) {
  uint64_t ones = 0;
  std::size_t pos = pos_;
  while (pos < end_) {
    const std::size_t avail = std::min<std::size_t>(64, end_ - pos);
    uint64_t word = peek64(bytes_, pos);
    // Bits past the end must not pass for the terminating zero.
    if (avail < 64) word |= ~uint64_t{0} << avail;
    const unsigned run = static_cast<unsigned>(std::countr_one(word));
    if (run < avail) {
      if (ones + run > max_value) return false;
      out = ones + run;
      pos_ = pos + run + 1;
      return true;
    }
    ones += avail;
    pos += avail;
    if (ones > max_value) return false;
  }
  return false;
}

}  // namespace residue
