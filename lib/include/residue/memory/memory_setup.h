// The public pieces every private memory is built and read with, all learned from the general
// corpus (none from the private domain): the vocabulary, the base language model (KneserNey),
// the word embeddings behind the KeyEncoder and the Codebook. And the positions of a text: one
// per token w_i of each sentence read as <s> w_1 ... w_n, predicted from the key of
// <s> w_1 ... w_{i-1}, its cell and its LM context.
//
//   Corpus brown = Corpus::load("data/brown", "learned");
//   PublicModel pub = build_public_model(brown, {.vocab_words = 4096, .cells = 16});
//   Positions client = positions_of(brown.split_domain(1).client, pub.vocab, pub.encoder,
//                                   pub.codebook);
//   std::vector<uint64_t> counts = joint_counts(client, pub.codebook.cells(), pub.vocab.size());
//
// Everything here is deterministic in its options: an aggregator and its clients rebuild the
// same pieces from the same corpus. Immutable results: thread-safe for concurrent reads.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "residue/lm/kneser_ney.h"
#include "residue/lm/vocabulary.h"
#include "residue/memory/codebook_training.h"
#include "residue/memory/memory.h"
#include "residue/retrieval/corpus.h"
#include "residue/retrieval/key_encoder.h"

namespace residue {

struct PublicOptions {
  /// V: the vocabulary is the V most frequent general words plus the unknown token.
  uint32_t vocab_words = 4096;
  /// C: codebook cells.
  uint32_t cells = 16;
  /// d: embedding (key) dimension.
  uint32_t dimension = 64;
  KeyEncoderOptions key;
  /// k-means settings (CodebookOptions; `cells` above wins over codebook.cells).
  CodebookOptions codebook;
};

struct PublicModel {
  Vocabulary vocab;
  KeyEncoder encoder;
  Codebook codebook;
  KneserNey lm;
};

/// Trains every piece on corpus.general(). Uses FAISS (k-means): call set_search_threads()
/// first. Seconds on Brown. Throws Error if an option is invalid for the corpus.
PublicModel build_public_model(const Corpus& corpus, const PublicOptions& options);

/// The base LM alone, for a stored vocabulary (Memory::vocabulary()).
KneserNey train_base_lm(const Corpus& corpus, const Vocabulary& vocab);

/// Throws Error unless `corpus` has the token counts the memory was built from (the public
/// pieces and the split would differ otherwise).
void check_memory_corpus(const Memory& memory, const Corpus& corpus);

/// The base LM of the memory: KneserNey on corpus.general() with the memory's vocabulary,
/// after check_memory_corpus().
KneserNey memory_base_lm(const Memory& memory, const Corpus& corpus);

/// Every position of some sentences.
struct Positions {
  std::vector<uint32_t> tokens;  ///< w_i, the target
  std::vector<uint32_t> cells;   ///< Codebook::cell of its key, what a client reports
  std::vector<uint32_t> prev2;   ///< w_{i-2} (the LM's bos() when i < 2)
  std::vector<uint32_t> prev1;   ///< w_{i-1} (bos() when i < 1)
  std::vector<float> keys;       ///< size() x dimension keys, row-major
  std::size_t size() const { return tokens.size(); }
};

/// The positions of `sentences` (ids < encoder.bos(), without <s>).
Positions positions_of(std::span<const std::vector<uint32_t>> sentences, const KeyEncoder& encoder,
                       const Codebook& codebook);
Positions positions_of(std::span<const Document> documents, const Vocabulary& vocab,
                       const KeyEncoder& encoder, const Codebook& codebook);

/// How many positions hold each client value cell * tokens + token: size cells * tokens.
/// Throws Error if a position's cell or token is out of range.
std::vector<uint64_t> joint_counts(const Positions& positions, uint32_t cells, uint32_t tokens);
/// How many positions hold each token: size tokens.
std::vector<uint64_t> token_counts(const Positions& positions, uint32_t tokens);

}  // namespace residue
