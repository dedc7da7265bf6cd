// Codebook: C public centroids that quantize a context key to a cell, the coarse context a
// client reports alongside its next token.
//
// The aggregator trains it once on general-corpus keys (k-means with FAISS,
// residue/memory/codebook_training.h) and publishes the file; a client reads it and calls
// cell(), an exact nearest-centroid search in plain C++: residue_retrieval_client has no FAISS.
//
//   Codebook book = train_codebook(keys, encoder.dimension(), {.cells = 16});   // server
//   book.write("codebook.bin");
//   Codebook client_book = Codebook::read("codebook.bin");                      // client
//   uint32_t c = client_book.cell(encoder.encode(history));
//
// Immutable: thread-safe for concurrent use.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "residue/core/error.h"

namespace residue {

class Codebook {
 public:
  /// `centroids` holds cells x dimension floats, row-major. Throws Error if the size does not
  /// match, cells or dimension is 0, or a value is not finite.
  Codebook(uint32_t dimension, std::vector<float> centroids);

  uint32_t cells() const { return cells_; }
  uint32_t dimension() const { return dimension_; }
  /// REQUIRES: c < cells(). The span lives as long as this object.
  std::span<const float> centroid(uint32_t c) const {
    return {centroids_.data() + std::size_t{c} * dimension_, dimension_};
  }
  /// All centroids, row-major, cells() x dimension().
  const std::vector<float>& centroids() const { return centroids_; }

  /// The centroid nearest to `key` in squared Euclidean distance, computed exactly in double
  /// (ties go to the lowest index). Throws Error if key.size() != dimension().
  uint32_t cell(std::span<const float> key) const;
  /// cell() of each of the keys.size() / dimension() rows of `keys`. Throws Error if keys.size()
  /// is not a multiple of dimension().
  std::vector<uint32_t> cells_of(std::span<const float> keys) const;

  /// Binary form: "RSDCBOOK", version 1, cells, dimension (uint32 little-endian), then the
  /// centroids (IEEE 754 binary32, little-endian).
  std::vector<uint8_t> serialize() const;
  /// Parses serialize()'s output; never throws (untrusted bytes).
  static ParseResult<Codebook> parse(std::span<const uint8_t> bytes);
  /// Write or read a file in that form. Throws Error naming the file (and the byte offset,
  /// when malformed).
  void write(const std::filesystem::path& file) const;
  static Codebook read(const std::filesystem::path& file);

 private:
  uint32_t cells_;
  uint32_t dimension_;
  std::vector<float> centroids_;
};

}  // namespace residue
