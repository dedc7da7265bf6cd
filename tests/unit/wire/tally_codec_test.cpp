// Stored tallies: round trips, known-answer bytes, strict rejection with offsets.
#include "residue/wire/tally_codec.h"

#include <openssl/sha.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/protocols/tally.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

/// Magic, version 1, protocol id "t".
const Bytes kPrefix = {'R', 'S', 'T', '1', 0x01, 0x01, 't'};

/// `body` followed by its checksum: a blob whose checksum is right, so that the checks ahead
/// of it are what refuses it.
Bytes sealed(Bytes body) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(body.data(), body.size(), digest);
  body.insert(body.end(), digest, digest + 16);
  return body;
}

Bytes with_prefix(std::initializer_list<uint8_t> rest) {
  Bytes body = kPrefix;
  body.insert(body.end(), rest);
  return body;
}

ParseError rejection(const Bytes& blob, uint32_t max_blocks = 1 << 24,
                     uint64_t max_counters = uint64_t{1} << 28) {
  const ParseResult<Tally> r = decode_tally(blob, max_blocks, max_counters);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

bool mentions(const ParseError& e, const std::string& text) {
  return e.message.find(text) != std::string::npos;
}

Tally mss_tally(std::size_t n) {
  // Choosing the moduli takes a while; one protocol serves every test.
  static const Protocol mss =
      make_protocol(complete_params({.protocol = "mss", .k = 1024, .epsilon = 2}));
  Tally tally = mss.new_tally();
  SeededRng rng(1);
  Report r;
  for (std::size_t i = 0; i < n; ++i) {
    mss.encoder().encode(static_cast<uint32_t>(i % 1024), rng, r);
    tally.add(r);
  }
  return tally;
}

TEST_CASE("a known tally encodes to fixed bytes", "[wire]") {
  // docs/wire_format.md, "Stored tally"; a change here is a format change.
  Tally tally("t", ReportShape{{{2, 1}}});
  tally.add_reports(0, kMax64);
  tally.add_counts(0, 0, 128);
  const Bytes body = with_prefix({0x01, 0x02,                                            //
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //
                                  0x01, 0x80, 0x01, 0x00});
  const Bytes expected = sealed(body);
  REQUIRE(std::equal(expected.end() - 16, expected.end(),
                     Bytes{0xbc, 0x56, 0x0d, 0xda, 0xdd, 0xb9, 0xa8, 0x8b, 0x98, 0x1c, 0xcc, 0x3e,
                           0x90, 0xee, 0x9b, 0x6b}
                         .begin()));
  REQUIRE(encode_tally(tally) == expected);
  REQUIRE(decode_tally(expected).value() == tally);
}

TEST_CASE("tallies round trip, counts near 2^64 included", "[wire]") {
  Tally mss = mss_tally(5000);
  REQUIRE(decode_tally(encode_tally(mss)).value() == mss);

  Tally big("residue.test.1", ReportShape{{{3, 1}, {1, 1}, {70000, 0}}});
  big.add_counts(0, 0, kMax64);
  big.add_counts(0, 1, uint64_t{1} << 63);
  big.add_counts(0, 2, (uint64_t{1} << 63) - 1);
  big.add_counts(2, 69999, kMax64 - 1);
  big.add_counts(2, 12345, uint64_t{1} << 56);
  big.add_reports(0, kMax64);
  big.add_reports(2, 1);
  const ParseResult<Tally> back = decode_tally(encode_tally(big));
  REQUIRE(back.ok());
  REQUIRE(back.value() == big);
  REQUIRE(back.value().counts(0)[0] == kMax64);
  REQUIRE(back.value().reports(0) == kMax64);

  const Tally empty("", ReportShape{{{1, 1}}});
  REQUIRE(decode_tally(encode_tally(empty)).value() == empty);
}

TEST_CASE("a stored tally needs its magic and version", "[wire]") {
  const Bytes good = encode_tally(mss_tally(10));
  for (std::size_t i = 0; i < 4; ++i) {
    Bytes b = good;
    b[i] ^= 0x01;
    const ParseError e = rejection(b);
    REQUIRE(e.offset == 0);
    REQUIRE(mentions(e, "magic"));
  }
  Bytes b = good;
  b[4] = 2;
  REQUIRE(rejection(b).offset == 4);
  REQUIRE(mentions(rejection(b), "version is 2, expected 1"));
}

TEST_CASE("varints must be in shortest form and fit their field", "[wire]") {
  // Block count 1 written as 0x81 0x00: the zero byte is the one refused.
  ParseError e = rejection(sealed(with_prefix({0x81, 0x00, 0x02, 0x00, 0x00, 0x00})));
  REQUIRE(e.offset == 8);
  REQUIRE(mentions(e, "the block count is not in shortest form"));

  // A count of 11 bytes: the 10th may carry bit 63 alone.
  e = rejection(sealed(
      with_prefix({0x01, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02})));
  REQUIRE(e.offset == 19);
  REQUIRE(mentions(e, "count 0 of block 0 overflows 64 bits"));
  e = rejection(sealed(with_prefix(
      {0x01, 0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00})));
  REQUIRE(e.offset == 19);

  // A universe is 32 bits: 2^32 is refused at the start of its varint.
  e = rejection(sealed(with_prefix({0x01, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00})));
  REQUIRE(e.offset == 8);
  REQUIRE(mentions(e, "the universe of block 0 is 4294967296, more than 4294967295"));

  // A protocol id longer than the blob.
  Bytes long_id = {'R', 'S', 'T', '1', 0x01, 0x40, 't'};
  e = rejection(sealed(long_id));
  REQUIRE(e.offset == 5);
  REQUIRE(mentions(e, "the protocol id length is 64"));
}

TEST_CASE("sizes are bounded before anything is allocated", "[wire]") {
  // No blocks, and a universe of 0, describe no tally.
  REQUIRE(mentions(rejection(sealed(with_prefix({0x00}))), "no blocks"));
  const ParseError zero = rejection(sealed(with_prefix({0x01, 0x00, 0x00, 0x00})));
  REQUIRE(zero.offset == 8);
  REQUIRE(mentions(zero, "universe of block 0 is 0"));

  // 2^32 - 1 blocks, or a universe of 2^32 - 1, claimed by a blob of a few bytes.
  ParseError e = rejection(sealed(with_prefix({0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x00, 0x00})),
                           kMax64 >> 32);
  REQUIRE(e.offset == 7);
  REQUIRE(mentions(e, "needs more than the 3 bytes left"));
  e = rejection(sealed(with_prefix({0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00})), 1 << 24,
                kMax64);
  REQUIRE(e.offset == 8);
  REQUIRE(mentions(e, "need more than the 1 bytes left"));

  // The caller's limits.
  const Bytes good = encode_tally(mss_tally(10));
  const ParseResult<Tally> parsed = decode_tally(good);
  const Tally& tally = parsed.value();
  uint64_t counters = 0;
  for (uint32_t j = 0; j < tally.block_count(); ++j) counters += tally.universe(j);
  const uint32_t blocks = static_cast<uint32_t>(tally.block_count());
  REQUIRE(decode_tally(good, blocks, counters).ok());
  e = rejection(good, blocks - 1);
  REQUIRE(mentions(e, "the block count is " + std::to_string(blocks) + ", more than"));
  e = rejection(good, blocks, counters - 1);
  REQUIRE(mentions(e, "more than " + std::to_string(counters - 1) + " counters"));
}

TEST_CASE("a stored tally must end exactly at its checksum", "[wire]") {
  const Bytes good = encode_tally(mss_tally(100));
  for (std::size_t len = 0; len < good.size(); ++len) {
    const Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len));
    REQUIRE_FALSE(decode_tally(cut).ok());
  }
  // Cut inside the checksum of counts wider than the cut, the counts still fit before where
  // the checksum would start, and the input ends inside the checksum.
  Tally wide("t", ReportShape{{{4, 0}}});
  for (uint32_t x = 0; x < 4; ++x) wide.add_counts(0, x, uint64_t{1} << 40);
  const Bytes wide_blob = encode_tally(wide);
  const Bytes cut(wide_blob.begin(), wide_blob.end() - 3);
  ParseError e = rejection(cut);
  REQUIRE(e.offset == cut.size());
  REQUIRE(mentions(e, "ends inside the checksum"));

  // Cut shorter, the counts of the last block no longer fit before the checksum.
  const Bytes short_cut(good.begin(), good.end() - 3);
  REQUIRE(mentions(rejection(short_cut), "bytes left"));

  Bytes trailing = good;
  trailing.push_back(0);
  e = rejection(trailing);
  REQUIRE(e.offset == good.size());
  REQUIRE(mentions(e, "trailing"));
}

TEST_CASE("a flipped bit anywhere is refused, in the id and counts by the checksum", "[wire]") {
  Tally tally("residue.t.1", ReportShape{{{3, 0}, {2, 1}}});
  tally.add_counts(0, 1, 1000);
  tally.add_counts(1, 0, kMax64);
  const Bytes good = encode_tally(tally);
  const std::size_t checksum_at = good.size() - 16;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (unsigned bit = 0; bit < 8; ++bit) {
      Bytes b = good;
      b[i] ^= static_cast<uint8_t>(1u << bit);
      const ParseResult<Tally> r = decode_tally(b);
      REQUIRE_FALSE(r.ok());
      REQUIRE(r.error().offset <= b.size());
      // The id's characters and the checksum change no structure.
      if ((i >= 6 && i < 17) || i >= checksum_at) {
        REQUIRE(r.error().offset == checksum_at);
        REQUIRE(mentions(r.error(), "checksum does not match"));
      }
    }
  }
}

TEST_CASE("random corruption of a stored tally never crashes", "[wire]") {
  const Bytes good = encode_tally(mss_tally(50));
  std::mt19937_64 rng(8);
  for (int trial = 0; trial < 3000; ++trial) {
    Bytes b = good;
    for (int k = 0; k < 3; ++k) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    b.resize(b.size() - rng() % 20);
    if (rng() % 2 == 0) b = sealed(Bytes(b.begin(), b.end() - 16));
    const ParseResult<Tally> r = decode_tally(b);
    if (!r.ok()) REQUIRE(r.error().offset <= b.size());
    if (r.ok()) REQUIRE(encode_tally(r.value()) == b);
  }
}

}  // namespace
}  // namespace residue
