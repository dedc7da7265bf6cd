// UnitEmbedder: a vector for any multi-word unit from its words, so that a unit admitted from
// private estimates gets an embedding without ever having been trained on.
//
// Training (all public): the general corpus is re-tokenized so that its T most frequent
// candidate units are single tokens (greedy longest match, tokenizer.h; unit u gets id
// vocab_size + u), and WordEmbeddings (PPMI + SVD) is trained on that text. This gives word
// vectors (rows [0, vocab_size)) and learned vectors for the frequent public units. Then, for
// each unit length L (2, 3), an affine map from the concatenated word vectors [w_1 .. w_L 1] to
// the unit's learned vector is fitted by ridge least squares (Eigen, Householder QR of the
// augmented system). The units of length L are split at random: `held_out` of them only measure
// the fit (mean cosine of predicted against learned vector, for the map and for the mean of the
// parts); the ridge is picked on a validation fifth of the rest. The map serves a length when it
// beats the mean on the held-out units, and is then refitted on all of them; otherwise (or with
// fewer than kMinMapUnits units) that length falls back to the normalized mean of the parts.
//
//   UnitEmbedder e = UnitEmbedder::train(sentence_ids(brown.general(), vocab), vocab.size(),
//                                        candidates, {});
//   std::vector<float> v = e.embed(candidates.words(unit));   // dimension() floats, norm 1
//   e.fits()[0].heldout_cosine_map;                             // how well bigrams are predicted
//
// Immutable after construction: thread-safe for concurrent reads.
#pragma once

#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "residue/retrieval/embeddings.h"

namespace residue {

class CandidateUnits;

struct UnitEmbeddingOptions {
  /// T: the most frequent candidates made single tokens for training (candidate ids [0, T)).
  std::size_t public_units = 2048;
  /// A unit's learned vector is a fitting target only if it occurs this often as a token.
  uint64_t min_occurrences = 5;
  /// Share of the target units of each length kept out of the fit to measure it.
  double held_out = 0.2;
  /// Ridge penalties tried (ridge x units x ||W||^2, bias not penalized). On Brown the best
  /// was 1e-3 for bigrams (1,438 training units, 129 inputs) and 1e-2 for trigrams (167).
  std::vector<double> ridges = {1e-4, 1e-3, 1e-2, 1e-1};
  /// Seed of the held-out and validation splits.
  uint64_t seed = 1;
  EmbeddingOptions embedding;
};

/// Fewest target units of one length for which a map is fitted at all.
inline constexpr std::size_t kMinMapUnits = 20;

/// argmin_W ||[x 1] W - y||^2 + ridge * rows * ||W without its bias row||^2, by Householder QR.
/// x: rows x p, y: rows x q; returns (p + 1) x q, the last row the bias. Throws Error on
/// mismatched rows, no rows, or a negative ridge.
Eigen::MatrixXd fit_affine_map(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y, double ridge);

/// The map of one unit length; `weights` empty = the mean of the parts.
struct UnitMap {
  uint32_t length = 0;
  Eigen::MatrixXf weights;  ///< (length x dimension + 1) x dimension
};

/// How well one unit length is predicted (what docs/results.md reports).
struct MapFit {
  uint32_t length = 0;
  std::size_t units = 0;     ///< target units of this length
  std::size_t held_out = 0;  ///< of which kept out of the fit
  double ridge = 0;          ///< chosen on the validation part
  double heldout_cosine_map = 0;
  double heldout_cosine_mean = 0;
  double train_cosine_map = 0;
  bool linear = false;  ///< the map serves this length (else the mean)
};

/// Phases of UnitEmbedder::train, for a progress display.
using EmbedderProgress = std::function<void(std::string_view phase)>;

class UnitEmbedder {
 public:
  /// Trains as described above on `sentences` (word ids in [0, vocab_size)). Seconds on Brown
  /// (the SVD of a ~6,000-row PPMI matrix). Throws Error on invalid options or ids.
  static UnitEmbedder train(std::span<const std::vector<uint32_t>> sentences, uint32_t vocab_size,
                            const CandidateUnits& candidates, const UnitEmbeddingOptions& options,
                            const EmbedderProgress& progress = {});
  /// Pieces read back from a file: `word_vectors` is words x dimension, row-major. Throws
  /// Error on inconsistent sizes, non-finite values or a repeated map length.
  UnitEmbedder(uint32_t dimension, std::vector<float> word_vectors, std::vector<UnitMap> maps,
               std::vector<MapFit> fits);

  uint32_t dimension() const { return dimension_; }
  uint32_t words() const { return words_; }
  /// REQUIRES: id < words(). Norm 1, or 0 for a word that never co-occurred.
  std::span<const float> word_vector(uint32_t id) const {
    return {word_vectors_.data() + std::size_t{id} * dimension_, dimension_};
  }
  /// The vector of a word sequence, normalized (all zero if it comes out zero): a single word's
  /// vector, the map of its length, or the mean of its words. Throws Error on an empty sequence
  /// or a word id >= words().
  std::vector<float> embed(std::span<const uint32_t> words) const;

  const std::vector<float>& word_vectors() const { return word_vectors_; }
  const std::vector<UnitMap>& maps() const { return maps_; }
  const std::vector<MapFit>& fits() const { return fits_; }

 private:
  uint32_t dimension_;
  uint32_t words_;
  std::vector<float> word_vectors_;
  std::vector<UnitMap> maps_;
  std::vector<MapFit> fits_;
};

}  // namespace residue
