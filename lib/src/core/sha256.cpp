#include "residue/core/sha256.h"

#include <openssl/sha.h>

#include <array>
#include <cstdint>

#include "residue/core/hex.h"

namespace residue {

std::string sha256_hex(std::string_view bytes) {
  std::array<uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  return to_hex(digest);
}

}  // namespace residue
