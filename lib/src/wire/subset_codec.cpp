#include "residue/wire/subset_codec.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <string>

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
    : universe_(universe), subset_size_(subset_size) {
  if (universe < 1 || subset_size > universe) {
    throw Error("subset_size must be in [0, universe = " + std::to_string(universe) +
                "] with universe >= 1, but is " + std::to_string(subset_size) + ".");
  }
  if (subset_size == 0) {
    layout_ = Layout::kBitmap;
    expected_bits_ = universe;
    return;
  }
  if (subset_size == 1) {
    layout_ = Layout::kSingle;
    single_width_ = static_cast<unsigned>(std::bit_width(universe - 1));
    expected_bits_ = single_width_;
    return;
  }
  // b is part of the wire format, so it comes from integers only (no libm, no platform
  // drift). For gaps of mean g, a Rice code costs about b + 1 + (g + 1/2) / 2^b bits per
  // position; that is convex in b, and increasing b pays while 2^(b+1) < 2g + 1. With
  // g = (m - omega) / (omega + 1), over a sweep of 600 (m, omega) this is within 1.1% (0.01%
  // on average) of the b minimizing the exact expected length.
  const uint64_t n = 2 * (uint64_t{universe} - subset_size) + subset_size + 1;
  const uint64_t d = 2 * (uint64_t{subset_size} + 1);
  rice_parameter_ = 0;
  while ((d << (rice_parameter_ + 1)) < n) ++rice_parameter_;
  const double best = expected_rice_bits(universe, subset_size, rice_parameter_);
  // The writer sends min(bitmap, Rice) per subset; this is the min of the two expectations,
  // an upper bound on the true mean that is tight except where they nearly coincide.
  expected_bits_ = 1 + std::min(static_cast<double>(universe), best);
}

double SubsetCodec::entropy_bits() const {
  switch (layout_) {
    case Layout::kBitmap:
      return universe_;
    case Layout::kSingle:
      return std::log2(static_cast<double>(universe_));
    case Layout::kChoose:
      break;
  }
  return log_choose(universe_, subset_size_) / std::log(2.0);
}

std::size_t SubsetCodec::max_bits() const {
  switch (layout_) {
    case Layout::kBitmap:
      return universe_;
    case Layout::kSingle:
      return single_width_;
    case Layout::kChoose:
      break;
  }
  return 1 + std::size_t{universe_};
}

std::size_t SubsetCodec::rice_bits(std::span<const uint32_t> items) const {
  std::size_t bits = std::size_t{subset_size_} * (rice_parameter_ + 1);
  uint32_t next = 0;
  for (uint32_t a : items) {
    bits += (a - next) >> rice_parameter_;
    next = a + 1;
  }
  return bits;
}

std::size_t SubsetCodec::bit_length(std::span<const uint32_t> items) const {
  switch (layout_) {
    case Layout::kBitmap:
      return universe_;
    case Layout::kSingle:
      return single_width_;
    case Layout::kChoose:
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
  if (layout_ == Layout::kBitmap) return write_bitmap(items, out);
  if (layout_ == Layout::kSingle) return out.write_bits(items[0], single_width_);
  const unsigned b = rice_parameter_;
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
  const bool exact = layout_ == Layout::kChoose;
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
  if (layout_ == Layout::kBitmap) return read_bitmap(in, items, error);
  if (layout_ == Layout::kSingle) {
    const std::size_t start = in.bit_position();
    uint64_t value;
    if (!in.read_bits(single_width_, value)) {
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

  const unsigned b = rice_parameter_;
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
