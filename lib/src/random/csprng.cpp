#include "residue/random/csprng.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <string>

#include "residue/core/error.h"

namespace residue {

void Csprng::refill(std::span<uint64_t, kBufferWords> out) {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(out.size_bytes())) != 1) {
    throw Error("OpenSSL RAND_bytes could not produce random bytes (error " +
                std::to_string(ERR_get_error()) + ").");
  }
}

}  // namespace residue
