#include "residue/wire/batch.h"

#include <openssl/sha.h>

#include <algorithm>
#include <limits>
#include <string>

#include "residue/core/bit_io.h"

namespace residue {
namespace {

constexpr uint8_t kMagic[4] = {'R', 'S', 'B', '1'};
// Field offsets of the header, in the order of the layout in batch.h.
constexpr std::size_t kVersionAt = 4;
constexpr std::size_t kFlagsAt = 5;
constexpr std::size_t kReservedAt = 6;
constexpr std::size_t kIdAt = 8;
constexpr std::size_t kParamsHashAt = 24;
constexpr std::size_t kCountAt = 40;
constexpr std::size_t kPayloadBitsAt = 44;
static_assert(kPayloadBitsAt + 4 == kBatchHeaderBytes);

using Checksum = std::array<uint8_t, kBatchChecksumBytes>;

Checksum checksum_of(std::span<const uint8_t> bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(bytes.data(), bytes.size(), digest);
  Checksum out;
  std::copy_n(digest, out.size(), out.begin());
  return out;
}

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t get_u32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

std::size_t payload_bytes(uint32_t payload_bits) {
  return (std::size_t{payload_bits} + 7) / 8;
}

ParseError error_at(std::size_t offset, std::string message) {
  return ParseError{std::move(message), offset};
}

}  // namespace

BatchId random_batch_id(Rng& rng) {
  BatchId id;
  for (std::size_t half = 0; half < 2; ++half) {
    const uint64_t word = rng.next_u64();
    for (std::size_t i = 0; i < 8; ++i) id[8 * half + i] = static_cast<uint8_t>(word >> (8 * i));
  }
  return id;
}

std::vector<uint8_t> encode_batch(const ReportCodec& codec, const BatchId& id,
                                  const ParamsHash& params_hash, std::span<const Report> reports) {
  constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
  if (reports.size() > kMax) {
    throw Error("encode_batch: a batch holds at most 2^32 - 1 reports, but has " +
                std::to_string(reports.size()) + ".");
  }
  BitWriter payload;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    // An ill-formed report has no encoding: writing it would index out of range or emit
    // bits that no parser accepts.
    if (!codec.well_formed(reports[i])) {
      throw Error("encode_batch: report " + std::to_string(i) + " does not fit the shape.");
    }
    codec.write(reports[i], payload);
  }
  if (payload.bit_length() > kMax) {
    throw Error("encode_batch: the payload must be at most 2^32 - 1 bits, but is " +
                std::to_string(payload.bit_length()) + ".");
  }
  const std::span<const uint8_t> payload_span = payload.bytes();
  std::vector<uint8_t> out(kBatchHeaderBytes + payload_span.size() + kBatchChecksumBytes, 0);
  std::copy_n(kMagic, sizeof kMagic, out.begin());
  out[kVersionAt] = kBatchFormatVersion;
  std::copy(id.begin(), id.end(), out.begin() + kIdAt);
  std::copy(params_hash.begin(), params_hash.end(), out.begin() + kParamsHashAt);
  put_u32(out.data() + kCountAt, static_cast<uint32_t>(reports.size()));
  put_u32(out.data() + kPayloadBitsAt, static_cast<uint32_t>(payload.bit_length()));
  std::copy(payload_span.begin(), payload_span.end(), out.begin() + kBatchHeaderBytes);
  const std::size_t body = out.size() - kBatchChecksumBytes;
  const Checksum sum = checksum_of({out.data(), body});
  std::copy(sum.begin(), sum.end(), out.begin() + body);
  return out;
}

ParseResult<BatchHeader> parse_batch_header(std::span<const uint8_t> bytes, uint32_t max_reports) {
  const std::size_t size = bytes.size();
  if (size < kBatchHeaderBytes + kBatchChecksumBytes) {
    return error_at(size, "batch is " + std::to_string(size) + " bytes, shorter than the " +
                              std::to_string(kBatchHeaderBytes + kBatchChecksumBytes) +
                              " bytes of header and checksum");
  }
  if (!std::equal(kMagic, kMagic + sizeof kMagic, bytes.begin())) {
    return error_at(0, "batch magic is not \"RSB1\"");
  }
  if (bytes[kVersionAt] != kBatchFormatVersion) {
    return error_at(kVersionAt, "batch format version is " + std::to_string(bytes[kVersionAt]) +
                                    ", expected " + std::to_string(kBatchFormatVersion));
  }
  if (bytes[kFlagsAt] != 0) {
    return error_at(kFlagsAt,
                    "batch flags are " + std::to_string(bytes[kFlagsAt]) + ", expected 0");
  }
  if (bytes[kReservedAt] != 0 || bytes[kReservedAt + 1] != 0) {
    return error_at(kReservedAt, "batch reserved bytes are not zero");
  }
  BatchHeader header;
  std::copy_n(bytes.begin() + kIdAt, header.id.size(), header.id.begin());
  std::copy_n(bytes.begin() + kParamsHashAt, header.params_hash.size(), header.params_hash.begin());
  header.count = get_u32(bytes.data() + kCountAt);
  header.payload_bits = get_u32(bytes.data() + kPayloadBitsAt);
  if (header.count > max_reports) {
    return error_at(kCountAt, "batch has " + std::to_string(header.count) +
                                  " reports, more than the limit " + std::to_string(max_reports));
  }
  const std::size_t expected =
      kBatchHeaderBytes + payload_bytes(header.payload_bits) + kBatchChecksumBytes;
  if (size != expected) {
    return error_at(std::min(size, expected),
                    "batch is " + std::to_string(size) + " bytes, but its " +
                        std::to_string(header.payload_bits) + " payload bits make it " +
                        std::to_string(expected));
  }
  const std::size_t body = size - kBatchChecksumBytes;
  const Checksum sum = checksum_of(bytes.first(body));
  if (!std::equal(sum.begin(), sum.end(), bytes.begin() + body)) {
    return error_at(body, "batch checksum does not match its contents");
  }
  return header;
}

ParseResult<BatchHeader> parse_batch(const ReportCodec& codec, std::span<const uint8_t> bytes,
                                     std::vector<Report>& reports, uint32_t max_reports) {
  ParseResult<BatchHeader> parsed = parse_batch_header(bytes, max_reports);
  if (!parsed.ok()) return parsed;
  const BatchHeader& header = parsed.value();
  const std::span<const uint8_t> payload =
      bytes.subspan(kBatchHeaderBytes, payload_bytes(header.payload_bits));
  // Grow `reports` only as reports decode, so a count the payload cannot hold costs no memory;
  // existing Report objects keep their item storage from earlier batches.
  std::size_t pos = 0;
  ParseError error;
  for (uint32_t i = 0; i < header.count; ++i) {
    if (i == reports.size()) reports.emplace_back();
    const std::size_t start = pos;
    if (!codec.read(payload, header.payload_bits, pos, reports[i], error)) {
      return error_at(kBatchHeaderBytes + error.offset, "report " + std::to_string(i) + " of " +
                                                            std::to_string(header.count) + ": " +
                                                            error.message);
    }
    // Well formed, but more ones than an honest unary report ever has (report.h, max_items).
    const std::size_t items = reports[i].items.size();
    if (const uint32_t most = codec.max_items(reports[i].block); items > most) {
      return error_at(kBatchHeaderBytes + start / 8,
                      "report " + std::to_string(i) + " of " + std::to_string(header.count) +
                          " has " + std::to_string(items) + " positions; block " +
                          std::to_string(reports[i].block) + " allows at most " +
                          std::to_string(most) + " (more is implausible for an honest report)");
    }
  }
  reports.resize(header.count);
  if (pos != header.payload_bits) {
    return error_at(kBatchHeaderBytes + pos / 8,
                    "payload has " + std::to_string(header.payload_bits - pos) +
                        " bits left over after " + std::to_string(header.count) + " reports");
  }
  const unsigned used = header.payload_bits % 8;
  if (used != 0 && (payload.back() >> used) != 0) {
    return error_at(kBatchHeaderBytes + payload.size() - 1,
                    "padding bits after the payload are not zero");
  }
  return parsed;
}

}  // namespace residue
