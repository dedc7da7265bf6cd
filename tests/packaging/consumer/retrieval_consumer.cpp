// The retrieval component from an installed package: the base model's vocabulary (residue::lm)
// and the FAISS thread setting (residue::retrieval), so that FAISS and OpenMP resolve.
#include <cstdio>
#include <string>
#include <vector>

#include "residue/lm/vocabulary.h"
#include "residue/search/threads.h"

int main() {
  residue::set_search_threads(1);
  const std::vector<std::string> tokens = {"the", "cat", "the", "dog", "the"};
  const residue::Vocabulary vocab = residue::Vocabulary::most_frequent(tokens, 1);
  std::printf("retrieval consumer: vocabulary of %u ids, \"the\" is %u\n", vocab.size(),
              vocab.id("the"));
  return vocab.id("the") == 0 && vocab.id("cat") == vocab.unknown() ? 0 : 1;
}
