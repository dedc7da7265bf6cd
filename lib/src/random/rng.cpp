#include "residue/random/rng.h"

#include <openssl/crypto.h>

namespace residue {

// Out of line so that OPENSSL_cleanse, which the compiler cannot drop as a dead store, stays
// out of the public header.
Rng::~Rng() {
  OPENSSL_cleanse(buffer_.data(), sizeof(buffer_));
}

// The uniform U is compared with r = coin.rare_ 64 bits at a time until they differ; a double's
// expansion is finite, so this ends. 1 - U has the complemented bits of U, so U < 1 - r is
// 1 - U > r: the complemented words are compared, without forming 1 - r.
bool Rng::after_tie(const Coin& coin) {
  double scaled = coin.rare_ * 0x1.0p64;  // exact: power-of-two scalings of a value below 1
  double rest = scaled - static_cast<double>(static_cast<uint64_t>(scaled));  // exact
  while (true) {
    // Equal so far. If r has no more bits, U >= r, while 1 - r continues with ones forever.
    if (rest == 0) return coin.complement_;
    scaled = rest * 0x1.0p64;
    const auto digits = static_cast<uint64_t>(scaled);  // the next 64 bits of r
    rest = scaled - static_cast<double>(digits);
    const uint64_t threshold = coin.complement_ ? ~digits : digits;
    const uint64_t u = next_u64();
    if (u != threshold) return u < threshold;
  }
}

}  // namespace residue
