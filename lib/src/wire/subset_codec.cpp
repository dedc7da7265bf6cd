#include "residue/wire/subset_codec.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <string>

namespace residue {
namespace {

ParseError error_at(std::size_t bit, std::string message) {
  return ParseError{std::move(message), bit / 8};
}

ParseError truncated(const BitReader& in, const std::string& what) {
  return error_at(in.bit_position() + in.bits_left(), "input ends inside " + what);
}

std::string range_text(uint32_t m) {
  return "[0, " + std::to_string(m) + ")";
}

}  // namespace

SubsetCodec::SubsetCodec(uint32_t universe, uint32_t subset_size)
    : universe_(universe),
      subset_size_(subset_size),
      layout_(subset_layout(universe, subset_size)) {}

std::size_t SubsetCodec::max_bits() const {
  switch (layout_.kind) {
    case Kind::kBitmap:
      return universe_;
    case Kind::kSingle:
      return layout_.single_width;
    case Kind::kChoose:
      break;
  }
  return 1 + std::size_t{universe_};
}

std::size_t SubsetCodec::rice_bits(std::span<const uint32_t> items) const {
  std::size_t bits = std::size_t{subset_size_} * (layout_.rice_parameter + 1);
  uint32_t next = 0;
  for (uint32_t a : items) {
    bits += (a - next) >> layout_.rice_parameter;
    next = a + 1;
  }
  return bits;
}

std::size_t SubsetCodec::bit_length(std::span<const uint32_t> items) const {
  switch (layout_.kind) {
    case Kind::kBitmap:
      return universe_;
    case Kind::kSingle:
      return layout_.single_width;
    case Kind::kChoose:
      break;
  }
  return 1 + std::min(rice_bits(items), std::size_t{universe_});
}

void SubsetCodec::write_bitmap(std::span<const uint32_t> items, BitWriter& out) const {
  std::size_t i = 0;
  for (uint64_t base = 0; base < universe_; base += 64) {
    uint64_t word = 0;
    for (; i < items.size() && items[i] < base + 64; ++i) word |= uint64_t{1} << (items[i] - base);
    out.write_bits(word, static_cast<unsigned>(std::min<uint64_t>(64, universe_ - base)));
  }
}

void SubsetCodec::write(std::span<const uint32_t> items, BitWriter& out) const {
  if (layout_.kind == Kind::kBitmap) return write_bitmap(items, out);
  if (layout_.kind == Kind::kSingle) return out.write_bits(items[0], layout_.single_width);
  const unsigned b = layout_.rice_parameter;
  if (rice_bits(items) < universe_) {
    out.write_bits(1, 1);
    uint32_t next = 0;
    for (uint32_t a : items) {
      const uint32_t gap = a - next;
      const uint64_t q = gap >> b;
      const uint64_t low = gap & ((uint64_t{1} << b) - 1);
      if (q + 1 + b < 64) {  // The common case: unary and low bits in one write.
        out.write_bits(((uint64_t{1} << q) - 1) | (low << (q + 1)),
                       static_cast<unsigned>(q + 1 + b));
      } else {
        out.write_unary(q);
        out.write_bits(low, b);
      }
      next = a + 1;
    }
    return;
  }
  out.write_bits(0, 1);
  write_bitmap(items, out);
}

bool SubsetCodec::read_bitmap(BitReader& in, std::vector<uint32_t>& items,
                              ParseError& error) const {
  const uint32_t m = universe_;
  const bool exact = layout_.kind == Kind::kChoose;
  for (uint64_t base = 0; base < m; base += 64) {
    const unsigned count = static_cast<unsigned>(std::min<uint64_t>(64, m - base));
    const std::size_t word_start = in.bit_position();
    uint64_t word;
    if (!in.read_bits(count, word)) {
      error = truncated(in, "the subset bitmap of " + std::to_string(m) + " bits");
      return false;
    }
    for (; word != 0; word &= word - 1) {
      const unsigned bit = static_cast<unsigned>(std::countr_zero(word));
      if (exact && items.size() == subset_size_) {
        error = error_at(word_start + bit,
                         "subset has more than " + std::to_string(subset_size_) + " positions");
        return false;
      }
      items.push_back(static_cast<uint32_t>(base + bit));
    }
  }
  if (exact && items.size() != subset_size_) {
    error =
        error_at(in.bit_position() - 1, "subset has " + std::to_string(items.size()) +
                                            " positions, expected " + std::to_string(subset_size_));
    return false;
  }
  return true;
}

bool SubsetCodec::read(BitReader& in, std::vector<uint32_t>& items, ParseError& error) const {
  const uint32_t m = universe_;
  const uint32_t omega = subset_size_;
  items.clear();
  if (layout_.kind == Kind::kBitmap) return read_bitmap(in, items, error);
  if (layout_.kind == Kind::kSingle) {
    const std::size_t start = in.bit_position();
    uint64_t value;
    if (!in.read_bits(layout_.single_width, value)) {
      error = truncated(in, "the single position");
      return false;
    }
    if (value >= m) {
      error = error_at(start, "position " + std::to_string(value) + " is outside " + range_text(m));
      return false;
    }
    items.push_back(static_cast<uint32_t>(value));
    return true;
  }
  uint64_t flag;
  if (!in.read_bits(1, flag)) {
    error = truncated(in, "the subset flag");
    return false;
  }
  items.reserve(omega);
  if (flag == 0) return read_bitmap(in, items, error);

  const unsigned b = layout_.rice_parameter;
  uint64_t next = 0;  // Smallest value the next position may take.
  for (uint32_t i = 0; i < omega; ++i) {
    // Position i must leave room for the omega - 1 - i positions after it.
    const uint64_t last_allowed = uint64_t{m} - omega + i;
    const uint64_t max_gap = last_allowed - next;
    const uint64_t max_quotient = max_gap >> b;
    const std::size_t code_start = in.bit_position();
    auto code_name = [&] {
      return "Rice code " + std::to_string(i) + " of " + std::to_string(omega);
    };
    uint64_t q;
    if (!in.read_unary(max_quotient, q)) {
      // With more than max_quotient bits left, the failure was a run that is too long.
      error =
          in.bits_left() <= max_quotient
              ? truncated(in, code_name())
              : error_at(code_start + max_quotient, code_name() + " has a unary part above " +
                                                        std::to_string(max_quotient) +
                                                        ", the most that fits in " + range_text(m));
      return false;
    }
    uint64_t low;
    if (!in.read_bits(b, low)) {
      error = truncated(in, code_name());
      return false;
    }
    const uint64_t position = next + ((q << b) | low);
    if (position > last_allowed) {
      error = error_at(code_start,
                       position >= m
                           ? "position " + std::to_string(position) + " is outside " + range_text(m)
                           : "position " + std::to_string(position) + " leaves no room for the " +
                                 std::to_string(omega - 1 - i) + " positions after it in " +
                                 range_text(m));
      return false;
    }
    items.push_back(static_cast<uint32_t>(position));
    next = position + 1;
  }
  return true;
}

}  // namespace residue
