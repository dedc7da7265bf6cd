// Fuzz target for parse_batch and decode_tally. The first bytes pick a small shape as in
// report_codec_fuzz.cpp, the rest is parsed as a batch; when the first byte has its top bit
// set the batch's checksum is recomputed first, so mutations reach the reports. Then:
// - parse_batch must agree with the general report decoder (ReportCodec::read one report at a
//   time), so its fast path accepts and rejects exactly the same bits;
// - a parsed batch is well formed and re-encodes, with its header's id and hash, to a batch
//   no longer than the input that parses back to the same reports.
// The whole input is also a stored tally, as is and with its last 16 bytes made its checksum:
// one that parses re-encodes to the same bytes.
#include <openssl/sha.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "residue/core/bit_io.h"
#include "residue/protocols/report.h"
#include "residue/wire/batch.h"
#include "residue/wire/report_codec.h"
#include "residue/wire/tally_codec.h"

namespace {

/// Bytes of shape header per block: universe - 1 (2 bytes, little-endian), then the subset
/// size as a fraction of the universe (1 byte; 0 means any size).
constexpr std::size_t kBlockHeaderBytes = 3;
/// Keeps each run fast: a million zero-bit reports would parse, slowly.
constexpr uint32_t kMaxReports = 1 << 16;

void check(bool condition) {
  if (!condition) std::abort();
}

/// Makes the last 16 bytes of a batch or stored tally the checksum of the bytes before them.
void reseal(std::vector<uint8_t>& batch) {
  if (batch.size() < residue::kBatchChecksumBytes) return;
  const std::size_t body = batch.size() - residue::kBatchChecksumBytes;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(batch.data(), body, digest);
  std::copy_n(digest, residue::kBatchChecksumBytes,
              batch.begin() + static_cast<std::ptrdiff_t>(body));
}

void check_tally(std::span<const uint8_t> bytes) {
  const residue::ParseResult<residue::Tally> tally = residue::decode_tally(bytes);
  if (!tally.ok()) {
    check(tally.error().offset <= bytes.size());
    return;
  }
  const std::vector<uint8_t> again = residue::encode_tally(tally.value());
  check(std::equal(again.begin(), again.end(), bytes.begin(), bytes.end()));
}

/// The error parse_batch should give from the reports on, by the general decoder; nullopt
/// when every report decodes and `reference` holds them.
std::optional<residue::ParseError> reference_reports(const residue::ReportCodec& codec,
                                                     std::span<const uint8_t> batch,
                                                     const residue::BatchHeader& header,
                                                     std::vector<residue::Report>& reference) {
  const std::span<const uint8_t> payload =
      batch.subspan(residue::kBatchHeaderBytes,
                    batch.size() - residue::kBatchHeaderBytes - residue::kBatchChecksumBytes);
  residue::BitReader in(payload, header.payload_bits);
  for (uint32_t i = 0; i < header.count; ++i) {
    residue::ParseResult<residue::Report> r = codec.read(in);
    if (!r.ok()) {
      return residue::ParseError{"report " + std::to_string(i) + " of " +
                                     std::to_string(header.count) + ": " + r.error().message,
                                 residue::kBatchHeaderBytes + r.error().offset};
    }
    reference.push_back(std::move(r).value());
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  check_tally({data, size});
  std::vector<uint8_t> sealed(data, data + size);
  reseal(sealed);
  check_tally(sealed);
  if (size < 1) return 0;
  const std::size_t blocks = 1 + data[0] % 4;
  const std::size_t header_bytes = 1 + blocks * kBlockHeaderBytes;
  if (size < header_bytes) return 0;
  residue::ReportShape shape;
  for (std::size_t j = 0; j < blocks; ++j) {
    const uint8_t* h = data + 1 + j * kBlockHeaderBytes;
    const uint32_t universe = 1 + (uint32_t{h[0]} | uint32_t{h[1]} << 8);
    // 0 is a subset of any size (bare bitmap); 1 the single-position layout.
    shape.blocks.push_back({universe, h[2] == 0 ? 0 : 1 + (h[2] - 1u) * universe / 255});
  }
  const residue::ReportCodec codec(shape);
  std::vector<uint8_t> bytes(data + header_bytes, data + size);
  if ((data[0] & 0x80) != 0) reseal(bytes);
  const std::span<const uint8_t> batch(bytes);

  std::vector<residue::Report> reports;
  const residue::ParseResult<residue::BatchHeader> parsed =
      residue::parse_batch(codec, batch, reports, kMaxReports);
  const residue::ParseResult<residue::BatchHeader> header =
      residue::parse_batch_header(batch, kMaxReports);
  check(header.ok() || !parsed.ok());
  if (header.ok()) {
    std::vector<residue::Report> reference;
    const std::optional<residue::ParseError> error =
        reference_reports(codec, batch, header.value(), reference);
    if (error) {
      check(!parsed.ok() && parsed.error().message == error->message &&
            parsed.error().offset == error->offset);
    } else if (parsed.ok()) {
      check(reports == reference);
    }
  }
  if (!parsed.ok()) {
    check(parsed.error().offset <= batch.size());
    return 0;
  }

  check(reports.size() == parsed.value().count);
  for (const residue::Report& report : reports) check(codec.well_formed(report));
  const std::vector<uint8_t> again =
      residue::encode_batch(codec, parsed.value().id, parsed.value().params_hash, reports);
  check(again.size() <= batch.size());  // the writer picks the shorter form of each subset
  std::vector<residue::Report> reparsed;
  const residue::ParseResult<residue::BatchHeader> back =
      residue::parse_batch(codec, again, reparsed, kMaxReports);
  check(back.ok() && reparsed == reports && back.value().id == parsed.value().id &&
        back.value().params_hash == parsed.value().params_hash);
  return 0;
}
