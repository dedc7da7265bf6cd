// A small, fully specified Memory for the memory tests: 10 words (11 tokens), dimension 4,
// 3 cells, one arm of each kind, random but seeded contents.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "residue/memory/memory.h"
#include "residue/random/seeded_rng.h"

namespace residue::testing {

inline std::vector<float> unit_rows(uint32_t rows, uint32_t dimension, SeededRng& rng) {
  std::vector<float> out(std::size_t{rows} * dimension);
  for (uint32_t r = 0; r < rows; ++r) {
    double norm = 0;
    for (uint32_t j = 0; j < dimension; ++j) {
      const float x = static_cast<float>(2 * rng.uniform01() - 1);
      out[std::size_t{r} * dimension + j] = x;
      norm += double{x} * x;
    }
    for (uint32_t j = 0; j < dimension; ++j) {
      out[std::size_t{r} * dimension + j] /= static_cast<float>(std::sqrt(norm));
    }
  }
  return out;
}

inline MemoryArm small_arm(std::string name, ArmKind kind, uint32_t rows, uint32_t tokens,
                           SeededRng& rng) {
  MemoryArm a;
  a.name = std::move(name);
  a.kind = kind;
  a.description = "test arm";
  a.counts.resize(std::size_t{rows} * tokens);
  // Whole numbers and some zeros, like clipped or exact counts.
  for (double& c : a.counts) c = rng.uniform(3) == 0 ? 0.0 : static_cast<double>(rng.uniform(50));
  return a;
}

inline Memory small_memory(uint64_t seed = 7) {
  SeededRng rng(seed);
  constexpr uint32_t kWords = 10, kDimension = 4, kCells = 3;
  constexpr uint32_t kTokens = kWords + 1;
  // Spelled out: building "w" + std::to_string(i) trips a false -Wrestrict of GCC 12 at -O3.
  std::vector<std::string> words = {"w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9"};
  WordEmbeddings embeddings(kTokens + 1, kDimension, unit_rows(kTokens + 1, kDimension, rng));
  Codebook codebook(kDimension, unit_rows(kCells, kDimension, rng));
  std::vector<MemoryArm> arms;
  arms.push_back(small_arm("base", ArmKind::kBase, 0, kTokens, rng));
  arms.push_back(small_arm("uniform", ArmKind::kUniform, 0, kTokens, rng));
  arms.back().hyper.lambda = 0.1;
  arms.push_back(small_arm("unigram_ldp", ArmKind::kUnigram, 1, kTokens, rng));
  arms.back().hyper = {1, 1, 2.5, 0.2};
  arms.push_back(small_arm("ldp_project", ArmKind::kCells, kCells, kTokens, rng));
  arms.back().hyper = {2, 0.1, 0.5, 0.3};
  arms.back().tuning_perplexity = 12.25;
  MemoryInfo info;
  info.source = "simulated";
  info.data_dir = "nowhere";
  info.split_seed = 3;
  info.epsilon = 4;
  info.reports = 1000;
  info.protocol_id = "residue.mss.3";
  info.general_tokens = 100;
  info.domain_tokens = 50;
  info.default_arm = "ldp_project";
  info.settings = {{"note", "fixture"}, {"share", 0.125}};
  return Memory(std::move(info), std::move(words), std::move(embeddings), std::move(codebook),
                std::move(arms));
}

}  // namespace residue::testing
