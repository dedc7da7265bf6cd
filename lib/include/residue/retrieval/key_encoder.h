// KeyEncoder: the key of a context, a fixed-size vector a public Codebook maps to a cell.
// Runs on the client and needs no FAISS (only embeddings.h).
//
// The key of a context whose tokens are ..., h_2, h_1, h_0 (h_0 the most recent) is
//   key = normalize( sum_{k=0}^{window-1} decay^k e(h_k) )
// over the last `window` tokens, e the word embeddings. In a sentence <s> w_1 ... w_n, the
// context of w_i is <s> w_1 ... w_{i-1}, so early positions include <s>'s own vector and
// keys know where a sentence starts. A zero sum (only zero rows) gives the zero key.
//
//   KeyEncoder encoder(WordEmbeddings::read("embeddings.bin"));
//   std::vector<float> key = encoder.encode(history);        // ids, most recent last
//   std::vector<float> keys = encoder.encode_sentence(ids);   // one key per position
//
// Immutable: thread-safe for concurrent use.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "residue/retrieval/embeddings.h"

namespace residue {

struct KeyEncoderOptions {
  /// Tokens of the context that count, and the weight of each older token relative to the
  /// next newer one, in (0, 1]. Chosen on Brown (V = 4096, C = 16, embedding window 1, split
  /// seeds 0-2) with a proxy of the memory: the next-token counts of the client split in the
  /// nearest cell, add-alpha smoothed and interpolated with the Kneser-Ney base, perplexity on
  /// the tuning split. Window 3 with decay 0.25 was best on all three splits, by 0.1%, over
  /// window 1 and window 2 (decay 0.25); decay 0.5 cost 0.5-1%, decays 0.75-1 cost 2-4%.
  uint32_t window = 3;
  float decay = 0.25f;
};

class KeyEncoder {
 public:
  /// Throws Error if window is 0 or decay is outside (0, 1].
  explicit KeyEncoder(WordEmbeddings embeddings, KeyEncoderOptions options = {});

  uint32_t dimension() const { return embeddings_.dimension(); }
  /// The sentence-start id (embeddings().bos()).
  uint32_t bos() const { return embeddings_.bos(); }
  const WordEmbeddings& embeddings() const { return embeddings_; }
  const KeyEncoderOptions& options() const { return options_; }

  /// The key of the context `history` (ids < embeddings().rows(), most recent last; bos()
  /// allowed; only the last `window` count) into `key`. An empty history is the zero key.
  /// Throws Error if key.size() != dimension() or an id is out of range.
  void encode(std::span<const uint32_t> history, std::span<float> key) const;
  std::vector<float> encode(std::span<const uint32_t> history) const;
  /// Keys of every position of `sentence` (ids < bos(), without <s>): row i is the key of the
  /// context <s> sentence[0] ... sentence[i - 1], which predicts sentence[i]. Row-major,
  /// sentence.size() x dimension(). Throws Error on an id >= bos().
  std::vector<float> encode_sentence(std::span<const uint32_t> sentence) const;
  /// encode_sentence() of each sentence, concatenated (one row per token of `sentences`).
  std::vector<float> encode_sentences(std::span<const std::vector<uint32_t>> sentences) const;

 private:
  WordEmbeddings embeddings_;
  KeyEncoderOptions options_;
};

}  // namespace residue
