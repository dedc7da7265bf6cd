// Rng: the one randomness interface. Every function that randomizes takes an `Rng&`.
//
// Production code uses Csprng (random/csprng.h, OpenSSL). SeededRng (random/seeded_rng.h) is
// for simulation and tests only: it is reproducible, hence not private.
// Words are drawn from an internal buffer refilled in blocks by the concrete generator, so
// drawing a number costs no virtual call and no syscall. An Rng is not thread-safe: give
// each thread its own.
//
//   Csprng rng;
//   uint64_t die = rng.uniform(6);      // uniform in [0, 6), unbiased
//   bool coin = rng.bernoulli(0.25);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace residue {

// GCC and Clang's 128-bit integer; __extension__ keeps -Wpedantic quiet about it.
__extension__ using Uint128 = unsigned __int128;

class Rng {
 public:
  static constexpr std::size_t kBufferWords = 128;

  Rng() = default;
  Rng(const Rng&) = delete;
  Rng& operator=(const Rng&) = delete;
  virtual ~Rng() = default;

  /// 64 uniformly random bits.
  uint64_t next_u64() {
    if (pos_ == kBufferWords) {
      refill(buffer_);
      pos_ = 0;
    }
    return buffer_[pos_++];
  }
  /// Uniform in [0, bound), without modulo bias (Lemire's multiply-and-reject).
  /// REQUIRES: bound >= 1.
  uint64_t uniform(uint64_t bound) {
    Uint128 m = static_cast<Uint128>(next_u64()) * bound;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < bound) {
      const uint64_t threshold = -bound % bound;
      while (low < threshold) {
        m = static_cast<Uint128>(next_u64()) * bound;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// True with probability p (p is clamped to [0, 1]).
  bool bernoulli(double p) { return uniform01() < p; }

 protected:
  /// Fills `out` with fresh uniformly random words.
  virtual void refill(std::span<uint64_t, kBufferWords> out) = 0;

 private:
  std::array<uint64_t, kBufferWords> buffer_{};
  std::size_t pos_ = kBufferWords;
};

}  // namespace residue
