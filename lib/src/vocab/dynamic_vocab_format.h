// The byte layout of a DynamicVocab file (internal to dynamic_vocab.cpp). Little-endian.
//
//   offset size
//    0      8   magic "RSDVOCAB"
//    8      4   version (kVersion; bump on any layout change)
//   12      4   dim
//   16      1   metric (VocabMetric)       17  1  kind (VocabIndexKind)
//   18      1   auto_approximate           19  1  active structure (exact, ivf or hnsw)
//   20      8   auto_threshold             28  8  ivf_lists
//   36      8   nprobe                     44  8  ivf_train_min
//   52      8   ivf_train_per_list         60  8  ivf_regrow (IEEE double)
//   68      4   hnsw_m                     72  4  ef_construction
//   76      4   ef_search                  80  8  max_tombstone_fraction (double)
//   88      8   IVF training size
//   96      8   L = HNSW label count (0 for exact and ivf), then L x int64 labels
//               (internal node -> external id, -1 = tombstone)
//    .      8   B = FAISS index length, then B bytes written by faiss::write_index
//    .     16   the first 16 bytes of SHA-256 over everything above
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "residue/core/error.h"
#include "residue/vocab/dynamic_vocab.h"

namespace residue::vocab_format {

inline constexpr uint8_t kMagic[8] = {'R', 'S', 'D', 'V', 'O', 'C', 'A', 'B'};
inline constexpr uint32_t kVersion = 1;
inline constexpr std::size_t kOptionsAt = 12;
inline constexpr std::size_t kHeaderBytes = 96;
inline constexpr std::size_t kChecksumBytes = 16;

struct Header {
  DynamicVocabOptions options;
  VocabIndexKind active = VocabIndexKind::kExact;
  uint64_t trained_size = 0;
};

Header header_of(const DynamicVocabOptions& options, VocabIndexKind active, uint64_t trained_size);
void put_u64(uint64_t v, std::vector<uint8_t>& out);
void put_header(const Header& h, std::vector<uint8_t>& out);
/// Reads and structurally checks the header (magic, version, enum ranges); the options'
/// values are validated by the caller.
std::optional<ParseError> get_header(std::span<const uint8_t> bytes, Header& h);
void append_checksum(std::vector<uint8_t>& out);
bool checksum_matches(std::span<const uint8_t> contents, std::span<const uint8_t> checksum);

/// Bounds-checked little-endian reads.
struct Cursor {
  std::span<const uint8_t> bytes;
  std::size_t pos;
  std::size_t left() const { return bytes.size() - pos; }
  bool u64(uint64_t& v) {
    if (left() < 8) return false;
    v = 0;
    for (std::size_t i = 0; i < 8; ++i) v |= uint64_t{bytes[pos + i]} << (8 * i);
    pos += 8;
    return true;
  }
};

}  // namespace residue::vocab_format
