// SHA-256 of bytes as lower-case hex: the versions of published artifacts and the ids of
// domains, computed alike by the daemon, the tool and devices.
//
//   std::string version = sha256_hex(bytes);   // 64 digits
#pragma once

#include <string>
#include <string_view>

namespace residue {

std::string sha256_hex(std::string_view bytes);

}  // namespace residue
