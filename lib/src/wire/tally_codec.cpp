#include "residue/wire/tally_codec.h"

#include <openssl/sha.h>

#include <algorithm>
#include <limits>
#include <string>

namespace residue {
namespace {

constexpr uint8_t kMagic[4] = {'R', 'S', 'T', '1'};
constexpr std::size_t kVersionAt = 4;
constexpr std::size_t kChecksumBytes = 16;
constexpr uint64_t kMaxU32 = std::numeric_limits<uint32_t>::max();

void append_checksum(std::vector<uint8_t>& out) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(out.data(), out.size(), digest);
  out.insert(out.end(), digest, digest + kChecksumBytes);
}

void put_varint(uint64_t v, std::vector<uint8_t>& out) {
  for (; v >= 0x80; v >>= 7) out.push_back(static_cast<uint8_t>(v | 0x80));
  out.push_back(static_cast<uint8_t>(v));
}

/// Reads the blob of a stored tally. decode_tally runs it twice: once to check everything
/// and learn the shape, then, with the tally built, to fill in the counts. Both runs take the
/// same path, so the second cannot fail.
class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, uint32_t max_blocks, uint64_t max_counters)
      : bytes_(bytes), max_blocks_(max_blocks), max_counters_(max_counters) {}

  /// Checks the whole blob, recording its id and shape, and adds its counts to `tally` when
  /// given. False with error() set on the first problem.
  bool read(Tally* tally);
  const std::string& protocol_id() const { return protocol_id_; }
  const ReportShape& shape() const { return shape_; }
  const ParseError& error() const { return error_; }

 private:
  /// A canonical LEB128 varint of value at most `max`; `name()` names it in errors (built
  /// only on failure: counters are read by the million).
  template <typename Name>
  bool varint(uint64_t max, const Name& name, uint64_t& out);
  /// Bytes left before the checksum; every varint takes at least one of them.
  std::size_t left() const {
    const std::size_t end = bytes_.size() - std::min(bytes_.size(), kChecksumBytes);
    return end > pos_ ? end - pos_ : 0;
  }
  bool fail(std::size_t offset, std::string message) {
    error_ = ParseError{std::move(message), offset};
    return false;
  }

  std::span<const uint8_t> bytes_;
  uint32_t max_blocks_;
  uint64_t max_counters_;
  std::size_t pos_ = 0;
  std::string protocol_id_;
  ReportShape shape_;
  ParseError error_;
};

template <typename Name>
bool Reader::varint(uint64_t max, const Name& name, uint64_t& out) {
  const std::size_t start = pos_;
  uint64_t value = 0;
  for (unsigned shift = 0;; shift += 7) {
    if (pos_ == bytes_.size()) return fail(pos_, "input ends inside " + name());
    const uint8_t byte = bytes_[pos_];
    // The 10th byte holds bit 63 alone; anything more overflows 64 bits.
    if (shift == 63 && byte > 1) return fail(pos_, name() + " overflows 64 bits");
    if (shift > 0 && byte == 0) return fail(pos_, name() + " is not in shortest form");
    value |= uint64_t{byte & 0x7fu} << shift;
    ++pos_;
    if ((byte & 0x80) == 0) break;
  }
  if (value > max) {
    return fail(start,
                name() + " is " + std::to_string(value) + ", more than " + std::to_string(max));
  }
  out = value;
  return true;
}

bool Reader::read(Tally* tally) {
  const std::size_t magic_seen = std::min(bytes_.size(), sizeof kMagic);
  if (!std::equal(kMagic, kMagic + magic_seen, bytes_.begin())) {
    return fail(0, "stored tally magic is not \"RST1\"");
  }
  if (magic_seen < sizeof kMagic) return fail(bytes_.size(), "input ends inside the magic");
  if (bytes_.size() == kVersionAt) return fail(kVersionAt, "input ends before the version");
  if (bytes_[kVersionAt] != kTallyFormatVersion) {
    return fail(kVersionAt, "stored tally version is " + std::to_string(bytes_[kVersionAt]) +
                                ", expected " + std::to_string(kTallyFormatVersion));
  }
  pos_ = kVersionAt + 1;
  uint64_t id_size;
  if (!varint(
          left(), [] { return std::string("the protocol id length"); }, id_size)) {
    return false;
  }
  protocol_id_.assign(bytes_.begin() + pos_, bytes_.begin() + pos_ + id_size);
  pos_ += id_size;

  const std::size_t blocks_at = pos_;
  uint64_t blocks;
  if (!varint(
          max_blocks_, [] { return std::string("the block count"); }, blocks))
    return false;
  if (blocks == 0) return fail(blocks_at, "stored tally has no blocks");
  // A block takes at least three bytes (universe, reports, one count): a count the input
  // cannot hold is refused before anything is allocated for it.
  if (blocks > left() / 3) {
    return fail(blocks_at, "block count " + std::to_string(blocks) + " needs more than the " +
                               std::to_string(left()) + " bytes left");
  }
  if (tally == nullptr) shape_.blocks.reserve(blocks);
  uint64_t counters = 0;
  for (uint32_t j = 0; j < blocks; ++j) {
    auto block_name = [j] { return "block " + std::to_string(j); };
    const std::size_t universe_at = pos_;
    uint64_t universe;
    uint64_t reports;
    if (!varint(
            kMaxU32, [&] { return "the universe of " + block_name(); }, universe)) {
      return false;
    }
    if (universe == 0) return fail(universe_at, "the universe of " + block_name() + " is 0");
    counters += universe;
    if (counters > max_counters_) {
      return fail(universe_at, "stored tally has more than " + std::to_string(max_counters_) +
                                   " counters (at " + block_name() + ")");
    }
    if (!varint(
            ~uint64_t{0}, [&] { return "the report count of " + block_name(); }, reports)) {
      return false;
    }
    if (universe > left()) {
      return fail(universe_at, "the " + std::to_string(universe) + " counts of " + block_name() +
                                   " need more than the " + std::to_string(left()) + " bytes left");
    }
    if (tally == nullptr) shape_.blocks.push_back({static_cast<uint32_t>(universe), 0});
    if (tally != nullptr) tally->add_reports(j, reports);
    for (uint32_t x = 0; x < universe; ++x) {
      uint64_t count;
      auto count_name = [&] { return "count " + std::to_string(x) + " of " + block_name(); };
      if (!varint(~uint64_t{0}, count_name, count)) return false;
      if (tally != nullptr && count != 0) tally->add_counts(j, x, count);
    }
  }
  if (bytes_.size() - pos_ < kChecksumBytes) {
    return fail(bytes_.size(), "input ends inside the checksum");
  }
  if (bytes_.size() - pos_ > kChecksumBytes) {
    return fail(pos_ + kChecksumBytes, "trailing bytes after the checksum");
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(bytes_.data(), pos_, digest);
  if (!std::equal(digest, digest + kChecksumBytes, bytes_.begin() + pos_)) {
    return fail(pos_, "stored tally checksum does not match its contents");
  }
  return true;
}

}  // namespace

std::vector<uint8_t> encode_tally(const Tally& tally) {
  std::vector<uint8_t> out(kMagic, kMagic + sizeof kMagic);
  out.push_back(kTallyFormatVersion);
  const std::string& id = tally.protocol_id();
  put_varint(id.size(), out);
  out.insert(out.end(), id.begin(), id.end());
  put_varint(tally.block_count(), out);
  for (uint32_t j = 0; j < tally.block_count(); ++j) {
    put_varint(tally.universe(j), out);
    put_varint(tally.reports(j), out);
    for (uint64_t count : tally.counts(j)) put_varint(count, out);
  }
  append_checksum(out);
  return out;
}

ParseResult<Tally> decode_tally(std::span<const uint8_t> bytes, uint32_t max_blocks,
                                uint64_t max_counters) {
  Reader check(bytes, max_blocks, max_counters);
  if (!check.read(nullptr)) return check.error();
  Tally tally(check.protocol_id(), check.shape());
  Reader(bytes, max_blocks, max_counters).read(&tally);
  return tally;
}

}  // namespace residue
