// What a device links to report into a memory task: the public word vectors and codebook as
// the aggregator publishes them, the key of the context typed so far, its cell, and the value
// cell * tokens + next token that the client encodes. CTest checks that the binary holds
// nothing of FAISS, OpenMP or BLAS (CMakeLists.txt).
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "residue/lm/vocabulary.h"
#include "residue/retrieval/codebook.h"
#include "residue/retrieval/corpus.h"
#include "residue/retrieval/key_encoder.h"

int main() {
  const residue::Vocabulary vocab(std::vector<std::string>{"the", "results", "of", "show"});
  const uint32_t tokens = vocab.size();  // the words and <unk>
  constexpr uint32_t kDimension = 4;

  // The published pieces (fixed numbers here; the aggregator trains them on the public corpus).
  std::vector<float> vectors((tokens + 1) * kDimension);  // one row per token, then <s>
  for (std::size_t i = 0; i < vectors.size(); ++i) vectors[i] = static_cast<float>(std::sin(i));
  const residue::WordEmbeddings published_vectors(tokens + 1, kDimension, vectors);
  const residue::Codebook published_codebook(kDimension, {1, 0, 0, 0, 0, 1, 0, 0, -1, 0, 0, 0});

  // The device parses the bytes it downloaded and computes its value.
  const residue::KeyEncoder encoder(
      residue::WordEmbeddings::parse(published_vectors.serialize()).value());
  const residue::Codebook codebook =
      residue::Codebook::parse(published_codebook.serialize()).value();
  std::vector<uint32_t> history = {encoder.bos()};
  for (uint32_t id : vocab.ids(residue::text_tokens("The results of"))) history.push_back(id);
  const uint32_t cell = codebook.cell(encoder.encode(history));
  const uint32_t value = cell * tokens + vocab.id("show");
  std::printf("cell %u of %u, value %u of %u\n", cell, codebook.cells(), value,
              codebook.cells() * tokens);
  return 0;
}
