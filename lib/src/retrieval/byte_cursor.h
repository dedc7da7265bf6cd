// Bounds-checked little-endian reads of untrusted bytes, for the retrieval files' parsers
// (candidate units, task artifacts). Internal. A read past the end returns nullopt and leaves
// the cursor where it was, so the caller reports the offset it failed at.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace residue::byte_cursor {

inline void put_u32(std::vector<uint8_t>& out, uint32_t x) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(x >> (8 * i)));
}
inline void put_u64(std::vector<uint8_t>& out, uint64_t x) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(x >> (8 * i)));
}
/// A uint64 length, then the bytes.
inline void put_section(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  put_u64(out, bytes.size());
  out.insert(out.end(), bytes.begin(), bytes.end());
}

class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  std::size_t pos() const { return pos_; }
  std::size_t left() const { return bytes_.size() - pos_; }

  std::optional<std::span<const uint8_t>> take(uint64_t n) {
    if (n > left()) return std::nullopt;
    const auto s = bytes_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::optional<uint64_t> uint(int size) {
    const auto s = take(static_cast<uint64_t>(size));
    if (!s) return std::nullopt;
    uint64_t v = 0;
    for (int i = 0; i < size; ++i) v |= uint64_t{(*s)[static_cast<std::size_t>(i)]} << (8 * i);
    return v;
  }
  /// A put_section(): its bytes, or nullopt when the length exceeds the rest.
  std::optional<std::span<const uint8_t>> section() {
    const std::size_t at = pos_;
    const std::optional<uint64_t> n = uint(8);
    if (!n) return std::nullopt;
    const auto s = take(*n);
    if (!s) pos_ = at;
    return s;
  }

 private:
  std::span<const uint8_t> bytes_;
  std::size_t pos_ = 0;
};

}  // namespace residue::byte_cursor
