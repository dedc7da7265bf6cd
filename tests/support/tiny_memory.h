// The tiny corpus of tests/data/brown_tiny (its domain is "learned") and build options of a
// memory over it small enough for unit tests: 20 words, 2 cells, keys of dimension 4.
#pragma once

#include "residue/memory/memory_build.h"
#include "residue/retrieval/corpus.h"

namespace residue::testing {

inline Corpus tiny_corpus() {
  return Corpus::load(RESIDUE_TEST_DATA_DIR "/brown_tiny", "learned");
}

inline MemoryBuildOptions tiny_build_options() {
  MemoryBuildOptions o;
  o.public_options.vocab_words = 20;
  o.public_options.cells = 2;
  o.public_options.dimension = 4;
  return o;
}

}  // namespace residue::testing
