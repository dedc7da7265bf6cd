// Csprng: the production randomness source, OpenSSL's DRBG (RAND_bytes).
//
// Bytes are fetched in blocks of Rng::kBufferWords words, so one report does not cost one
// call into OpenSSL. Not thread-safe: one per thread. Do not carry a Csprng across fork():
// the child would replay the parent's buffered bytes; construct a new one in the child.
//
//   Csprng rng;
//   encoder.encode(index, rng, report);
#pragma once

#include "residue/random/rng.h"

namespace residue {

class Csprng final : public Rng {
 protected:
  /// Throws Error if OpenSSL cannot produce random bytes.
  void refill(std::span<uint64_t, kBufferWords> out) override;
};

}  // namespace residue
