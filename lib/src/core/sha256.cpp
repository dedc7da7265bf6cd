#include "residue/core/sha256.h"

#include <openssl/sha.h>

#include "residue/core/hex.h"

namespace residue {

static_assert(std::tuple_size_v<Sha256Digest> == SHA256_DIGEST_LENGTH);

Sha256Digest sha256(std::span<const uint8_t> bytes) {
  Sha256Digest digest{};
  SHA256(bytes.data(), bytes.size(), digest.data());
  return digest;
}

std::string sha256_hex(std::span<const uint8_t> bytes) {
  return to_hex(sha256(bytes));
}

std::string sha256_hex(std::string_view bytes) {
  return sha256_hex(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace residue
