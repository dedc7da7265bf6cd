// SubsetCodec: round trips, exact and expected lengths, form choice, strict rejection.
#include "residue/wire/subset_codec.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "residue/core/bit_io.h"
#include "residue/core/error.h"

namespace residue {
namespace {

/// A uniformly random omega-subset of [0, m), sorted (Floyd's algorithm).
std::vector<uint32_t> random_subset(uint32_t m, uint32_t omega, std::mt19937_64& rng) {
  std::vector<char> chosen(m, 0);
  for (uint64_t j = m - omega; j < m; ++j) {
    const uint64_t t = std::uniform_int_distribution<uint64_t>(0, j)(rng);
    (chosen[t] ? chosen[j] : chosen[t]) = 1;
  }
  std::vector<uint32_t> items;
  for (uint32_t x = 0; x < m; ++x) {
    if (chosen[x]) items.push_back(x);
  }
  return items;
}

/// Rice length of the gaps, computed independently of the codec.
std::size_t rice_length(const std::vector<uint32_t>& items, unsigned b) {
  std::size_t bits = 0;
  int64_t previous = -1;
  for (uint32_t a : items) {
    bits += (static_cast<uint64_t>(a - previous - 1) >> b) + 1 + b;
    previous = a;
  }
  return bits;
}

struct Shape {
  uint32_t m;
  uint32_t omega;
};

const std::vector<Shape> kShapes = {
    {2, 1},       {2, 2},      {3, 1},        {7, 2},          {10, 3},         {64, 4},
    {64, 64},     {65, 1},     {100, 50},     {128, 127},      {1000, 10},      {1024, 276},
    {4096, 4096}, {100000, 1}, {100000, 300}, {100000, 30000}, {100000, 100000}};

TEST_CASE("random subsets round trip with exact bit lengths at any alignment", "[wire]") {
  std::mt19937_64 rng(1);
  for (const Shape& s : kShapes) {
    INFO("m = " << s.m << ", omega = " << s.omega);
    const SubsetCodec codec(s.m, s.omega);
    const int trials = s.m > 10000 ? 5 : 200;
    for (int trial = 0; trial < trials; ++trial) {
      const std::vector<uint32_t> items = random_subset(s.m, s.omega, rng);
      const unsigned prefix = static_cast<unsigned>(trial % 8);
      BitWriter w;
      w.write_bits(0x55, prefix);
      codec.write(items, w);
      REQUIRE(w.bit_length() == prefix + codec.bit_length(items));
      REQUIRE(codec.bit_length(items) <= codec.max_bits());

      BitReader r(w.bytes(), w.bit_length());
      uint64_t skipped;
      REQUIRE(r.read_bits(prefix, skipped));
      std::vector<uint32_t> back;
      ParseError error;
      REQUIRE(codec.read(r, back, error));
      REQUIRE(back == items);
      REQUIRE(r.bits_left() == 0);
    }
  }
}

TEST_CASE("subsets written back to back read back in order", "[wire]") {
  std::mt19937_64 rng(2);
  const SubsetCodec codec(300, 20);
  std::vector<std::vector<uint32_t>> subsets;
  BitWriter w;
  for (int i = 0; i < 50; ++i) {
    subsets.push_back(random_subset(300, 20, rng));
    codec.write(subsets.back(), w);
  }
  BitReader r(w.bytes(), w.bit_length());
  std::vector<uint32_t> back;
  ParseError error;
  for (const auto& items : subsets) {
    REQUIRE(codec.read(r, back, error));
    REQUIRE(back == items);
  }
  REQUIRE(r.bits_left() == 0);
}

TEST_CASE("the writer picks the shorter representation, bitmap on ties", "[wire]") {
  std::mt19937_64 rng(3);
  for (const Shape& s : kShapes) {
    if (s.omega < 2) continue;  // one position has its own fixed-width layout
    INFO("m = " << s.m << ", omega = " << s.omega);
    const SubsetCodec codec(s.m, s.omega);
    for (int trial = 0; trial < 20; ++trial) {
      const std::vector<uint32_t> items = random_subset(s.m, s.omega, rng);
      const std::size_t rice = rice_length(items, codec.rice_parameter());
      BitWriter w;
      codec.write(items, w);
      const bool rice_flag = (w.bytes()[0] & 1) != 0;
      REQUIRE(rice_flag == (rice < s.m));
      REQUIRE(codec.bit_length(items) == 1 + std::min<std::size_t>(rice, s.m));
    }
  }
}

TEST_CASE("a full subset is a bitmap and a sparse one is Rice coded", "[wire]") {
  std::vector<uint32_t> all(64);
  for (uint32_t i = 0; i < 64; ++i) all[i] = i;
  BitWriter full;
  SubsetCodec(64, 64).write(all, full);
  REQUIRE((full.bytes()[0] & 1) == 0);
  REQUIRE(full.bit_length() == 65);

  BitWriter sparse;
  const std::vector<uint32_t> two = {5, 99'999};
  SubsetCodec(100'000, 2).write(two, sparse);
  REQUIRE((sparse.bytes()[0] & 1) == 1);
  REQUIRE(sparse.bit_length() < 40);
}

TEST_CASE("the Rice parameter is near log2 of the mean gap", "[wire]") {
  REQUIRE(SubsetCodec(100'000, 100).rice_parameter() == 9);
  REQUIRE(SubsetCodec(64, 4).rice_parameter() == 3);
  REQUIRE(SubsetCodec(1024, 276).rice_parameter() == 1);
  REQUIRE(SubsetCodec(10, 10).rice_parameter() == 0);
}

TEST_CASE("expected_bits matches the mean length of random subsets", "[wire]") {
  std::mt19937_64 rng(4);
  const std::vector<Shape> shapes = {{2, 1},      {10, 3},       {64, 4},        {100, 50},
                                     {1000, 10},  {1024, 276},   {1024, 400},    {4096, 4096},
                                     {100000, 1}, {100000, 300}, {100000, 30000}};
  for (const Shape& s : shapes) {
    INFO("m = " << s.m << ", omega = " << s.omega);
    const SubsetCodec codec(s.m, s.omega);
    const int trials = s.m > 10000 ? 100 : 2000;
    double total = 0;
    for (int trial = 0; trial < trials; ++trial) {
      total += static_cast<double>(codec.bit_length(random_subset(s.m, s.omega, rng)));
    }
    REQUIRE(codec.expected_bits() == Approx(total / trials).epsilon(0.03));
  }
}

TEST_CASE("Rice coding is within 2% of the entropy bound when omega is small", "[wire]") {
  const std::vector<Shape> shapes = {{100000, 100}, {65536, 300}, {100000, 1000}, {1 << 20, 1000}};
  for (const Shape& s : shapes) {
    INFO("m = " << s.m << ", omega = " << s.omega);
    const SubsetCodec codec(s.m, s.omega);
    REQUIRE(codec.expected_bits() < codec.universe());  // Rice, not the bitmap
    REQUIRE(codec.expected_bits() > codec.entropy_bits());
    REQUIRE(codec.expected_bits() < 1.02 * codec.entropy_bits());
  }
}

TEST_CASE("entropy_bits is log2 of the binomial coefficient", "[wire]") {
  REQUIRE(SubsetCodec(4, 2).entropy_bits() == Approx(std::log2(6.0)));
  REQUIRE(SubsetCodec(64, 4).entropy_bits() == Approx(std::log2(635'376.0)));
  REQUIRE(SubsetCodec(9, 9).entropy_bits() == Approx(0.0).margin(1e-9));
  REQUIRE(SubsetCodec(9, 9).max_bits() == 10);
}

TEST_CASE("a single position takes ceil(log2 m) bits and nothing else", "[wire]") {
  for (uint32_t m : {2u, 3u, 64u, 65u, 100'000u}) {
    const SubsetCodec codec(m, 1);
    const unsigned width = static_cast<unsigned>(std::ceil(std::log2(static_cast<double>(m))));
    REQUIRE(codec.max_bits() == width);
    REQUIRE(codec.expected_bits() == width);
    for (uint32_t value : {0u, m / 2, m - 1}) {
      BitWriter w;
      const std::vector<uint32_t> one = {value};
      codec.write(one, w);
      REQUIRE(w.bit_length() == width);
      REQUIRE(codec.bit_length(one) == width);
      BitReader r(w.bytes(), w.bit_length());
      std::vector<uint32_t> back;
      ParseError error;
      REQUIRE(codec.read(r, back, error));
      REQUIRE(back == one);
    }
  }
  // A value in [m, 2^width) is rejected at its byte.
  BitWriter w;
  w.write_bits(70, 7);
  BitReader r(w.bytes(), w.bit_length());
  std::vector<uint32_t> back;
  ParseError error;
  REQUIRE_FALSE(SubsetCodec(65, 1).read(r, back, error));
  REQUIRE(error.offset == 0);
  REQUIRE_THAT(error.message, Catch::Contains("position 70 is outside [0, 65)"));
}

TEST_CASE("a subset of any size is a bare bitmap", "[wire]") {
  const SubsetCodec codec(70, 0);
  REQUIRE(codec.max_bits() == 70);
  for (const std::vector<uint32_t>& items : {std::vector<uint32_t>{}, {0}, {3, 64, 69}, [] {
                                               std::vector<uint32_t> all(70);
                                               for (uint32_t i = 0; i < 70; ++i) all[i] = i;
                                               return all;
                                             }()}) {
    BitWriter w;
    codec.write(items, w);
    REQUIRE(w.bit_length() == 70);
    REQUIRE(codec.bit_length(items) == 70);
    BitReader r(w.bytes(), w.bit_length());
    std::vector<uint32_t> back;
    ParseError error;
    REQUIRE(codec.read(r, back, error));
    REQUIRE(back == items);
  }
}

TEST_CASE("subset codec rejects sizes above the universe", "[wire]") {
  REQUIRE_THROWS_AS(SubsetCodec(10, 11), Error);
  REQUIRE_THROWS_AS(SubsetCodec(0, 0), Error);
  REQUIRE_THROWS_WITH(SubsetCodec(10, 11), Catch::Contains("subset_size") && Catch::Contains("11"));
}

/// Reads `bits` with `codec` and returns the error; fails the test if the read succeeds.
ParseError read_error(const SubsetCodec& codec, const BitWriter& bits) {
  BitReader r(bits.bytes(), bits.bit_length());
  std::vector<uint32_t> items;
  ParseError error;
  const bool ok = codec.read(r, items, error);
  CHECK_FALSE(ok);
  return error;
}

TEST_CASE("reading an empty input fails at offset 0", "[wire]") {
  const BitWriter empty;
  const ParseError e = read_error(SubsetCodec(10, 3), empty);
  REQUIRE(e.offset == 0);
  REQUIRE_THAT(e.message, Catch::Contains("flag"));
}

TEST_CASE("a bitmap with too few positions is rejected at its last byte", "[wire]") {
  BitWriter w;
  w.write_bits(0, 1);
  w.write_bits(0b1011, 64);
  const ParseError e = read_error(SubsetCodec(64, 4), w);
  REQUIRE(e.message == "subset has 3 positions, expected 4");
  REQUIRE(e.offset == 8);  // the bitmap's last bit is bit 64
}

TEST_CASE("a bitmap with too many positions is rejected at the extra one", "[wire]") {
  BitWriter w;
  w.write_bits(0, 1);
  w.write_bits((uint64_t{1} << 40) | 0b1111, 64);
  const ParseError e = read_error(SubsetCodec(64, 4), w);
  REQUIRE(e.message == "subset has more than 4 positions");
  REQUIRE(e.offset == 5);  // bit 41
}

TEST_CASE("a truncated bitmap is rejected at the end of the input", "[wire]") {
  BitWriter w;
  w.write_bits(0, 1);
  w.write_bits(0b1111, 30);
  const ParseError e = read_error(SubsetCodec(64, 4), w);
  REQUIRE_THAT(e.message, Catch::Contains("input ends inside the subset bitmap"));
  REQUIRE(e.offset == 3);  // 31 bits: the first missing bit is in byte 3
}

/// Flag 1 and Rice codes of `gaps` with parameter b (no validity checks).
BitWriter rice_codes(const std::vector<uint64_t>& gaps, unsigned b) {
  BitWriter w;
  w.write_bits(1, 1);
  for (uint64_t g : gaps) {
    w.write_unary(g >> b);
    w.write_bits(g, b);
  }
  return w;
}

TEST_CASE("a Rice position outside the universe is rejected at its code", "[wire]") {
  const SubsetCodec codec(64, 4);
  const unsigned b = codec.rice_parameter();
  // Positions 0, 1, 2, then gap 63: position 66; its code starts at bit 1 + 3 (b + 1).
  const ParseError e = read_error(codec, rice_codes({0, 0, 0, 63}, b));
  REQUIRE(e.message == "position 66 is outside [0, 64)");
  REQUIRE(e.offset == (1 + 3 * (b + 1)) / 8);
}

TEST_CASE("a Rice position that leaves no room for the rest is rejected", "[wire]") {
  const SubsetCodec codec(64, 4);
  const ParseError e = read_error(codec, rice_codes({62, 0, 0, 0}, codec.rice_parameter()));
  REQUIRE(e.message == "position 62 leaves no room for the 3 positions after it in [0, 64)");
  REQUIRE(e.offset == 0);
}

TEST_CASE("a unary run longer than the universe allows is rejected where it overflows", "[wire]") {
  const SubsetCodec codec(100'000, 1000);
  const uint64_t max_quotient = (100'000 - 1000) >> codec.rice_parameter();
  BitWriter w;
  w.write_bits(1, 1);
  for (int i = 0; i < 100'000; ++i) w.write_bits(~uint64_t{0}, 64);  // 6.4 Mbit of ones
  const ParseError e = read_error(codec, w);
  REQUIRE_THAT(e.message, Catch::Contains("unary part above " + std::to_string(max_quotient)));
  REQUIRE(e.offset == (1 + max_quotient) / 8);
}

TEST_CASE("a truncated Rice code is rejected at the end of the input", "[wire]") {
  const SubsetCodec codec(64, 4);
  BitWriter valid;
  codec.write(std::vector<uint32_t>{3, 17, 40, 63}, valid);
  REQUIRE((valid.bytes()[0] & 1) == 1);
  for (std::size_t bits = 0; bits < valid.bit_length(); ++bits) {
    INFO("bits = " << bits);
    BitReader r(valid.bytes(), bits);
    std::vector<uint32_t> items;
    ParseError error;
    REQUIRE_FALSE(codec.read(r, items, error));
    REQUIRE_THAT(error.message, Catch::StartsWith("input ends inside"));
    REQUIRE(error.offset == bits / 8);
  }
}

}  // namespace
}  // namespace residue
