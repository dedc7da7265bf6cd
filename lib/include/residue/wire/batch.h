// Batch: many reports of one task, as a client uploads them and the daemon stores them.
//
// Layout (all integers little-endian; docs/wire_format.md):
//   magic        4 bytes  "RSB1"
//   version      1 byte   kBatchFormatVersion
//   flags        1 byte   0 (reserved)
//   reserved     2 bytes  0
//   batch id    16 bytes  random per batch (CSPRNG), the idempotency key; never a device id
//   params hash 16 bytes  the task's parameter hash (protocols/params.h), so reports encoded
//                         for other parameters are refused before they are parsed
//   count        4 bytes  number of reports, at most the parser's limit
//   payload bits 4 bytes  bit length of the reports, written back to back (ReportCodec::write)
//   payload      ceil(payload bits / 8) bytes, the last padded with zero bits
//   checksum    16 bytes  the first 16 bytes of SHA-256 over everything above
// The parser is strict and all or nothing: a batch either parses whole or is refused with a
// message and the byte offset of the first thing wrong. It never throws and never crashes on
// any input (fuzzed: tests/fuzz/).
//
//   std::vector<uint8_t> body = encode_batch(codec, id, hash, reports);
//   std::vector<Report> parsed;
//   ParseResult<BatchHeader> r = parse_batch(codec, body, parsed);
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "residue/core/error.h"
#include "residue/protocols/report.h"
#include "residue/random/rng.h"
#include "residue/wire/report_codec.h"

namespace residue {

using BatchId = std::array<uint8_t, 16>;
using ParamsHash = std::array<uint8_t, 16>;

inline constexpr uint8_t kBatchFormatVersion = 1;
inline constexpr std::size_t kBatchHeaderBytes = 48;
inline constexpr std::size_t kBatchChecksumBytes = 16;
/// Default upper limit on the reports in one batch.
inline constexpr uint32_t kMaxBatchReports = 1 << 20;

struct BatchHeader {
  BatchId id{};
  ParamsHash params_hash{};
  uint32_t count = 0;
  uint32_t payload_bits = 0;
};

/// A fresh batch id. Use a Csprng: ids must not link batches to a device.
BatchId random_batch_id(Rng& rng);

/// The batch bytes. REQUIRES: every report is well formed for `codec`, at most 2^32 - 1
/// reports and payload bits.
std::vector<uint8_t> encode_batch(const ReportCodec& codec, const BatchId& id,
                                  const ParamsHash& params_hash, std::span<const Report> reports);

/// Reads and checks the fixed header only (magic, version, reserved bytes, count limit,
/// total length against payload bits, checksum), without decoding reports: enough to route a
/// batch to its task and compare the parameter hash before any report is parsed.
ParseResult<BatchHeader> parse_batch_header(std::span<const uint8_t> bytes,
                                            uint32_t max_reports = kMaxBatchReports);

/// Parses the whole batch into `reports` (storage reused across calls). Besides the shape it
/// enforces each block's max_items (report.h): a report with more positions than an honest one
/// has but with negligible probability refuses the batch. On error `reports` holds nothing
/// meaningful and the error says what and where (for that refusal: the report's first byte).
ParseResult<BatchHeader> parse_batch(const ReportCodec& codec, std::span<const uint8_t> bytes,
                                     std::vector<Report>& reports,
                                     uint32_t max_reports = kMaxBatchReports);

}  // namespace residue
