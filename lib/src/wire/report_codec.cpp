#include "residue/wire/report_codec.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <string>
#include <utility>

namespace residue {
namespace {

ParseError error_at(std::size_t bit, std::string message) {
  return ParseError{std::move(message), bit / 8};
}

}  // namespace

ReportCodec::ReportCodec(const ReportShape& shape) {
  if (shape.blocks.empty()) throw Error("shape.blocks must not be empty, but has 0 blocks.");
  codecs_.reserve(shape.blocks.size());
  for (std::size_t j = 0; j < shape.blocks.size(); ++j) {
    try {
      codecs_.emplace_back(shape.blocks[j].universe, shape.blocks[j].subset_size);
    } catch (const Error& e) {
      throw Error("shape.blocks[" + std::to_string(j) + "]: " + e.what());
    }
  }
  // Block indices are uint32_t, so a valid shape has at most 2^32 blocks.
  block_bits_ = static_cast<unsigned>(std::bit_width(uint64_t{codecs_.size()} - 1));
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

std::size_t ReportCodec::bit_length(const Report& report) const {
  return block_bits_ + codecs_[report.block].bit_length(report.items);
}

void ReportCodec::write(const Report& report, BitWriter& out) const {
  out.write_bits(report.block, block_bits_);
  codecs_[report.block].write(report.items, out);
}

ParseResult<Report> ReportCodec::read(BitReader& in) const {
  const std::size_t start = in.bit_position();
  uint64_t block;
  if (!in.read_bits(block_bits_, block)) {
    return error_at(in.bit_position() + in.bits_left(), "input ends inside the block index");
  }
  if (block >= codecs_.size()) {
    return error_at(start, "block " + std::to_string(block) + " is outside [0, " +
                               std::to_string(codecs_.size()) + ")");
  }
  Report report;
  report.block = static_cast<uint32_t>(block);
  ParseError error;
  if (!codecs_[report.block].read(in, report.items, error)) return error;
  return report;
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
  double sum = 0;
  for (const SubsetCodec& codec : codecs_) sum += codec.expected_bits();
  return block_bits_ + sum / static_cast<double>(codecs_.size());
}

double ReportCodec::entropy_bits() const {
  double sum = 0;
  for (const SubsetCodec& codec : codecs_) sum += codec.entropy_bits();
  return std::log2(static_cast<double>(codecs_.size())) + sum / static_cast<double>(codecs_.size());
}

std::size_t ReportCodec::max_bits() const {
  std::size_t longest = 0;
  for (const SubsetCodec& codec : codecs_) longest = std::max(longest, codec.max_bits());
  return block_bits_ + longest;
}

}  // namespace residue
