// ReportCodec: round trips, block field, known-answer bytes, strict rejection with offsets.
#include "residue/wire/report_codec.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <vector>

#include "residue/core/bit_io.h"
#include "residue/core/error.h"
#include "residue/protocols/report.h"

namespace residue {
namespace {

using Bytes = std::vector<uint8_t>;

ReportShape shape_of(std::vector<BlockShape> blocks) {
  return ReportShape{std::move(blocks)};
}

/// The shape of the examples in docs/wire_format.md.
const ReportShape kDocShape = shape_of({{64, 4}, {8, 5}, {10, 3}});

Report random_report(const ReportShape& shape, std::mt19937_64& rng) {
  Report r;
  r.block = static_cast<uint32_t>(rng() % shape.blocks.size());
  const BlockShape& b = shape.blocks[r.block];
  std::vector<char> chosen(b.universe, 0);
  for (uint64_t j = b.universe - b.subset_size; j < b.universe; ++j) {
    const uint64_t t = std::uniform_int_distribution<uint64_t>(0, j)(rng);
    (chosen[t] ? chosen[j] : chosen[t]) = 1;
  }
  for (uint32_t x = 0; x < b.universe; ++x) {
    if (chosen[x]) r.items.push_back(x);
  }
  return r;
}

TEST_CASE("the block index takes ceil(log2 B) bits", "[wire]") {
  const BlockShape block{16, 3};
  REQUIRE(ReportCodec(shape_of({block})).block_bits() == 0);
  REQUIRE(ReportCodec(shape_of({block, block})).block_bits() == 1);
  REQUIRE(ReportCodec(shape_of({block, block, block})).block_bits() == 2);
  REQUIRE(ReportCodec(shape_of(std::vector<BlockShape>(4, block))).block_bits() == 2);
  REQUIRE(ReportCodec(shape_of(std::vector<BlockShape>(5, block))).block_bits() == 3);
  REQUIRE(ReportCodec(shape_of(std::vector<BlockShape>(1024, block))).block_bits() == 10);
}

TEST_CASE("a one-block report is just its subset", "[wire]") {
  const ReportCodec codec(shape_of({{64, 4}}));
  const Report r{0, {3, 17, 40, 63}};
  REQUIRE(codec.bit_length(r) == codec.block_codec(0).bit_length(r.items));
  REQUIRE(codec.to_bytes(r) == Bytes{0x01, 0xad, 0xce, 0x33});
}

TEST_CASE("known-answer reports encode to fixed bytes", "[wire]") {
  // Worked in docs/wire_format.md; a change here is a wire format change.
  const ReportCodec codec(kDocShape);
  const Report rice{0, {3, 17, 40, 63}};
  const Report bitmap{1, {0, 2, 3, 5, 7}};
  const Report small{2, {2, 5, 9}};
  REQUIRE(codec.to_bytes(rice) == Bytes{0x01, 0xb4, 0x3a, 0xcf});
  REQUIRE(codec.to_bytes(bitmap) == Bytes{0x01, 0x69, 0x05});
  REQUIRE(codec.to_bytes(small) == Bytes{0x01, 0x4e, 0x0a});
  REQUIRE(codec.bit_length(rice) == 24);
  REQUIRE(codec.bit_length(bitmap) == 11);
  REQUIRE(codec.bit_length(small) == 12);
  REQUIRE(codec.from_bytes(Bytes{0x01, 0xb4, 0x3a, 0xcf}).value() == rice);
  REQUIRE(codec.from_bytes(Bytes{0x01, 0x69, 0x05}).value() == bitmap);
  REQUIRE(codec.from_bytes(Bytes{0x01, 0x4e, 0x0a}).value() == small);
}

TEST_CASE("random reports round trip through bits and bytes", "[wire]") {
  std::mt19937_64 rng(11);
  const std::vector<ReportShape> shapes = {
      shape_of({{2, 1}}), kDocShape, shape_of({{1000, 30}, {997, 500}, {1, 1}, {5000, 5000}}),
      shape_of({{100000, 300}, {65521, 2}, {3, 3}, {1024, 276}, {7, 1}})};
  for (const ReportShape& shape : shapes) {
    const ReportCodec codec(shape);
    BitWriter stream;
    std::vector<Report> reports;
    for (int i = 0; i < 200; ++i) {
      const Report r = random_report(shape, rng);
      REQUIRE(codec.well_formed(r));
      const std::size_t before = stream.bit_length();
      codec.write(r, stream);
      REQUIRE(stream.bit_length() - before == codec.bit_length(r));
      REQUIRE(codec.bit_length(r) <= codec.max_bits());
      const Bytes bytes = codec.to_bytes(r);
      REQUIRE(bytes.size() == 1 + (codec.bit_length(r) + 7) / 8);
      const ParseResult<Report> back = codec.from_bytes(bytes);
      REQUIRE(back.ok());
      REQUIRE(back.value() == r);
      reports.push_back(r);
    }
    BitReader in(stream.bytes(), stream.bit_length());
    for (const Report& r : reports) {
      const ParseResult<Report> back = codec.read(in);
      REQUIRE(back.ok());
      REQUIRE(back.value() == r);
    }
    REQUIRE(in.bits_left() == 0);
  }
}

TEST_CASE("well_formed checks block, size, order and range", "[wire]") {
  const ReportCodec codec(kDocShape);
  REQUIRE(codec.well_formed({0, {3, 17, 40, 63}}));
  REQUIRE_FALSE(codec.well_formed({3, {3, 17, 40, 63}}));
  REQUIRE_FALSE(codec.well_formed({0, {3, 17, 40}}));
  REQUIRE_FALSE(codec.well_formed({0, {3, 17, 40, 63, 5}}));
  REQUIRE_FALSE(codec.well_formed({0, {3, 40, 17, 63}}));
  REQUIRE_FALSE(codec.well_formed({0, {3, 17, 17, 63}}));
  REQUIRE_FALSE(codec.well_formed({0, {3, 17, 40, 64}}));
  REQUIRE_FALSE(codec.well_formed({0, {}}));
}

TEST_CASE("max_items is the subset size, the any-size bound, or the universe", "[wire]") {
  const ReportCodec codec(ReportShape{{{64, 4}, {100, 0, 30}, {50, 0}, {20, 0, 90}}});
  CHECK(codec.max_items(0) == 4);
  CHECK(codec.max_items(1) == 30);
  CHECK(codec.max_items(2) == 50);  // no bound
  CHECK(codec.max_items(3) == 20);  // a bound above the universe is the universe
  CHECK(codec.max_items() == 50);
}

TEST_CASE("report codec rejects an empty shape and names a bad block", "[wire]") {
  REQUIRE_THROWS_AS(ReportCodec(ReportShape{}), Error);
  REQUIRE_THROWS_WITH(ReportCodec(shape_of({{10, 3}, {10, 11}})),
                      Catch::Contains("shape.blocks[1]") && Catch::Contains("subset_size"));
}

TEST_CASE("expected, entropy and max bits average over blocks", "[wire]") {
  const ReportCodec codec(kDocShape);
  double expected = 0;
  double entropy = 0;
  for (uint32_t j = 0; j < 3; ++j) {
    expected += codec.block_codec(j).expected_bits() / 3;
    entropy += codec.block_codec(j).entropy_bits() / 3;
  }
  REQUIRE(codec.expected_bits() == Approx(2 + expected));
  REQUIRE(codec.entropy_bits() == Approx(std::log2(3.0) + entropy));
  REQUIRE(codec.max_bits() == 2 + 65);
}

/// Parses `bytes` with `codec`, requires failure, and returns the error.
ParseError parse_error(const ReportCodec& codec, const Bytes& bytes) {
  const ParseResult<Report> r = codec.from_bytes(bytes);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

TEST_CASE("an empty report is rejected at offset 0", "[wire]") {
  const ParseError e = parse_error(ReportCodec(kDocShape), {});
  REQUIRE(e.message == "report is empty");
  REQUIRE(e.offset == 0);
}

TEST_CASE("a wrong version byte is rejected at offset 0", "[wire]") {
  const ReportCodec codec(kDocShape);
  for (const uint8_t version : Bytes{0, 2, 255}) {
    const ParseError e = parse_error(codec, {version, 0xb4, 0x3a, 0xcf});
    REQUIRE(e.message == "report format version is " + std::to_string(version) + ", expected 1");
    REQUIRE(e.offset == 0);
  }
}

TEST_CASE("a block index outside the shape is rejected at its byte", "[wire]") {
  // Block 3 of 3: the low two bits of byte 1 are 1, 1.
  const ParseError e = parse_error(ReportCodec(kDocShape), {0x01, 0xb7, 0x3a, 0xcf});
  REQUIRE(e.message == "block 3 is outside [0, 3)");
  REQUIRE(e.offset == 1);
}

TEST_CASE("non-zero padding bits are rejected at the last byte", "[wire]") {
  // The bitmap report uses 11 bits, so bits 11..15 of the payload are padding.
  const ParseError e = parse_error(ReportCodec(kDocShape), {0x01, 0x69, 0x05 | 0x80});
  REQUIRE(e.message == "padding bits after the report are not zero");
  REQUIRE(e.offset == 2);
}

TEST_CASE("trailing bytes after a report are rejected where they start", "[wire]") {
  const ParseError e = parse_error(ReportCodec(kDocShape), {0x01, 0x69, 0x05, 0x00, 0x00});
  REQUIRE(e.message == "trailing bytes after the report: 2");
  REQUIRE(e.offset == 3);
}

TEST_CASE("subset errors carry offsets from the start of the report", "[wire]") {
  // The bitmap report with position 7 cleared: 4 positions instead of 5.
  const ParseError e = parse_error(ReportCodec(kDocShape), {0x01, 0x69, 0x01});
  REQUIRE(e.message == "subset has 4 positions, expected 5");
  REQUIRE(e.offset == 2);
}

TEST_CASE("every truncation of a valid report is rejected at its end", "[wire]") {
  std::mt19937_64 rng(12);
  const ReportShape shape = shape_of({{100000, 300}, {64, 60}, {1024, 276}});
  const ReportCodec codec(shape);
  for (int i = 0; i < 30; ++i) {
    const Bytes full = codec.to_bytes(random_report(shape, rng));
    for (std::size_t length = 0; length < full.size(); ++length) {
      INFO("length " << length << " of " << full.size());
      const ParseError e = parse_error(codec, Bytes(full.begin(), full.begin() + length));
      REQUIRE(e.offset == length);
    }
  }
}

}  // namespace
}  // namespace residue
