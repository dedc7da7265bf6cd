// The stored form of a Tally: what the daemon's store keeps per task, what MPI reduces and
// `residue reduce` reads. Versioned like every format here (docs/wire_format.md).
//
// Layout: magic "RST1", version byte, then LEB128 varints: length and bytes of the protocol
// id, number of blocks, and per block its universe, its report count, and its counts; then the
// first 16 bytes of SHA-256 over everything before. The parser is strict (exact length,
// canonical varints, checksum) and never throws.
//
//   std::vector<uint8_t> blob = encode_tally(tally);
//   ParseResult<Tally> back = decode_tally(blob);
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "residue/core/error.h"
#include "residue/protocols/tally.h"

namespace residue {

inline constexpr uint8_t kTallyFormatVersion = 1;

std::vector<uint8_t> encode_tally(const Tally& tally);

/// Refuses more than `max_blocks` blocks or `max_counters` counters over all blocks (bounds
/// the memory a hostile blob can make the parser allocate).
ParseResult<Tally> decode_tally(std::span<const uint8_t> bytes, uint32_t max_blocks = 1 << 24,
                                uint64_t max_counters = uint64_t{1} << 28);

}  // namespace residue
