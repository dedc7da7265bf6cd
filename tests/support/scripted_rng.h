// ScriptedRng: an Rng that hands out given words, then a fixed filler word. TESTS ONLY: it is
// not random.
// It turns a sampler's coin into a function of the words it reads, so a test can find the
// exact threshold where the outcome changes instead of waiting for an event of probability
// 1e-18.
//
//   // P[GRR flips] at eps = 40, to 2^-128: the uniform where the report changes.
//   const Tail flip = tail_probability({}, [&](Rng& rng) { return grr.encode(0, rng).items[0] == 1;
//   });
#pragma once

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "residue/random/rng.h"

namespace residue::testing {

class ScriptedRng final : public Rng {
 public:
  explicit ScriptedRng(std::vector<uint64_t> words) : words_(std::move(words)) {}

 protected:
  void refill(std::span<uint64_t, kBufferWords> out) override {
    for (uint64_t& word : out) word = next_ < words_.size() ? words_[next_++] : kFiller;
  }

 private:
  // Not zero: a rejection loop (Rng::uniform) would draw zeros forever.
  static constexpr uint64_t kFiller = 0x9e3779b97f4a7c15;

  std::vector<uint64_t> words_;
  std::size_t next_ = 0;
};

/// P[event] and P[not event] as the uniform U read from two words after `before` varies.
struct Tail {
  double below = 0;  ///< P[U < threshold]: the event does not happen
  double above = 0;  ///< P[U >= threshold]: it happens
};

/// For an event that happens exactly when U, the 128-bit number the two words after the
/// fixed words `before` form, is at least some threshold: finds the threshold by bisection
/// (128 runs of `event` on a ScriptedRng) and returns both sides' mass,
/// exact to 2^-128.
inline Tail tail_probability(const std::vector<uint64_t>& before,
                             const std::function<bool(Rng&)>& event) {
  auto happens = [&](Uint128 u) {
    std::vector<uint64_t> words = before;
    words.push_back(static_cast<uint64_t>(u >> 64));
    words.push_back(static_cast<uint64_t>(u));
    ScriptedRng rng(std::move(words));
    return event(rng);
  };
  const Uint128 top = ~Uint128{0};
  if (!happens(top)) return {.below = 1, .above = 0};
  Uint128 lo = 0, hi = top;  // the threshold is in [lo, hi]
  while (lo < hi) {
    const Uint128 mid = lo + (hi - lo) / 2;
    if (happens(mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  const double scale = 0x1.0p-128;
  return {.below = static_cast<double>(lo) * scale,
          .above = (static_cast<double>(top - lo) + 1) * scale};
}

}  // namespace residue::testing
