// SeededRng: a fast reproducible generator (xoshiro256**) for SIMULATION AND TESTS ONLY.
//
// Its output is a function of the seed, so anyone who knows the seed knows every "random"
// choice: reports randomized with it are NOT private. Client code must use Csprng.
// Streams: SeededRng(seed, stream) gives independent sequences for parallel simulation.
//
//   SeededRng rng(42);               // simulation and tests only
//   SeededRng worker(42, thread_id); // an independent stream per worker
#pragma once

#include <cstdint>

#include "residue/random/rng.h"

namespace residue {

class SeededRng final : public Rng {
 public:
  explicit SeededRng(uint64_t seed, uint64_t stream = 0);

 protected:
  void refill(std::span<uint64_t, kBufferWords> out) override;

 private:
  uint64_t s_[4];
};

}  // namespace residue
