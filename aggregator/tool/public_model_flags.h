// The flags that choose a memory's public pieces (cells, vocabulary, key dimension, corpus),
// shared by `residue memory build` and `residue memory prepare` so that the same flags give the
// same pieces in both.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "experiments/brown.h"

namespace residue {

struct PublicModelFlags {
  uint32_t cells = 16, vocab = 4096, dimension = 64;
  std::string data_dir = std::string(kBrownDir);

  /// --cells, --vocab, --dimension, --data-dir.
  void add_to(CLI::App& cmd);
  /// Throws Error naming the flag that is 0.
  void check() const;
};

}  // namespace residue
