#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15;

// SplitMix64 (Steele, Lea and Flood): the seeding generator recommended for xoshiro.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += kGolden);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

}  // namespace

SeededRng::SeededRng(uint64_t seed, uint64_t stream) {
  // The stream is hashed before it meets the seed: seed ^ kGolden * stream would start stream
  // s + 1 exactly one SplitMix64 step after stream s, so their states would share 3 words.
  uint64_t stream_state = stream;
  uint64_t state = seed ^ splitmix64(stream_state);
  // Four consecutive SplitMix64 outputs are distinct (its output map is a bijection), so the
  // state is never all zero.
  for (uint64_t& word : s_) word = splitmix64(state);
}

void SeededRng::refill(std::span<uint64_t, kBufferWords> out) {
  // xoshiro256** 1.0 (Blackman and Vigna).
  for (uint64_t& word : out) {
    word = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
  }
}

}  // namespace residue
