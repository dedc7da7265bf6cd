// BitWriter and BitReader: bit order, fields at every alignment, unary codes, end of input.
#include "residue/core/bit_io.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <vector>

#include "residue/core/error.h"

namespace residue {
namespace {

TEST_CASE("bit writer puts the first bit in the low bit of the first byte", "[bit_io]") {
  BitWriter w;
  w.write_bits(5, 3);  // 1, 0, 1
  w.write_unary(2);    // 1, 1, 0
  REQUIRE(w.bit_length() == 6);
  REQUIRE(std::vector<uint8_t>(w.bytes().begin(), w.bytes().end()) ==
          std::vector<uint8_t>{0b0001'1101});
}

TEST_CASE("bit writer keeps only the low count bits of a value", "[bit_io]") {
  BitWriter w;
  w.write_bits(0xFF, 3);
  w.write_bits(~uint64_t{0}, 0);
  REQUIRE(w.bit_length() == 3);
  REQUIRE(w.bytes().size() == 1);
  REQUIRE(w.bytes()[0] == 0x07);
}

TEST_CASE("bit writer lays out a 64-bit field across nine bytes little-endian", "[bit_io]") {
  BitWriter w;
  w.write_bits(1, 1);
  w.write_bits(0x8877665544332211, 64);
  REQUIRE(std::vector<uint8_t>(w.bytes().begin(), w.bytes().end()) ==
          std::vector<uint8_t>{0x23, 0x44, 0x66, 0x88, 0xAA, 0xCC, 0xEE, 0x10, 0x01});
}

TEST_CASE("take_bytes returns whole bytes and resets the writer", "[bit_io]") {
  BitWriter w;
  for (int i = 0; i < 100; ++i) w.write_bits(0x5, 3);
  std::vector<uint8_t> bytes = w.take_bytes();
  REQUIRE(bytes.size() == 38);    // ceil(300 / 8)
  REQUIRE(bytes.back() == 0x0B);  // bits 296..299 are 1, 1, 0, 1; the padding is zero
  REQUIRE(w.bit_length() == 0);
  REQUIRE(w.bytes().empty());
  w.write_bits(1, 1);
  REQUIRE(w.bytes()[0] == 1);
}

TEST_CASE("clear starts a fresh stream with zeroed bytes", "[bit_io]") {
  BitWriter w;
  w.write_bits(~uint64_t{0}, 64);
  w.clear();
  REQUIRE(w.bit_length() == 0);
  w.write_bits(0, 5);
  REQUIRE(w.bytes()[0] == 0);
}

TEST_CASE("random fields of every width round trip at every alignment", "[bit_io]") {
  std::mt19937_64 rng(7);
  std::vector<std::pair<uint64_t, unsigned>> fields;
  BitWriter w;
  std::size_t total = 0;
  for (int i = 0; i < 5000; ++i) {
    const unsigned count = static_cast<unsigned>(rng() % 65);
    const uint64_t value = count == 64 ? rng() : rng() & ((uint64_t{1} << count) - 1);
    fields.emplace_back(value, count);
    w.write_bits(value, count);
    total += count;
  }
  REQUIRE(w.bit_length() == total);
  BitReader r(w.bytes(), w.bit_length());
  for (const auto& [value, count] : fields) {
    uint64_t got = 1;
    REQUIRE(r.read_bits(count, got));
    REQUIRE(got == value);
  }
  REQUIRE(r.bits_left() == 0);
}

TEST_CASE("unary codes round trip across word boundaries", "[bit_io]") {
  const std::vector<uint64_t> values = {0, 1, 2, 62, 63, 64, 65, 127, 128, 129, 1000, 0, 7};
  BitWriter w;
  std::size_t total = 0;
  for (uint64_t v : values) {
    w.write_bits(1, 1);  // shifts the alignment of every code
    w.write_unary(v);
    total += v + 2;
  }
  REQUIRE(w.bit_length() == total);
  BitReader r(w.bytes(), w.bit_length());
  for (uint64_t v : values) {
    uint64_t bit;
    uint64_t got;
    REQUIRE(r.read_bits(1, bit));
    REQUIRE(r.read_unary(v, got));
    REQUIRE(got == v);
  }
  REQUIRE(r.bits_left() == 0);
}

TEST_CASE("read_bits past the end fails and consumes nothing", "[bit_io]") {
  const std::vector<uint8_t> bytes = {0xAB, 0xCD};
  BitReader r(bytes);
  uint64_t v;
  REQUIRE(r.read_bits(12, v));
  REQUIRE(v == 0xDAB);
  REQUIRE_FALSE(r.read_bits(5, v));
  REQUIRE(r.bit_position() == 12);
  REQUIRE(r.read_bits(4, v));
  REQUIRE(v == 0xC);
  REQUIRE_FALSE(r.read_bits(1, v));
  REQUIRE(r.read_bits(0, v));
  REQUIRE(v == 0);
}

TEST_CASE("bit reader stops at its bit length, not at the end of the bytes", "[bit_io]") {
  const std::vector<uint8_t> bytes = {0xFF, 0xFF};
  BitReader r(bytes, 5);
  uint64_t v;
  REQUIRE_FALSE(r.read_bits(6, v));
  REQUIRE(r.read_bits(5, v));
  REQUIRE(v == 0x1F);
  REQUIRE(r.bits_left() == 0);
}

TEST_CASE("read_unary rejects a run longer than max_value without consuming it", "[bit_io]") {
  BitWriter w;
  w.write_unary(100);
  BitReader r(w.bytes(), w.bit_length());
  uint64_t v;
  REQUIRE_FALSE(r.read_unary(99, v));
  REQUIRE_FALSE(r.read_unary(0, v));
  REQUIRE(r.bit_position() == 0);
  REQUIRE(r.read_unary(100, v));
  REQUIRE(v == 100);
}

TEST_CASE("read_unary fails when the terminating zero is past the end", "[bit_io]") {
  const std::vector<uint8_t> ones(20, 0xFF);
  BitReader all_ones(ones);
  uint64_t v;
  REQUIRE_FALSE(all_ones.read_unary(1'000'000, v));
  REQUIRE(all_ones.bit_position() == 0);

  // The zero at bit 7 exists in the byte but lies beyond the reader's bit length.
  const std::vector<uint8_t> byte = {0x7F};
  BitReader short_reader(byte, 7);
  REQUIRE_FALSE(short_reader.read_unary(100, v));
  BitReader full_reader(byte);
  REQUIRE(full_reader.read_unary(100, v));
  REQUIRE(v == 7);
}

TEST_CASE("read_unary on an empty reader fails", "[bit_io]") {
  BitReader r(std::span<const uint8_t>{});
  uint64_t v;
  REQUIRE_FALSE(r.read_unary(10, v));
}

TEST_CASE("bit reader rejects a bit length beyond its bytes", "[bit_io]") {
  const std::vector<uint8_t> bytes = {0};
  REQUIRE_THROWS_AS(BitReader(bytes, 9), Error);
}

}  // namespace
}  // namespace residue
