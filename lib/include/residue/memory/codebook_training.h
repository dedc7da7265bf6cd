// Training the Codebook (residue/retrieval/codebook.h): k-means with FAISS on general-corpus
// keys, and the server's bulk assignment of keys to its cells. Aggregator side only: a client
// reads the trained codebook and needs no FAISS.
//
//   set_search_threads(0);                                       // residue/search/threads.h
//   Codebook book = train_codebook(keys, encoder.dimension(), {.cells = 16});
//   book.write("codebook.bin");
//   std::vector<uint32_t> cells = assign_cells(book, keys);      // one cell per key
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "residue/retrieval/codebook.h"

namespace residue {

struct CodebookOptions {
  uint32_t cells = 16;
  /// Lloyd iterations (FAISS's default).
  uint32_t iterations = 25;
  /// Independent runs from different random initial centroids; the one with the lowest
  /// squared error is kept (FAISS's nredo). FAISS 1.7.3 has no k-means++ initialization.
  uint32_t restarts = 1;
  /// FAISS's random initialization and sampling are a function of this seed.
  int32_t seed = 1234;
  /// k-means runs on at most cells * max_points_per_centroid keys, a seeded sample of them
  /// (FAISS's default is 256). On Brown keys 256, 1024 and 4096 gave the same memory quality
  /// within the +-1% that k-means' local optima already vary by; 4096 cost 4x the time.
  uint32_t max_points_per_centroid = 1024;
};

/// k-means (FAISS) on `keys`, keys.size() / dimension rows of `dimension` floats. Uses FAISS's
/// OpenMP threads: call set_search_threads() first. Throws Error if there are fewer keys than
/// cells, keys.size() is not a multiple of dimension, or cells is 0.
Codebook train_codebook(std::span<const float> keys, uint32_t dimension,
                        const CodebookOptions& options = {});

/// The nearest cell of each of the keys.size() / codebook.dimension() keys, by FAISS's exact
/// search (IndexFlatL2, float, BLAS for large batches, OpenMP threads: call
/// set_search_threads() first): the server's bulk assignment, millions of keys a second.
///
/// A device instead calls Codebook::cell(): plain C++ with no FAISS or BLAS to ship, and exact
/// in double, so its cell does not depend on a BLAS's summation order. The two can differ only
/// on near-ties, where FAISS's float rounding (at most ~3e-5 of squared distance for unit keys
/// at d = 64) swaps two cells: on 100,000 Brown keys at C = 16 they agree on every key
/// (tests/unit/memory/cell_agreement_test.cpp).
/// Throws Error if keys.size() is not a multiple of the dimension or a key is not finite.
std::vector<uint32_t> assign_cells(const Codebook& codebook, std::span<const float> keys);

}  // namespace residue
