#include "residue/random/csprng.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <string>

#include "residue/core/error.h"

namespace residue {

Csprng::~Csprng() {
  OPENSSL_cleanse(pool_.data(), sizeof(pool_));
}

void Csprng::refill(std::span<uint64_t, kBufferWords> out) {
  if (pool_pos_ == kPoolWords) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(pool_.data()), sizeof(pool_)) != 1) {
      throw Error("OpenSSL RAND_bytes could not produce random bytes (error " +
                  std::to_string(ERR_get_error()) + ").");
    }
    pool_pos_ = 0;
  }
  std::copy_n(pool_.data() + pool_pos_, kBufferWords, out.data());
  // Handed-out words leave the pool, so nothing is given twice and the copy can be wiped.
  OPENSSL_cleanse(pool_.data() + pool_pos_, kBufferWords * sizeof(uint64_t));
  pool_pos_ += kBufferWords;
}

}  // namespace residue
