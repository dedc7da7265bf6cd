// Fuzz target for ReportCodec::from_bytes: the first bytes pick a small shape, the rest is
// parsed as a standalone report; a parsed report must be well formed and re-encode to bytes
// that parse back to the same report.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "residue/protocols/report.h"
#include "residue/wire/report_codec.h"

namespace {

/// Bytes of shape header per block: universe - 1 (2 bytes, little-endian), then the subset
/// size as a fraction of the universe (1 byte; 0 means any size).
constexpr std::size_t kBlockHeaderBytes = 3;

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t blocks = 1 + data[0] % 4;
  const std::size_t header = 1 + blocks * kBlockHeaderBytes;
  if (size < header) return 0;
  residue::ReportShape shape;
  for (std::size_t j = 0; j < blocks; ++j) {
    const uint8_t* h = data + 1 + j * kBlockHeaderBytes;
    const uint32_t universe = 1 + (uint32_t{h[0]} | uint32_t{h[1]} << 8);
    // 0 is a subset of any size (bare bitmap); 1 the single-position layout.
    shape.blocks.push_back({universe, h[2] == 0 ? 0 : 1 + (h[2] - 1u) * universe / 255});
  }
  const residue::ReportCodec codec(shape);
  const std::span<const uint8_t> payload(data + header, size - header);

  const residue::ParseResult<residue::Report> parsed = codec.from_bytes(payload);
  if (!parsed.ok()) {
    check(parsed.error().offset <= payload.size());
    return 0;
  }
  const residue::Report& report = parsed.value();
  check(codec.well_formed(report));
  const std::vector<uint8_t> again = codec.to_bytes(report);
  check(again.size() <= payload.size());  // the writer picks the shorter representation
  const residue::ParseResult<residue::Report> reparsed = codec.from_bytes(again);
  check(reparsed.ok() && reparsed.value() == report);
  return 0;
}
