#include "experiments/brown.h"

#include "residue/core/error.h"

namespace residue {

Corpus load_brown(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "sentences.tsv";
  if (!std::filesystem::exists(file)) {
    throw Error("corpus: cannot open " + file.string() + " (run scripts/fetch-data).");
  }
  return Corpus::load(dir, kBrownDomainCategory);
}

}  // namespace residue
