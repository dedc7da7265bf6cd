#include "residue/memory/memory_setup.h"

#include <string>

#include "residue/core/error.h"
#include "residue/retrieval/embeddings.h"
#include "residue/retrieval/joint_value.h"

namespace residue {

PublicModel build_public_model(const Corpus& corpus, const PublicOptions& options) {
  const std::vector<std::string> general_tokens = tokens_of(corpus.general());
  Vocabulary vocab = Vocabulary::most_frequent(general_tokens, options.vocab_words);
  const std::vector<std::vector<uint32_t>> general = sentence_ids(corpus.general(), vocab);
  EmbeddingOptions embedding;
  embedding.dimension = options.dimension;
  KeyEncoder encoder(WordEmbeddings::train(general, vocab.size(), embedding), options.key);
  CodebookOptions book = options.codebook;
  book.cells = options.cells;
  // The codebook is fitted to the keys of general-corpus positions: the contexts the public
  // LM saw, so cells split the space where contexts actually fall.
  const std::vector<float> keys = encoder.encode_sentences(general);
  Codebook codebook = train_codebook(keys, encoder.dimension(), book);
  KneserNey lm = KneserNey::train(general, vocab.size());
  return PublicModel{std::move(vocab), std::move(encoder), std::move(codebook), std::move(lm)};
}

KneserNey train_base_lm(const Corpus& corpus, const Vocabulary& vocab) {
  return KneserNey::train(sentence_ids(corpus.general(), vocab), vocab.size());
}

void check_memory_corpus(const Memory& memory, const Corpus& corpus) {
  const uint64_t general = token_count(corpus.general());
  const uint64_t domain = token_count(corpus.domain());
  if (general != memory.info().general_tokens || domain != memory.info().domain_tokens) {
    throw Error("memory: the corpus has " + std::to_string(general) + " general and " +
                std::to_string(domain) + " domain tokens, but the memory was built from one with " +
                std::to_string(memory.info().general_tokens) + " and " +
                std::to_string(memory.info().domain_tokens) + " (another data directory?).");
  }
}

KneserNey memory_base_lm(const Memory& memory, const Corpus& corpus) {
  check_memory_corpus(memory, corpus);
  return train_base_lm(corpus, memory.vocabulary());
}

Positions positions_of(std::span<const std::vector<uint32_t>> sentences, const KeyEncoder& encoder,
                       const Codebook& codebook) {
  if (encoder.dimension() != codebook.dimension()) {
    throw Error("positions: the key encoder has dimension " + std::to_string(encoder.dimension()) +
                ", the codebook " + std::to_string(codebook.dimension()) + ".");
  }
  Positions p;
  const uint32_t bos = encoder.bos();
  for (const std::vector<uint32_t>& s : sentences) {
    const std::vector<float> keys = encoder.encode_sentence(s);
    p.keys.insert(p.keys.end(), keys.begin(), keys.end());
    for (std::size_t i = 0; i < s.size(); ++i) {
      p.tokens.push_back(s[i]);
      p.prev2.push_back(i >= 2 ? s[i - 2] : bos);
      p.prev1.push_back(i >= 1 ? s[i - 1] : bos);
    }
  }
  p.cells = codebook.cells_of(p.keys);
  return p;
}

Positions positions_of(std::span<const Document> documents, const Vocabulary& vocab,
                       const KeyEncoder& encoder, const Codebook& codebook) {
  return positions_of(sentence_ids(documents, vocab), encoder, codebook);
}

std::vector<uint64_t> joint_counts(const Positions& positions, uint32_t cells, uint32_t tokens) {
  std::vector<uint64_t> counts(std::size_t{cells} * tokens, 0);
  for (std::size_t i = 0; i < positions.size(); ++i) {
    if (positions.cells[i] >= cells || positions.tokens[i] >= tokens) {
      throw Error("positions: position " + std::to_string(i) + " has cell " +
                  std::to_string(positions.cells[i]) + " and token " +
                  std::to_string(positions.tokens[i]) + ", outside " + std::to_string(cells) +
                  " cells x " + std::to_string(tokens) + " tokens.");
    }
    ++counts[joint_value(positions.cells[i], positions.tokens[i], tokens)];
  }
  return counts;
}

std::vector<uint64_t> token_counts(const Positions& positions, uint32_t tokens) {
  std::vector<uint64_t> counts(tokens, 0);
  for (std::size_t i = 0; i < positions.size(); ++i) {
    if (positions.tokens[i] >= tokens) {
      throw Error("positions: position " + std::to_string(i) + " has token " +
                  std::to_string(positions.tokens[i]) + ", outside " + std::to_string(tokens) +
                  " tokens.");
    }
    ++counts[positions.tokens[i]];
  }
  return counts;
}

}  // namespace residue
