// SHA-256 of bytes: the checksums of task artifacts, and as hex their versions and the ids of
// domains, computed alike by the daemon, the tool and devices.
//
//   Sha256Digest sum = sha256(bytes);
//   std::string version = sha256_hex(text);   // 64 lower-case digits
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace residue {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest sha256(std::span<const uint8_t> bytes);
std::string sha256_hex(std::string_view bytes);
std::string sha256_hex(std::span<const uint8_t> bytes);

}  // namespace residue
