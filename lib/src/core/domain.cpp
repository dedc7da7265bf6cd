#include "residue/core/domain.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <limits>

#include "residue/core/error.h"
#include "residue/core/sha256.h"

namespace residue {
namespace {

__extension__ using Uint128 = unsigned __int128;  // __extension__: no -Wpedantic warning

constexpr size_t kMinKeyBytes = 16;

std::string quoted(std::string_view value) {
  return "\"" + std::string(value) + "\"";
}

}  // namespace

Domain Domain::dictionary(std::vector<std::string> values) {
  if (values.size() < 2) {
    throw Error("a dictionary domain needs at least 2 values, but has " +
                std::to_string(values.size()) + ".");
  }
  if (values.size() > std::numeric_limits<uint32_t>::max()) {
    throw Error("a dictionary domain has at most 2^32 - 1 values, but has " +
                std::to_string(values.size()) + ".");
  }
  Domain domain;
  domain.k_ = static_cast<uint32_t>(values.size());
  domain.index_.reserve(values.size());
  for (uint32_t i = 0; i < domain.k_; ++i) {
    const auto [it, inserted] = domain.index_.emplace(values[i], i);
    if (!inserted) {
      throw Error("value " + quoted(values[i]) + " appears twice in the dictionary (positions " +
                  std::to_string(it->second) + " and " + std::to_string(i) + ")");
    }
  }
  domain.values_ = std::move(values);
  return domain;
}

Domain Domain::hashed(uint32_t k, std::span<const uint8_t> key) {
  if (k < 2) throw Error("k must be at least 2, but is " + std::to_string(k) + ".");
  if (key.size() < kMinKeyBytes) {
    throw Error("the hash key must have at least " + std::to_string(kMinKeyBytes) +
                " bytes, but has " + std::to_string(key.size()) + ".");
  }
  Domain domain;
  domain.k_ = k;
  domain.key_.assign(key.begin(), key.end());
  return domain;
}

uint32_t Domain::index_of(std::string_view value) const {
  const std::optional<uint32_t> index = find(value);
  if (!index) {
    throw Error("value " + quoted(value) + " is not in the dictionary domain (size " +
                std::to_string(k_) + ")");
  }
  return *index;
}

std::optional<uint32_t> Domain::find(std::string_view value) const {
  if (!is_dictionary()) return hash_index(value);
  const auto it = index_.find(std::string(value));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

const std::string& Domain::value_at(uint32_t index) const {
  if (!is_dictionary()) {
    throw Error("value_at needs a dictionary domain, but this domain is hashed.");
  }
  if (index >= k_) {
    throw Error("index " + std::to_string(index) + " is out of range for a dictionary of size " +
                std::to_string(k_) + ".");
  }
  return values_[index];
}

std::string Domain::id() const {
  std::string message;
  if (is_dictionary()) {
    for (const std::string& value : values_) {
      const auto size = static_cast<uint32_t>(value.size());
      for (int shift = 0; shift < 32; shift += 8)
        message.push_back(static_cast<char>(size >> shift));
      message += value;
    }
  } else {
    message = "residue.domain.hashed.1";
    message.append(key_.begin(), key_.end());
  }
  return (is_dictionary() ? "dictionary:" : "hashed:") + sha256_hex(message);
}

uint32_t Domain::hash_index(std::string_view value) const {
  // An empty string_view may hold a null pointer; give HMAC a real one.
  static constexpr unsigned char kEmpty = 0;
  const auto* data = value.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(value.data());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  if (HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), data, value.size(), mac,
           &mac_size) == nullptr ||
      mac_size < 8) {
    throw Error("HMAC-SHA256 failed for value " + quoted(value) + ".");
  }
  uint64_t h = 0;
  for (int i = 7; i >= 0; --i) h = (h << 8) | mac[i];
  // Multiply-high maps h onto [0, k) without a division; its bias is below k / 2^64.
  return static_cast<uint32_t>((static_cast<Uint128>(h) * k_) >> 64);
}

}  // namespace residue
