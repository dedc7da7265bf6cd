// Lower-case hexadecimal text of bytes: parameter hashes, batch ids and digests in messages,
// JSON and logs.
//
//   std::string text = to_hex(params_hash(params));   // 32 digits
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace residue {

std::string to_hex(std::span<const uint8_t> bytes);

}  // namespace residue
