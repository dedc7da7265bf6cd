// WordEmbeddings: public word vectors learned from the general corpus, the building block of
// context keys (key_encoder.h). No FAISS here: a client links this file to compute its keys.
//
// Recipe (Levy, Goldberg & Dagan 2015, "Improving distributional similarity"): count how often
// each pair of ids occurs within `window` tokens of each other in a sentence read as
// <s> w_1 ... w_n; turn the counts into positive PMI with context-distribution smoothing
// (context counts raised to 0.75); keep the top `dimension` singular directions
// (W = U_d S_d^0.5) by randomized subspace iteration (Halko, Martinsson & Tropp 2011), which
// takes seconds for V = 4096 (the PPMI is 97% zeros and kept sparse) where a full
// eigendecomposition of the dense 4098 x 4098 matrix takes 100 s; normalize each row to 1.
// Rows are ids [0, V) of the Vocabulary plus one last row for <s> (id V, as KneserNey::bos()).
//
//   WordEmbeddings e = WordEmbeddings::train(sentence_ids(corpus.general(), vocab), vocab.size());
//   std::span<const float> the = e.vector(vocab.id("the"));   // dimension() floats, norm 1
//   e.write("embeddings.bin");                                 // WordEmbeddings::read(...)
//
// Immutable after construction: thread-safe for concurrent reads.
#pragma once

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "residue/core/error.h"

namespace residue {

struct EmbeddingOptions {
  uint32_t dimension = 64;
  /// Co-occurrence reaches this many tokens to each side. Small windows favour words that fill
  /// the same syntactic slot, which is what a next-token key needs: on Brown, window 1 gave
  /// ~1% lower tuning perplexity than 2, and 2 ~1% lower than 4 (key_encoder.h says how).
  uint32_t window = 1;
  /// Exponent applied to context counts in the PMI denominator (0.75: Levy et al.'s value; 1:
  /// plain PMI). Damps PMI's bias towards rare contexts.
  double context_smoothing = 0.75;
  /// W = U_d S_d^power before normalization (0.5: Levy et al.'s symmetric split).
  double singular_value_power = 0.5;
  /// Randomized SVD: extra directions beyond `dimension` and power iterations. Brown's PPMI
  /// spectrum is flat around the cut, so convergence is slow: these defaults put its top 64
  /// singular values within 0.005% (window 1; 0.06% at window 2) of the exact ones, where 64
  /// and 8 give 0.2% and 32 and 8 give 0.9%, in a third of the time.
  uint32_t oversampling = 64;
  uint32_t power_iterations = 16;
  /// Seed of the random starting subspace; the result is a function of it.
  uint64_t seed = 1;
};

/// The rank-k factors of a matrix, singular values in decreasing order: a ~ u diag(s) v^T.
struct TruncatedSvd {
  Eigen::MatrixXd u;  ///< rows x k
  Eigen::VectorXd s;  ///< k
  Eigen::MatrixXd v;  ///< cols x k
};

/// Co-occurrence counts, a sparse symmetric (V + 1) x (V + 1) matrix: entry (i, j) counts the
/// ordered pairs of positions (p, q), 1 <= |p - q| <= window, in a sentence (<s> at position 0)
/// holding i at p and j at q.
/// Throws Error on an id >= vocab_size or window = 0.
Eigen::SparseMatrix<double> cooccurrence_counts(std::span<const std::vector<uint32_t>> sentences,
                                                uint32_t vocab_size, uint32_t window);
/// PPMI(i, j) = max(0, log(n_ij * sum_c n_c^a / (n_i * n_j^a))) with row sums n_i, column sums
/// n_j and a = context_smoothing; 0 where n_ij = 0.
Eigen::SparseMatrix<double> ppmi(const Eigen::SparseMatrix<double>& counts,
                                 double context_smoothing);
/// Rank-`rank` SVD of `a` by randomized subspace iteration: exact (up to rounding) when
/// rank + oversampling >= min(rows, cols). Throws Error unless 1 <= rank <= min(rows, cols).
TruncatedSvd truncated_svd(const Eigen::SparseMatrix<double>& a, uint32_t rank,
                           uint32_t oversampling, uint32_t power_iterations, uint64_t seed);

class WordEmbeddings {
 public:
  /// Trains on `sentences` of ids in [0, vocab_size). Rows of ids that never co-occur with
  /// anything are zero (they cannot be normalized). Throws Error if dimension is 0 or larger
  /// than vocab_size + 1, or on an invalid id.
  static WordEmbeddings train(std::span<const std::vector<uint32_t>> sentences, uint32_t vocab_size,
                              const EmbeddingOptions& options = {});
  /// `vectors` holds rows x dimension floats, row-major. Throws Error if the size does not
  /// match, rows < 2 or dimension = 0, or a value is not finite.
  WordEmbeddings(uint32_t rows, uint32_t dimension, std::vector<float> vectors);

  /// V + 1: every vocabulary id and <s>.
  uint32_t rows() const { return rows_; }
  uint32_t dimension() const { return dimension_; }
  /// The row of <s>, rows() - 1.
  uint32_t bos() const { return rows_ - 1; }
  /// REQUIRES: id < rows(). The span lives as long as this object.
  std::span<const float> vector(uint32_t id) const {
    return {vectors_.data() + std::size_t{id} * dimension_, dimension_};
  }
  /// All rows, row-major, rows() x dimension().
  const std::vector<float>& data() const { return vectors_; }

  /// Binary form: "RSDWEMBD", version 1, rows, dimension (uint32 little-endian), then the
  /// floats (IEEE 754 binary32, little-endian).
  std::vector<uint8_t> serialize() const;
  /// Parses serialize()'s output; never throws (untrusted bytes).
  static ParseResult<WordEmbeddings> parse(std::span<const uint8_t> bytes);
  /// Write or read a file in that form. Throws Error naming the file (and the byte offset,
  /// when malformed).
  void write(const std::filesystem::path& file) const;
  static WordEmbeddings read(const std::filesystem::path& file);

 private:
  uint32_t rows_;
  uint32_t dimension_;
  std::vector<float> vectors_;
};

}  // namespace residue
