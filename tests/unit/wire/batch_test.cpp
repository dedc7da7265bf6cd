// Batch: round trips, known-answer bytes, strict rejection with offsets, corruption.
#include "residue/wire/batch.h"

#include <openssl/sha.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "residue/core/bit_io.h"
#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/protocols/report.h"
#include "residue/random/seeded_rng.h"
#include "residue/wire/report_codec.h"

namespace residue {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr std::size_t kCountAt = 40;
constexpr std::size_t kPayloadBitsAt = 44;

/// The shape of the worked examples in docs/wire_format.md.
const ReportShape kDocShape{{{64, 4}, {8, 5}, {10, 3}}};

BatchId test_id() {
  BatchId id;
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(i);
  return id;
}

ParamsHash test_hash() {
  ParamsHash hash;
  for (std::size_t i = 0; i < hash.size(); ++i) hash[i] = static_cast<uint8_t>(0xa0 + i);
  return hash;
}

Report random_report(const ReportShape& shape, std::mt19937_64& rng) {
  Report r;
  r.block = static_cast<uint32_t>(rng() % shape.blocks.size());
  const BlockShape& b = shape.blocks[r.block];
  for (uint32_t x = 0; x < b.universe; ++x) {
    // Any-size blocks get a random bitmap; fixed-size ones a uniform subset (selection sampling).
    const bool take = b.subset_size == 0
                          ? rng() % 2 == 0
                          : rng() % (b.universe - x) < b.subset_size - r.items.size();
    if (take) r.items.push_back(x);
  }
  return r;
}

std::vector<Report> random_reports(const ReportShape& shape, std::size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Report> reports(n);
  for (Report& r : reports) r = random_report(shape, rng);
  return reports;
}

/// Recomputes the checksum after a test edits the body, so the checks behind it are reached.
void reseal(Bytes& batch) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(batch.data(), batch.size() - kBatchChecksumBytes, digest);
  std::copy_n(digest, kBatchChecksumBytes, batch.end() - kBatchChecksumBytes);
}

void put_u32(Bytes& batch, std::size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) batch[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t get_u32(const Bytes& batch, std::size_t at) {
  return uint32_t{batch[at]} | uint32_t{batch[at + 1]} << 8 | uint32_t{batch[at + 2]} << 16 |
         uint32_t{batch[at + 3]} << 24;
}

/// The error of parsing `batch`, which must be rejected.
ParseError rejection(const ReportCodec& codec, const Bytes& batch,
                     uint32_t max_reports = kMaxBatchReports) {
  std::vector<Report> reports;
  const ParseResult<BatchHeader> r = parse_batch(codec, batch, reports, max_reports);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

bool mentions(const ParseError& e, const std::string& text) {
  return e.message.find(text) != std::string::npos;
}

TEST_CASE("random batch ids are 16 bytes of the rng in little-endian order", "[wire]") {
  SeededRng a(7);
  SeededRng b(7);
  const uint64_t w0 = b.next_u64();
  const uint64_t w1 = b.next_u64();
  const BatchId id = random_batch_id(a);
  for (std::size_t i = 0; i < 8; ++i) {
    REQUIRE(id[i] == static_cast<uint8_t>(w0 >> (8 * i)));
    REQUIRE(id[8 + i] == static_cast<uint8_t>(w1 >> (8 * i)));
  }
  REQUIRE(random_batch_id(a) != id);
}

TEST_CASE("a known batch encodes to fixed bytes", "[wire]") {
  // docs/wire_format.md, "Batch"; a change here is a wire format change.
  const ReportCodec codec(kDocShape);
  const std::vector<Report> reports = {{0, {3, 17, 40, 63}}, {1, {0, 2, 3, 5, 7}}, {2, {2, 5, 9}}};
  const Bytes expected = {
      'R',  'S',  'B',  '1',  0x01, 0x00, 0x00, 0x00,                          // magic .. reserved
      0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,  // batch id
      0x0c, 0x0d, 0x0e, 0x0f,                                                  //
      0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,  // params hash
      0xac, 0xad, 0xae, 0xaf,                                                  //
      0x03, 0x00, 0x00, 0x00, 0x2f, 0x00, 0x00, 0x00,  // 3 reports, 24 + 11 + 12 = 47 bits
      0xb4, 0x3a, 0xcf, 0x69, 0x75, 0x52,              // the reports' bits back to back
      0x71, 0xe1, 0xa1, 0xeb, 0x4e, 0x4f, 0xe4, 0x8f, 0x3b, 0xb1, 0xeb, 0x4b,  // SHA-256[0, 16)
      0xc3, 0x06, 0x62, 0x58};
  REQUIRE(encode_batch(codec, test_id(), test_hash(), reports) == expected);

  std::vector<Report> parsed;
  const ParseResult<BatchHeader> r = parse_batch(codec, expected, parsed);
  REQUIRE(r.ok());
  REQUIRE(r.value().id == test_id());
  REQUIRE(r.value().params_hash == test_hash());
  REQUIRE(r.value().count == 3);
  REQUIRE(r.value().payload_bits == 47);
  REQUIRE(parsed == reports);
}

TEST_CASE("batches of every report layout round trip", "[wire]") {
  const std::vector<ReportShape> shapes = {
      kDocShape, ReportShape{{{1000, 1}}},                 // single position
      ReportShape{{{50, 0}}},                              // any-size bitmap
      ReportShape{{{1, 1}}},                               // zero-bit reports
      ReportShape{{{31, 8}, {32, 9}, {33, 10}, {37, 12}}}  // MSS-like: coprime moduli
  };
  for (const ReportShape& shape : shapes) {
    const ReportCodec codec(shape);
    for (std::size_t n : {0, 1, 2, 7, 1000}) {
      const std::vector<Report> reports = random_reports(shape, n, n + 1);
      const Bytes batch = encode_batch(codec, test_id(), test_hash(), reports);
      std::size_t bits = 0;
      for (const Report& r : reports) bits += codec.bit_length(r);
      REQUIRE(batch.size() == kBatchHeaderBytes + (bits + 7) / 8 + kBatchChecksumBytes);

      const ParseResult<BatchHeader> header = parse_batch_header(batch);
      REQUIRE(header.ok());
      REQUIRE(header.value().count == n);
      REQUIRE(header.value().payload_bits == bits);
      std::vector<Report> parsed;
      const ParseResult<BatchHeader> r = parse_batch(codec, batch, parsed);
      REQUIRE(r.ok());
      REQUIRE(parsed == reports);
    }
  }
}

TEST_CASE("an empty batch is header and checksum only", "[wire]") {
  const ReportCodec codec(kDocShape);
  const Bytes batch = encode_batch(codec, test_id(), test_hash(), {});
  REQUIRE(batch.size() == kBatchHeaderBytes + kBatchChecksumBytes);
  std::vector<Report> parsed(5);
  REQUIRE(parse_batch(codec, batch, parsed).ok());
  REQUIRE(parsed.empty());
}

TEST_CASE("large batches of mss reports round trip and reuse the output storage", "[wire]") {
  const Protocol mss = make_protocol(complete_params({.protocol = "mss", .k = 1024, .epsilon = 2}));
  const ReportCodec codec(mss.shape());
  SeededRng rng(3);
  std::vector<Report> reports(100000);
  for (std::size_t i = 0; i < reports.size(); ++i) {
    mss.encoder().encode(static_cast<uint32_t>(i % 1024), rng, reports[i]);
  }
  const Bytes big = encode_batch(codec, test_id(), test_hash(), reports);
  const Bytes small = encode_batch(codec, test_id(), test_hash(), {reports.data(), 10});
  std::vector<Report> parsed;
  REQUIRE(parse_batch(codec, big, parsed).ok());
  REQUIRE(parsed == reports);
  const uint32_t* first_items = parsed[0].items.data();
  REQUIRE(parse_batch(codec, small, parsed).ok());
  REQUIRE(parsed.size() == 10);
  REQUIRE(parsed[0].items.data() == first_items);  // read in place, no new allocation
  REQUIRE(std::equal(parsed.begin(), parsed.end(), reports.begin()));
}

TEST_CASE("encoding a report that does not fit the shape throws", "[wire]") {
  const ReportCodec codec(kDocShape);
  const std::vector<Report> bad = {{0, {3, 17, 40, 63}}, {3, {1, 2, 3}}};
  REQUIRE_THROWS_AS(encode_batch(codec, test_id(), test_hash(), bad), Error);
  const std::vector<Report> unsorted = {{2, {5, 2, 9}}};
  REQUIRE_THROWS_AS(encode_batch(codec, test_id(), test_hash(), unsorted), Error);
}

TEST_CASE("every header field is checked at its own offset", "[wire]") {
  const ReportCodec codec(kDocShape);
  const Bytes good = encode_batch(codec, test_id(), test_hash(), random_reports(kDocShape, 5, 9));
  auto with = [&](std::size_t at, uint8_t value) {
    Bytes b = good;
    b[at] = value;
    return b;
  };
  for (std::size_t i = 0; i < 4; ++i) {
    const ParseError e = rejection(codec, with(i, good[i] ^ 0x20));
    REQUIRE(e.offset == 0);
    REQUIRE(mentions(e, "magic"));
  }
  REQUIRE(rejection(codec, with(4, 2)).offset == 4);
  REQUIRE(mentions(rejection(codec, with(4, 0)), "version is 0, expected 1"));
  REQUIRE(rejection(codec, with(5, 1)).offset == 5);
  REQUIRE(mentions(rejection(codec, with(5, 0x80)), "flags"));
  REQUIRE(rejection(codec, with(6, 1)).offset == 6);
  REQUIRE(rejection(codec, with(7, 1)).offset == 6);
  REQUIRE(mentions(rejection(codec, with(7, 1)), "reserved"));
}

TEST_CASE("a count above the limit is refused at the count field", "[wire]") {
  const ReportCodec codec(kDocShape);
  const Bytes good = encode_batch(codec, test_id(), test_hash(), random_reports(kDocShape, 5, 9));
  REQUIRE(parse_batch_header(good, 5).ok());
  const ParseError e = rejection(codec, good, 4);
  REQUIRE(e.offset == kCountAt);
  REQUIRE(mentions(e, "5 reports, more than the limit 4"));

  Bytes huge = good;
  put_u32(huge, kCountAt, 0xffffffff);
  reseal(huge);
  REQUIRE(rejection(codec, huge).offset == kCountAt);
}

TEST_CASE("a count the payload cannot hold fails without allocating for it", "[wire]") {
  // One-bit reports: 16 payload bits hold 16 of them, not the million the count claims.
  const ReportCodec codec(ReportShape{{{2, 1}}});
  Bytes batch = encode_batch(codec, test_id(), test_hash(), std::vector<Report>(16, {0, {1}}));
  put_u32(batch, kCountAt, kMaxBatchReports);
  reseal(batch);
  std::vector<Report> reports;
  const ParseResult<BatchHeader> r = parse_batch(codec, batch, reports);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().offset == kBatchHeaderBytes + 2);
  REQUIRE(mentions(r.error(), "report 16 of 1048576: input ends"));
  REQUIRE(reports.capacity() <= 64);
}

TEST_CASE("the total length must match the payload bits exactly", "[wire]") {
  const ReportCodec codec(kDocShape);
  const Bytes good = encode_batch(codec, test_id(), test_hash(), random_reports(kDocShape, 5, 9));
  const uint32_t bits = get_u32(good, kPayloadBitsAt);

  Bytes longer_claim = good;  // claims one byte more than it has
  put_u32(longer_claim, kPayloadBitsAt, bits + 8);
  ParseError e = rejection(codec, longer_claim);
  REQUIRE(e.offset == good.size());
  REQUIRE(mentions(e, "payload bits make it"));

  Bytes shorter_claim = good;  // claims one byte less: the last byte is one too many
  put_u32(shorter_claim, kPayloadBitsAt, bits - 8);
  REQUIRE(rejection(codec, shorter_claim).offset == good.size() - 1);

  Bytes trailing = good;
  trailing.push_back(0);
  REQUIRE(rejection(codec, trailing).offset == good.size());
  trailing.insert(trailing.end(), 100, 0xff);
  REQUIRE(rejection(codec, trailing).offset == good.size());

  Bytes max_claim = good;
  put_u32(max_claim, kPayloadBitsAt, 0xffffffff);
  REQUIRE(rejection(codec, max_claim).offset == good.size());
}

TEST_CASE("every truncation of a batch is refused where the input ends", "[wire]") {
  const ReportCodec codec(kDocShape);
  const Bytes good = encode_batch(codec, test_id(), test_hash(), random_reports(kDocShape, 6, 4));
  for (std::size_t len = 0; len < good.size(); ++len) {
    const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len));
    const ParseError e = rejection(codec, cut);
    REQUIRE(e.offset == len);
    REQUIRE_FALSE(parse_batch_header(cut).ok());
  }
}

TEST_CASE("a flipped bit anywhere is refused, in the body by the checksum", "[wire]") {
  const ReportCodec codec(kDocShape);
  const Bytes good = encode_batch(codec, test_id(), test_hash(), random_reports(kDocShape, 4, 2));
  const std::size_t checksum_at = good.size() - kBatchChecksumBytes;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (unsigned bit = 0; bit < 8; ++bit) {
      Bytes b = good;
      b[i] ^= static_cast<uint8_t>(1u << bit);
      const ParseError e = rejection(codec, b);
      // Bytes 0..7 and the count/length fields have checks of their own, ahead of the checksum.
      if (i >= 8 && i < kCountAt) {
        REQUIRE(e.offset == checksum_at);
      }
      if (i >= kBatchHeaderBytes) {
        REQUIRE(e.offset == checksum_at);
        REQUIRE(mentions(e, "checksum"));
      }
    }
  }
}

TEST_CASE("a payload with bits left over or missing is refused", "[wire]") {
  const ReportCodec codec(kDocShape);
  const std::vector<Report> reports = {{0, {3, 17, 40, 63}}, {1, {0, 2, 3, 5, 7}}, {2, {2, 5, 9}}};
  const Bytes good = encode_batch(codec, test_id(), test_hash(), reports);

  Bytes fewer = good;  // the third report's 12 bits are left over after two reports
  put_u32(fewer, kCountAt, 2);
  reseal(fewer);
  ParseError e = rejection(codec, fewer);
  REQUIRE(mentions(e, "payload has 12 bits left over after 2 reports"));
  REQUIRE(e.offset == kBatchHeaderBytes + 35 / 8);

  Bytes more = good;  // a fourth report would start at bit 47, the payload's end
  put_u32(more, kCountAt, 4);
  reseal(more);
  e = rejection(codec, more);
  REQUIRE(mentions(e, "report 3 of 4: input ends inside the block index"));
  REQUIRE(e.offset == kBatchHeaderBytes + 47 / 8);

  Bytes short_bits = good;  // the payload_bits field cuts the last report's final bit off
  put_u32(short_bits, kPayloadBitsAt, 46);
  reseal(short_bits);
  e = rejection(codec, short_bits);
  REQUIRE(mentions(e, "report 2 of 3"));
  REQUIRE(e.offset == kBatchHeaderBytes + 46 / 8);
}

TEST_CASE("a bad report is refused at its byte in the whole batch", "[wire]") {
  const ReportCodec codec(kDocShape);
  const std::vector<Report> reports = {{0, {3, 17, 40, 63}}, {1, {0, 2, 3, 5, 7}}, {2, {2, 5, 9}}};
  Bytes batch = encode_batch(codec, test_id(), test_hash(), reports);
  batch[kBatchHeaderBytes + 3] |= 0x02;  // bit 25: the second report's block 1 becomes 3
  reseal(batch);
  const ParseError e = rejection(codec, batch);
  REQUIRE(mentions(e, "report 1 of 3: block 3 is outside [0, 3)"));
  REQUIRE(e.offset == kBatchHeaderBytes + 3);
}

// Issue 12: 8 MB of all-ones OUE reports were accepted and moved every estimate to 2.5.
TEST_CASE("a unary report with more ones than max_items is refused at its first byte", "[wire]") {
  const Protocol oue = make_protocol({.protocol = "oue", .k = 256, .epsilon = 2});
  const ReportCodec codec(oue.shape());
  const uint32_t bound = codec.max_items(0);
  REQUIRE(bound == oue.shape().blocks[0].max_items);
  REQUIRE(bound < 256);
  auto ones = [](uint32_t count) {
    Report r;
    for (uint32_t x = 0; x < count; ++x) r.items.push_back(x);
    return r;
  };
  SeededRng rng(12);
  std::vector<Report> reports;
  for (uint32_t v : {3u, 7u}) reports.push_back(oue.encoder().encode(v, rng));
  reports.push_back(ones(bound));  // at the bound: accepted
  std::vector<Report> parsed;
  REQUIRE(parse_batch(codec, encode_batch(codec, test_id(), test_hash(), reports), parsed).ok());
  REQUIRE(parsed == reports);

  for (const uint32_t count : {bound + 1, 256u}) {
    INFO(count << " ones");
    reports[1] = ones(count);
    const ParseError e = rejection(codec, encode_batch(codec, test_id(), test_hash(), reports));
    REQUIRE(mentions(e, "report 1 of 3 has " + std::to_string(count) + " positions; block 0 " +
                            "allows at most " + std::to_string(bound)));
    REQUIRE(e.offset == kBatchHeaderBytes + 256 / 8);  // one 256-bit bitmap precedes it
  }
}

TEST_CASE("non-zero padding after the payload is refused", "[wire]") {
  const ReportCodec codec(kDocShape);
  const std::vector<Report> reports = {{0, {3, 17, 40, 63}}, {1, {0, 2, 3, 5, 7}}, {2, {2, 5, 9}}};
  Bytes batch = encode_batch(codec, test_id(), test_hash(), reports);
  batch[kBatchHeaderBytes + 5] |= 0x80;  // bit 47, the one padding bit
  reseal(batch);
  const ParseError e = rejection(codec, batch);
  REQUIRE(mentions(e, "padding"));
  REQUIRE(e.offset == kBatchHeaderBytes + 5);
}

/// What parse_batch should make of the reports of a batch whose header is valid, by the
/// general decoder (one ReportCodec::read at a time): the first report error, if any, and
/// the reports before it in `decoded`.
std::optional<ParseError> reference_error(const ReportCodec& codec, const Bytes& batch,
                                          const BatchHeader& header, std::vector<Report>& decoded) {
  const std::span<const uint8_t> payload(batch.data() + kBatchHeaderBytes,
                                         batch.size() - kBatchHeaderBytes - kBatchChecksumBytes);
  BitReader in(payload, header.payload_bits);
  for (uint32_t i = 0; i < header.count; ++i) {
    const ParseResult<Report> r = codec.read(in);
    if (!r.ok()) {
      return ParseError{"report " + std::to_string(i) + " of " + std::to_string(header.count) +
                            ": " + r.error().message,
                        kBatchHeaderBytes + r.error().offset};
    }
    decoded.push_back(r.value());
  }
  return std::nullopt;
}

TEST_CASE("random corruption never crashes and never yields an ill-formed report", "[wire]") {
  // Rice parameters from 0 ({64, 40}) to 10 ({5000, 3}), bitmaps, single positions.
  const std::vector<ReportShape> shapes = {kDocShape, ReportShape{{{300, 0}, {7, 1}}},
                                           ReportShape{{{31, 8}, {32, 9}, {33, 10}}},
                                           ReportShape{{{64, 40}, {5000, 3}}}};
  std::mt19937_64 rng(5);
  std::size_t accepted = 0;
  for (const ReportShape& shape : shapes) {
    const ReportCodec codec(shape);
    for (int trial = 0; trial < 3000; ++trial) {
      Bytes b =
          encode_batch(codec, test_id(), test_hash(), random_reports(shape, rng() % 20, rng()));
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < edits; ++k) {
        const std::size_t at = kBatchHeaderBytes + rng() % (b.size() - kBatchHeaderBytes);
        switch (rng() % 4) {
          case 0:
            b[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
            break;
          case 1:
            b[at] = static_cast<uint8_t>(rng());
            break;
          case 2:
            put_u32(b, kCountAt, static_cast<uint32_t>(rng() % 40));
            break;
          default:
            b.resize(b.size() - 1 - rng() % 3);
            if (b.size() < kBatchHeaderBytes + kBatchChecksumBytes) {
              b.resize(kBatchHeaderBytes + kBatchChecksumBytes);
            }
            const std::size_t payload = b.size() - kBatchHeaderBytes - kBatchChecksumBytes;
            put_u32(b, kPayloadBitsAt,
                    static_cast<uint32_t>(payload == 0 ? 0 : 8 * payload - rng() % 8));
        }
      }
      if (rng() % 4 != 0) reseal(b);  // mostly get past the checksum to the reports
      std::vector<Report> reports;
      const ParseResult<BatchHeader> r = parse_batch(codec, b, reports);
      // The batch parser's fast path must fail exactly where the report codec fails.
      const ParseResult<BatchHeader> header = parse_batch_header(b);
      if (header.ok()) {
        std::vector<Report> decoded;
        const std::optional<ParseError> expected =
            reference_error(codec, b, header.value(), decoded);
        if (expected) {
          REQUIRE_FALSE(r.ok());
          REQUIRE(r.error().message == expected->message);
          REQUIRE(r.error().offset == expected->offset);
        } else if (r.ok()) {
          REQUIRE(reports == decoded);
        }
      }
      if (!r.ok()) {
        REQUIRE(r.error().offset <= b.size());
        continue;
      }
      ++accepted;
      REQUIRE(reports.size() == r.value().count);
      for (const Report& report : reports) REQUIRE(codec.well_formed(report));
    }
  }
  REQUIRE(accepted > 0);  // the checks above ran on some accepted batches too
}

}  // namespace
}  // namespace residue
