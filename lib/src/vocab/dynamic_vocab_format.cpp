#include "dynamic_vocab_format.h"

#include <openssl/sha.h>

#include <algorithm>
#include <bit>
#include <string>

namespace residue::vocab_format {
namespace {

void put_u32(uint32_t v, std::vector<uint8_t>& out) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_f64(double v, std::vector<uint8_t>& out) {
  put_u64(std::bit_cast<uint64_t>(v), out);
}

uint32_t get_u32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

}  // namespace

Header header_of(const DynamicVocabOptions& options, VocabIndexKind active, uint64_t trained_size) {
  return {options, active, trained_size};
}

void put_u64(uint64_t v, std::vector<uint8_t>& out) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_header(const Header& h, std::vector<uint8_t>& out) {
  const DynamicVocabOptions& o = h.options;
  out.insert(out.end(), std::begin(kMagic), std::end(kMagic));
  put_u32(kVersion, out);
  put_u32(static_cast<uint32_t>(o.dim), out);
  out.push_back(static_cast<uint8_t>(o.metric));
  out.push_back(static_cast<uint8_t>(o.kind));
  out.push_back(static_cast<uint8_t>(o.auto_approximate));
  out.push_back(static_cast<uint8_t>(h.active));
  put_u64(o.auto_threshold, out);
  put_u64(o.ivf_lists, out);
  put_u64(o.nprobe, out);
  put_u64(o.ivf_train_min, out);
  put_u64(o.ivf_train_per_list, out);
  put_f64(o.ivf_regrow, out);
  put_u32(static_cast<uint32_t>(o.hnsw_m), out);
  put_u32(static_cast<uint32_t>(o.ef_construction), out);
  put_u32(static_cast<uint32_t>(o.ef_search), out);
  put_f64(o.max_tombstone_fraction, out);
  put_u64(h.trained_size, out);
}

std::optional<ParseError> get_header(std::span<const uint8_t> bytes, Header& h) {
  if (bytes.size() < sizeof kMagic ||
      !std::equal(std::begin(kMagic), std::end(kMagic), bytes.begin()))
    return ParseError{"not a DynamicVocab file (magic \"RSDVOCAB\" missing)", 0};
  if (bytes.size() < kHeaderBytes)
    return ParseError{"file ends inside the " + std::to_string(kHeaderBytes) + "-byte header (" +
                          std::to_string(bytes.size()) + " bytes)",
                      bytes.size()};
  const uint8_t* p = bytes.data();
  const uint32_t version = get_u32(p + 8);
  if (version != kVersion)
    return ParseError{"unsupported version " + std::to_string(version) + " (this build reads " +
                          std::to_string(kVersion) + ")",
                      8};
  DynamicVocabOptions& o = h.options;
  const uint32_t dim = get_u32(p + 12);
  if (dim == 0 || dim > (1u << 20))
    return ParseError{"dimension " + std::to_string(dim) + " out of range", 12};
  o.dim = static_cast<int>(dim);
  if (p[16] > 1) return ParseError{"unknown metric " + std::to_string(p[16]), 16};
  if (p[17] > 3) return ParseError{"unknown index kind " + std::to_string(p[17]), 17};
  if (p[18] > 3) return ParseError{"unknown index kind " + std::to_string(p[18]), 18};
  if (p[19] > 2) return ParseError{"unknown active structure " + std::to_string(p[19]), 19};
  o.metric = static_cast<VocabMetric>(p[16]);
  o.kind = static_cast<VocabIndexKind>(p[17]);
  o.auto_approximate = static_cast<VocabIndexKind>(p[18]);
  h.active = static_cast<VocabIndexKind>(p[19]);
  o.auto_threshold = get_u64(p + 20);
  o.ivf_lists = get_u64(p + 28);
  o.nprobe = get_u64(p + 36);
  o.ivf_train_min = get_u64(p + 44);
  o.ivf_train_per_list = get_u64(p + 52);
  o.ivf_regrow = std::bit_cast<double>(get_u64(p + 60));
  auto i32 = [&](std::size_t at, int& out) -> std::optional<ParseError> {
    const uint32_t v = get_u32(p + at);
    if (v > (1u << 30)) return ParseError{"field out of range: " + std::to_string(v), at};
    out = static_cast<int>(v);
    return std::nullopt;
  };
  if (auto e = i32(68, o.hnsw_m)) return e;
  if (auto e = i32(72, o.ef_construction)) return e;
  if (auto e = i32(76, o.ef_search)) return e;
  o.max_tombstone_fraction = std::bit_cast<double>(get_u64(p + 80));
  h.trained_size = get_u64(p + 88);
  return std::nullopt;
}

void append_checksum(std::vector<uint8_t>& out) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(out.data(), out.size(), digest);
  out.insert(out.end(), digest, digest + kChecksumBytes);
}

bool checksum_matches(std::span<const uint8_t> contents, std::span<const uint8_t> checksum) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(contents.data(), contents.size(), digest);
  return checksum.size() == kChecksumBytes && std::equal(checksum.begin(), checksum.end(), digest);
}

}  // namespace residue::vocab_format
