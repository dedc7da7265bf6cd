// Rng: the one randomness interface. Every function that randomizes takes an `Rng&`.
//
// Production code uses Csprng (random/csprng.h, OpenSSL). SeededRng (random/seeded_rng.h) is
// for simulation and tests only: it is reproducible, hence not private.
// Words are drawn from an internal buffer refilled in blocks by the concrete generator, so
// drawing a number costs no virtual call and no syscall. Each word is zeroed in the buffer as
// it is handed out, and the buffer is wiped on destruction: randomness a report was drawn
// from does not linger in memory. An Rng is not thread-safe: give each thread its own.
//
// Draws are exact. uniform(bound) is unbiased; bernoulli(p) is true with probability exactly
// p for every double p: the uniform is compared with p's binary expansion 64 bits at a time (a
// second word is drawn with probability 2^-64), not rounded to a 53-bit grid. A probability
// within 2^-53 of 1 cannot be held by a double: pass it with its complement, bernoulli(p,
// not_p), and the draw keeps the complement's full relative precision. A Coin prepares such a
// draw once, for a protocol that flips the same coin for every report.
//
//   Csprng rng;
//   uint64_t die = rng.uniform(6);        // uniform in [0, 6), unbiased
//   bool coin = rng.bernoulli(0.25);
//   const Coin keep(p, not_p);            // GRR's keep coin: not_p may be 1e-20
//   bool kept = rng.flip(keep);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace residue {

// GCC and Clang's 128-bit integer; __extension__ keeps -Wpedantic quiet about it.
__extension__ using Uint128 = unsigned __int128;

/// A coin of fixed probability, prepared once for many exact draws with Rng::flip. It keeps
/// the rarer side's probability r and r's first 64 bits, so a draw is one word and one
/// comparison; the rest of r's expansion is read only on a tie. Cheap to copy.
class Coin {
 public:
  /// A coin that never lands true.
  Coin() = default;
  /// True with probability p (clamped to [0, 1]), exactly: 1 - p is exact for p >= 1/2.
  explicit Coin(double p) : Coin(p > 0 ? p : 0, p > 0 ? 1 - p : 1) {}
  /// True with probability p, given with not_p = 1 - p, each computed without cancellation.
  /// The draw is on the smaller, so it is exact to a double's relative precision on the rare
  /// side: a keep probability of 1 - 4e-18 (GRR on two values at eps = 40), which a double
  /// rounds to 1, still fails with probability 4e-18.
  Coin(double p, double not_p) : complement_(!(p <= not_p)) {
    rare_ = complement_ ? not_p : p;
    if (!(rare_ > 0)) rare_ = 0;  // the rare side never happens
    if (rare_ >= 1) {             // it always does: the other side never happens
      rare_ = 0;
      complement_ = !complement_;
    }
    const auto digits = static_cast<uint64_t>(rare_ * 0x1.0p64);  // exact scaling; rare_ < 1
    threshold_ = complement_ ? ~digits : digits;
  }

 private:
  friend class Rng;
  double rare_ = 0;          // in [0, 1): P[false] when complement_, else P[true]
  bool complement_ = false;  // true iff the uniform U < 1 - rare_, else iff U < rare_
  uint64_t threshold_ = 0;   // the first word: U's first word below it means true
};

class Rng {
 public:
  static constexpr std::size_t kBufferWords = 128;

  Rng() = default;
  Rng(const Rng&) = delete;
  Rng& operator=(const Rng&) = delete;
  /// Wipes the buffer (OPENSSL_cleanse, which the compiler cannot drop).
  virtual ~Rng();

  /// 64 uniformly random bits. The word is zeroed in the buffer as it is handed out.
  uint64_t next_u64() {
    if (pos_ == kBufferWords) {
      refill(buffer_);
      pos_ = 0;
    }
    const uint64_t word = buffer_[pos_];
    buffer_[pos_++] = 0;
    return word;
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
  /// Uniform in [0, 1) with 53 random bits. For continuous draws (simulation data, noise
  /// vectors); a protocol's coins use bernoulli, which is exact.
  double uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  /// True with probability exactly p (clamped to [0, 1]).
  bool bernoulli(double p) { return flip(Coin(p)); }
  /// True with probability p, given with not_p = 1 - p (see Coin).
  bool bernoulli(double p, double not_p) { return flip(Coin(p, not_p)); }
  /// True with the coin's probability: one word and one comparison, and more words only on a
  /// tie (probability 2^-64).
  bool flip(const Coin& coin) {
    const uint64_t u = next_u64();
    if (u != coin.threshold_) return u < coin.threshold_;
    return after_tie(coin);
  }

 protected:
  /// Fills `out` with fresh uniformly random words.
  virtual void refill(std::span<uint64_t, kBufferWords> out) = 0;

 private:
  /// flip() once the uniform's first word equals the coin's threshold: compares the next words
  /// with the rest of the coin's expansion.
  bool after_tie(const Coin& coin);

  std::array<uint64_t, kBufferWords> buffer_{};
  std::size_t pos_ = kBufferWords;
};

}  // namespace residue
