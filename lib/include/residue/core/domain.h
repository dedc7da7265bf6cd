// Domain: maps an application value to an index in [0, k).
//
// Two kinds: a dictionary of known strings (an unknown value is an error, never a silent
// drop), or a keyed hash for open domains (HMAC-SHA256 under a secret key shared by the
// clients and the aggregator, reduced into [0, k)). Immutable after construction, so
// concurrent lookups are safe.
//
//   Domain words = Domain::dictionary({"apple", "pear"});
//   uint32_t i = words.index_of("pear");        // 1
//   Domain urls = Domain::hashed(1 << 20, key);  // any string maps somewhere in [0, 2^20)
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace residue {

class Domain {
 public:
  /// A dictionary domain; index i is values[i]. Throws Error if `values` is empty, has fewer
  /// than 2 entries, or repeats a value (naming the value and both positions).
  static Domain dictionary(std::vector<std::string> values);
  /// A hashed domain of size k: index = HMAC-SHA256(key, value) reduced into [0, k).
  /// Throws Error if k < 2 or the key is shorter than 16 bytes.
  static Domain hashed(uint32_t k, std::span<const uint8_t> key);

  uint32_t size() const { return k_; }
  bool is_dictionary() const { return !values_.empty(); }

  /// The index of `value`. Throws Error for a value outside a dictionary domain.
  uint32_t index_of(std::string_view value) const;
  /// The index of `value`, or nullopt for a value outside a dictionary domain.
  std::optional<uint32_t> find(std::string_view value) const;
  /// The value at `index` in a dictionary domain. Throws Error for a hashed domain or an
  /// index out of range. The reference lives as long as the Domain.
  const std::string& value_at(uint32_t index) const;

  /// The domain's identity, which is part of a task's parameter hash (task_hash in
  /// protocols/params.h): "dictionary:" + SHA-256 (hex) over the values in order, each
  /// preceded by its 4-byte little-endian length, so a reordered, renamed or extended
  /// dictionary has another id; "hashed:" + SHA-256 (hex) of "residue.domain.hashed.1" and
  /// the key, which names the key without revealing it.
  std::string id() const;

 private:
  Domain() = default;
  uint32_t hash_index(std::string_view value) const;

  uint32_t k_ = 0;
  std::vector<std::string> values_;
  std::unordered_map<std::string, uint32_t> index_;
  std::vector<uint8_t> key_;
};

}  // namespace residue
