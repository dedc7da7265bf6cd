#include "protocols/rate_subset.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace residue {
namespace {

// The join probability is a multiple of 2^-kRateBits: at most kRateBits words per 64 others.
constexpr int kRateBits = 4;

// Four lanes: GCC and Clang lower this to the target's vector registers (SSE2, NEON) or to
// scalars; a plain loop over the table stayed scalar for fear that the output aliased it.
using Lanes = uint32_t __attribute__((vector_size(16)));

// For each byte, the positions of its set bits in order (the rest zero), and their count: a
// bitmap becomes positions eight bits at a time, with neither a dependency chain per bit nor a
// loop exit per word that no branch predictor learns.
struct BytePositions {
  std::array<std::array<uint32_t, 8>, 256> positions{};
  std::array<uint8_t, 256> counts{};
};
constexpr BytePositions kBytes = [] {
  BytePositions t;
  for (unsigned byte = 0; byte < 256; ++byte) {
    for (uint32_t bit = 0; bit < 8; ++bit) {
      if ((byte >> bit) & 1) t.positions[byte][t.counts[byte]++] = bit;
    }
  }
  return t;
}();

// The count of ones inline: std::popcount is a libgcc call unless the target has POPCNT.
uint64_t ones(uint64_t x) {
  x -= (x >> 1) & 0x5555555555555555;
  x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f;
  return (x * 0x0101010101010101) >> 56;
}

// The side that step 2 (below) draws: the members, or the non-members when they are fewer.
uint32_t drawn_side(uint32_t others, uint32_t count) {
  return std::min(count, others - count);
}

}  // namespace

bool rate_subset_pays(uint32_t k, uint32_t count) {
  return uint64_t{drawn_side(k - 1, count)} << kRateBits >= k - 1;
}

// Draws the smaller side, `drawn` of the k - 1 others, in two steps that treat them alike:
//   1. each joins independently with probability a / 2^b, the largest multiple of 2^-kRateBits
//      not above drawn / (k - 1) (in lowest terms): b words give 64 such bits, OR-ing in a
//      word where a has a one and AND-ing where it has a zero, from its lowest bit up;
//   2. uniform draws over the others, each moving its pick if it is on the wrong side, until
//      exactly `drawn` are in: a uniform non-member joins (or member leaves) at a time.
// Any permutation of the others maps the distribution of either step's result to itself, so
// the result, always of size `drawn`, is a uniform drawn-subset: exactly the mechanism.
// Rounding the rate down makes step 2 mostly join, where a draw moves its pick with
// probability at least 1/2 (the drawn side is at most half the others); a leave waits for a
// member, as rare as 1/16 of the draws. Step 2 moves about (drawn - a (k - 1) / 2^b) +
// sqrt(drawn) others.
void draw_others_by_rate(uint32_t k, uint32_t value, uint32_t count, bool include_value, Rng& rng,
                         std::vector<uint32_t>& items) {
  const uint32_t others = k - 1, drawn = drawn_side(others, count);
  const bool complement = drawn != count;
  const uint64_t scale = uint64_t{1} << kRateBits;
  uint64_t a = uint64_t{drawn} * scale / others;  // in [1, 8]
  const int rate_bits = kRateBits - std::countr_zero(a);
  a >>= std::countr_zero(a);

  thread_local std::vector<uint64_t> bits;
  const std::size_t words = (std::size_t{k} + 63) / 64;
  if (bits.size() < words) bits.resize(words);
  uint64_t* map = bits.data();
  const uint64_t tail = k % 64 == 0 ? ~uint64_t{0} : (uint64_t{1} << (k % 64)) - 1;
  auto only_others = [&] {  // clears the bits past k and value's
    map[words - 1] &= tail;
    map[value >> 6] &= ~(uint64_t{1} << (value & 63));
  };
  for (std::size_t w = 0; w < words; ++w) {
    uint64_t word = 0;
    for (int i = 0; i < rate_bits; ++i) {
      const uint64_t r = rng.next_u64();
      word = (a >> i) & 1 ? word | r : word & r;
    }
    map[w] = word;
  }
  only_others();
  uint64_t members = 0;
  for (std::size_t w = 0; w < words; ++w) members += ones(map[w]);

  const bool join = members < drawn;  // the size moves one way only
  while (members != drawn) {
    const auto t = static_cast<uint32_t>(rng.uniform(others));
    const uint32_t pick = t + (t >= value);
    uint64_t& word = map[pick >> 6];
    const uint64_t moves = ((word >> (pick & 63)) & 1) ^ join;  // no branch on a coin flip
    word ^= moves << (pick & 63);
    members = join ? members + moves : members - moves;
  }
  if (complement) {
    for (std::size_t w = 0; w < words; ++w) map[w] = ~map[w];
    only_others();
  }
  if (include_value) map[value >> 6] |= uint64_t{1} << (value & 63);

  // Every byte writes 8 slots and moves on by its count: 8 slots of slack past the end.
  const std::size_t size = count + include_value;
  items.resize(size + 8);
  uint32_t* out = items.data();
  for (std::size_t w = 0; w < words; ++w) {
    for (uint32_t shift = 0; shift < 64; shift += 8) {
      const auto byte = static_cast<uint8_t>(map[w] >> shift);
      const auto base = static_cast<uint32_t>(w * 64) + shift;
      const uint32_t* row = kBytes.positions[byte].data();
      Lanes low, high;
      std::memcpy(&low, row, sizeof(low));
      std::memcpy(&high, row + 4, sizeof(high));
      low += base;
      high += base;
      std::memcpy(out, &low, sizeof(low));
      std::memcpy(out + 4, &high, sizeof(high));
      out += kBytes.counts[byte];
    }
  }
  items.resize(size);
}

}  // namespace residue
