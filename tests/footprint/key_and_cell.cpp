// What a device links to report into a memory task: the task artifact as the aggregator
// publishes it (vocabulary, word vectors, key encoder, codebook; residue/retrieval/
// task_artifact.h), parsed from the downloaded bytes, and memory_value, the key of the context
// typed so far, its cell and the value cell * tokens + next token that the client encodes.
// CTest checks that the binary holds nothing of FAISS, OpenMP or BLAS (CMakeLists.txt).
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "residue/retrieval/corpus.h"
#include "residue/retrieval/task_artifact.h"

int main() {
  residue::Vocabulary vocab(std::vector<std::string>{"the", "results", "of", "show"});
  const uint32_t tokens = vocab.size();  // the words and <unk>
  constexpr uint32_t kDimension = 4;

  // The published pieces (fixed numbers here; `residue memory prepare` trains them on the
  // public corpus).
  std::vector<float> vectors((tokens + 1) * kDimension);  // one row per token, then <s>
  for (std::size_t i = 0; i < vectors.size(); ++i) vectors[i] = static_cast<float>(std::sin(i));
  const residue::MemoryArtifact published(
      std::move(vocab),
      residue::KeyEncoder(residue::WordEmbeddings(tokens + 1, kDimension, vectors)),
      residue::Codebook(kDimension, {1, 0, 0, 0, 0, 1, 0, 0, -1, 0, 0, 0}));

  // The device parses the bytes it downloaded and computes its value.
  const residue::ParseResult<residue::MemoryArtifact> artifact =
      residue::MemoryArtifact::parse(published.serialize());
  if (!artifact.ok()) {
    std::printf("artifact refused: %s\n", artifact.error().message.c_str());
    return 1;
  }
  const std::vector<std::string> words_before = residue::text_tokens("The results of");
  const uint32_t value = residue::memory_value(artifact.value(), words_before, "show");
  std::printf("cell %u of %u, value %u of %u\n", value / tokens,
              artifact.value().codebook().cells(), value, artifact.value().domain());
  return 0;
}
