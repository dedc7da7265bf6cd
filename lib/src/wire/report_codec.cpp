#include "residue/wire/report_codec.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

namespace residue {
namespace {

ParseError error_at(std::size_t bit, std::string message) {
  return ParseError{std::move(message), bit / 8};
}

/// At least 57 bits of `bytes` from bit `pos` on, in one unaligned load.
/// REQUIRES: pos / 8 + 8 <= size of `bytes`.
uint64_t window(const uint8_t* bytes, std::size_t pos) {
  uint64_t word;
  std::memcpy(&word, bytes + pos / 8, sizeof word);
  if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap64(word);
  return word >> (pos % 8);
}

/// The low `count` bits of `word`. REQUIRES: count < 64.
uint64_t low_bits(uint64_t word, unsigned count) {
  return word & ((uint64_t{1} << count) - 1);
}

/// The common reports, Rice-coded subsets and single positions, decoded straight from bytes
/// with one load per field instead of the BitReader's checked calls. Accepts exactly what
/// SubsetCodec::read accepts, with the same result, or returns false, leaving the report and
/// every error message to the general path; `pos` advances only on success.
bool read_common(std::span<const SubsetCodec> codecs, unsigned block_bits,
                 std::span<const uint8_t> bytes, std::size_t bit_length, std::size_t& pos,
                 Report& out) {
  const uint8_t* data = bytes.data();
  // window(p) may load for p below this; reports in the last 7 bytes take the general path.
  const std::size_t load_end = bytes.size() < 8 ? 0 : 8 * (bytes.size() - 7);
  std::size_t p = pos;
  if (p >= load_end) return false;
  const uint64_t block = low_bits(window(data, p), block_bits);
  p += block_bits;
  if (block >= codecs.size()) return false;
  const SubsetCodec& codec = codecs[block];
  const uint32_t m = codec.universe();
  const uint32_t omega = codec.subset_size();
  if (p >= load_end) return false;
  if (omega == 1) {
    const unsigned width = static_cast<unsigned>(std::bit_width(m - 1));
    const uint64_t value = low_bits(window(data, p), width);
    p += width;
    if (value >= m) return false;
    out.items.assign(1, static_cast<uint32_t>(value));
  } else if (omega > 1) {
    if ((window(data, p) & 1) == 0) return false;  // the bitmap form
    ++p;
    const unsigned b = codec.rice_parameter();
    out.items.resize(omega);
    uint32_t* items = out.items.data();
    uint64_t next = 0;
    // The low `avail` bits of `word` are the next bits from p on: several codes per load.
    uint64_t word = 0;
    unsigned avail = 0;
    for (uint32_t i = 0; i < omega; ++i) {
      unsigned q = static_cast<unsigned>(std::countr_one(word));
      if (q + 1 + b > avail) {
        if (p >= load_end) return false;
        word = window(data, p);
        avail = 56;  // window() holds 57 or more; 56 keeps every shift below 64
        q = static_cast<unsigned>(std::countr_one(word));
        if (q + 1 + b > avail) return false;  // longer than a window: rare, left to the codec
      }
      const unsigned length = q + 1 + b;
      // SubsetCodec::read's bound on q is implied: a larger q puts the position past it.
      const uint64_t position = next + ((uint64_t{q} << b) | low_bits(word >> (q + 1), b));
      if (position > uint64_t{m} - omega + i) return false;
      items[i] = static_cast<uint32_t>(position);
      next = position + 1;
      word >>= length;
      avail -= length;
      p += length;
    }
  } else {
    return false;  // any-size bitmaps
  }
  // Fields may have run into the padding or beyond: the general path names the truncation.
  if (p > bit_length) return false;
  out.block = static_cast<uint32_t>(block);
  pos = p;
  return true;
}

}  // namespace

ReportCodec::ReportCodec(const ReportShape& shape) : shape_(shape) {
  if (shape.blocks.empty()) throw Error("shape.blocks must not be empty, but has 0 blocks.");
  codecs_.reserve(shape.blocks.size());
  for (std::size_t j = 0; j < shape.blocks.size(); ++j) {
    const BlockShape& b = shape.blocks[j];
    try {
      codecs_.emplace_back(b.universe, b.subset_size);
    } catch (const Error& e) {
      throw Error("shape.blocks[" + std::to_string(j) + "]: " + e.what());
    }
    const bool bounded = b.subset_size == 0 && b.max_items > 0;
    max_items_.push_back(b.subset_size > 0 ? b.subset_size
                         : bounded         ? std::min(b.max_items, b.universe)
                                           : b.universe);
  }
  block_bits_ = block_index_bits(codecs_.size());
}

bool ReportCodec::well_formed(const Report& report) const {
  if (report.block >= codecs_.size()) return false;
  const SubsetCodec& codec = codecs_[report.block];
  const std::vector<uint32_t>& items = report.items;
  const bool any_size = codec.subset_size() == 0;
  return (any_size || items.size() == codec.subset_size()) &&
         std::adjacent_find(items.begin(), items.end(), std::greater_equal<>()) == items.end() &&
         (items.empty() || items.back() < codec.universe());
}

uint32_t ReportCodec::max_items() const {
  return *std::max_element(max_items_.begin(), max_items_.end());
}

std::size_t ReportCodec::bit_length(const Report& report) const {
  return block_bits_ + codecs_[report.block].bit_length(report.items);
}

void ReportCodec::write(const Report& report, BitWriter& out) const {
  out.write_bits(report.block, block_bits_);
  codecs_[report.block].write(report.items, out);
}

ParseResult<Report> ReportCodec::read(BitReader& in) const {
  Report report;
  ParseError error;
  if (!read(in, report, error)) return error;
  return report;
}

bool ReportCodec::read(std::span<const uint8_t> bytes, std::size_t bit_length, std::size_t& bit_pos,
                       Report& out, ParseError& error) const {
  if (read_common(codecs_, block_bits_, bytes, bit_length, bit_pos, out)) return true;
  const std::size_t skip = bit_pos / 8;
  BitReader in(bytes.subspan(skip), bit_length - 8 * skip);
  uint64_t ignored;
  in.read_bits(static_cast<unsigned>(bit_pos % 8), ignored);
  if (!read(in, out, error)) {
    error.offset += skip;
    return false;
  }
  bit_pos = 8 * skip + in.bit_position();
  return true;
}

bool ReportCodec::read(BitReader& in, Report& out, ParseError& error) const {
  const std::size_t start = in.bit_position();
  uint64_t block;
  if (!in.read_bits(block_bits_, block)) {
    error = error_at(in.bit_position() + in.bits_left(), "input ends inside the block index");
    return false;
  }
  if (block >= codecs_.size()) {
    error = error_at(start, "block " + std::to_string(block) + " is outside [0, " +
                                std::to_string(codecs_.size()) + ")");
    return false;
  }
  out.block = static_cast<uint32_t>(block);
  return codecs_[out.block].read(in, out.items, error);
}

std::vector<uint8_t> ReportCodec::to_bytes(const Report& report) const {
  BitWriter out;
  out.write_bits(kReportFormatVersion, 8);
  write(report, out);
  return out.take_bytes();  // take_bytes() zero-pads the last byte.
}

ParseResult<Report> ReportCodec::from_bytes(std::span<const uint8_t> bytes) const {
  if (bytes.empty()) return ParseError{"report is empty", 0};
  if (bytes[0] != kReportFormatVersion) {
    return ParseError{"report format version is " + std::to_string(bytes[0]) + ", expected " +
                          std::to_string(kReportFormatVersion),
                      0};
  }
  BitReader in(bytes);
  uint64_t version;
  in.read_bits(8, version);  // Checked above; reading on keeps offsets relative to `bytes`.
  ParseResult<Report> report = read(in);
  if (!report.ok()) return report;
  const std::size_t end = in.bit_position();
  uint64_t padding;
  in.read_bits(static_cast<unsigned>((8 - end % 8) % 8), padding);
  if (padding != 0) return error_at(end, "padding bits after the report are not zero");
  if (in.bits_left() != 0) {
    return error_at(in.bit_position(),
                    "trailing bytes after the report: " + std::to_string(in.bits_left() / 8));
  }
  return report;
}

double ReportCodec::expected_bits() const {
  return expected_report_bits(shape_);
}

double ReportCodec::entropy_bits() const {
  return report_entropy_bits(shape_);
}

std::size_t ReportCodec::max_bits() const {
  std::size_t longest = 0;
  for (const SubsetCodec& codec : codecs_) longest = std::max(longest, codec.max_bits());
  return block_bits_ + longest;
}

}  // namespace residue
