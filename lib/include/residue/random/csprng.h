// Csprng: the production randomness source, OpenSSL's DRBG (RAND_bytes).
//
// RAND_bytes costs about a microsecond per call whatever the size, so bytes are drawn 16 KiB
// at a time (5x the throughput of 1 KiB calls, docs/results.md) and handed out from there;
// one report never costs one call into OpenSSL. The pool is wiped on destruction.
// Not thread-safe: one per thread. Do not carry a Csprng across fork(): the child would
// replay the parent's pooled bytes; construct a new one in the child.
//
//   Csprng rng;
//   encoder.encode(index, rng, report);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "residue/random/rng.h"

namespace residue {

class Csprng final : public Rng {
 public:
  Csprng() = default;
  ~Csprng() override;

 protected:
  /// Throws Error if OpenSSL cannot produce random bytes.
  void refill(std::span<uint64_t, kBufferWords> out) override;

 private:
  static constexpr std::size_t kPoolWords = 2048;  // 16 KiB per RAND_bytes call
  static_assert(kPoolWords % kBufferWords == 0, "the pool hands out whole buffers");
  std::array<uint64_t, kPoolWords> pool_{};
  std::size_t pool_pos_ = kPoolWords;
};

}  // namespace residue
