// Tuning and scoring: the fast per-position path agrees with the decoder's full
// distributions, the grid search finds the grid's best point, and lambda = 0 switches off a
// memory that does not help.
#include "residue/memory/memory_tuning.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "memory_fixture.h"
#include "residue/random/seeded_rng.h"
#include "residue/search/threads.h"

namespace residue {
namespace {

using testing::small_memory;

/// Random sentences over the fixture memory's tokens: the LM learns from 30 of them, the
/// positions are the 30 others.
struct Fixture {
  Memory memory = small_memory();
  std::vector<std::vector<uint32_t>> training, sentences;
  KneserNey lm;
  Positions positions;

  Fixture() : lm(make()) {
    positions = positions_of(sentences, memory.key_encoder(), memory.codebook());
  }
  KneserNey make() {
    SeededRng rng(21);
    for (int s = 0; s < 60; ++s) {
      std::vector<uint32_t> sentence(3 + rng.uniform(6));
      for (uint32_t& w : sentence) w = static_cast<uint32_t>(rng.uniform(memory.tokens()));
      (s < 30 ? training : sentences).push_back(sentence);
    }
    return KneserNey::train(training, memory.tokens());
  }
};

TEST_CASE("score_arm agrees with the decoder's full distributions", "[memory_tuning]") {
  set_search_threads(1);
  const Fixture f;
  const Memory& m = f.memory;
  const MemoryDecoder index(m.codebook(), m.arm("uniform"), m.tokens());
  const ScoredPositions scored = score_positions(f.positions, f.lm, index, m.cells());
  REQUIRE(scored.size() == f.positions.size());
  const uint32_t unknown = m.tokens() - 1;
  const uint32_t d = m.dimension();
  for (const MemoryArm& arm : m.arms()) {
    const MemoryDecoder decoder(m.codebook(), arm, m.tokens());
    double all = 0, known = 0;
    std::size_t n_known = 0;
    std::vector<double> p(m.tokens());
    for (std::size_t i = 0; i < f.positions.size(); ++i) {
      const std::vector<double> p_lm =
          f.lm.distribution(f.positions.prev2[i], f.positions.prev1[i]);
      decoder.distribution(std::span<const float>(f.positions.keys).subspan(i * d, d), p_lm, p);
      const double lp = std::log(p[f.positions.tokens[i]]);
      all += lp;
      if (f.positions.tokens[i] != unknown) known += lp, ++n_known;
    }
    const ArmScore s = score_arm(arm, scored, unknown);
    INFO(arm.name);
    CHECK(s.positions == f.positions.size());
    CHECK(s.known_positions == n_known);
    CHECK(s.perplexity == Approx(std::exp(-all / static_cast<double>(f.positions.size()))));
    CHECK(s.perplexity_known == Approx(std::exp(-known / static_cast<double>(n_known))));
  }
  CHECK(f.lm.perplexity(f.sentences) ==
        Approx(score_arm(m.arm("base"), scored, unknown).perplexity));
}

TEST_CASE("tune_arm finds the best point of the grid", "[memory_tuning]") {
  set_search_threads(1);
  const Fixture f;
  const Memory& m = f.memory;
  const MemoryDecoder index(m.codebook(), m.arm("uniform"), m.tokens());
  const ScoredPositions scored = score_positions(f.positions, f.lm, index, m.cells());
  TuningGrid grid;
  grid.neighbours = {1, 2, 3};
  grid.temperatures = {0.05, 0.5};
  grid.alphas = {0.1, 1, 10};
  grid.lambdas = {0, 0.1, 0.3, 0.6};
  for (const char* name : {"ldp_project", "unigram_ldp", "uniform"}) {
    MemoryArm arm = m.arm(name);
    tune_arm(arm, scored, grid, 2);
    // Brute force over the same grid with score_arm.
    double best = INFINITY;
    for (uint32_t k : grid.neighbours) {
      for (double t : grid.temperatures) {
        for (double a : grid.alphas) {
          for (double l : grid.lambdas) {
            MemoryArm probe = arm;
            probe.hyper = {k, t, a, l};
            best = std::min(best, score_arm(probe, scored, m.tokens() - 1).perplexity);
          }
        }
      }
    }
    INFO(name);
    CHECK(arm.tuning_perplexity == Approx(best).epsilon(1e-12));
    CHECK(score_arm(arm, scored, m.tokens() - 1).perplexity == Approx(arm.tuning_perplexity));
  }
}

TEST_CASE("tune_arm switches off a memory that does not help", "[memory_tuning]") {
  set_search_threads(1);
  const Fixture f;
  const Memory& m = f.memory;
  const MemoryDecoder index(m.codebook(), m.arm("uniform"), m.tokens());
  const ScoredPositions scored = score_positions(f.positions, f.lm, index, m.cells());
  // All mass on one token the text never holds and no smoothing: every lambda > 0 costs
  // likelihood at every position.
  MemoryArm useless;
  useless.name = "useless";
  useless.kind = ArmKind::kUnigram;
  useless.counts.assign(m.tokens(), 0.0);
  useless.counts[m.tokens() - 1] = 1e9;
  // An oracle: the exact unigram of the scored text itself helps an LM of other text.
  MemoryArm oracle = useless;
  oracle.name = "oracle";
  std::fill(oracle.counts.begin(), oracle.counts.end(), 0.0);
  for (uint32_t t : scored.targets) oracle.counts[t] += 1;
  ScoredPositions no_unknown = scored;
  for (uint32_t& t : no_unknown.targets) t = t == m.tokens() - 1 ? 0 : t;
  TuningGrid unsmoothed = TuningGrid::defaults();
  unsmoothed.alphas = {0};
  tune_arm(useless, no_unknown, unsmoothed);
  CHECK(useless.hyper.lambda == 0);
  tune_arm(oracle, scored, TuningGrid::defaults());
  CHECK(oracle.hyper.lambda > 0);
  MemoryArm base = m.arm("base");
  tune_arm(base, scored, TuningGrid::defaults());
  CHECK(oracle.tuning_perplexity < base.tuning_perplexity);
  CHECK(base.hyper.lambda == 0);

  TuningGrid no_zero = TuningGrid::defaults();
  no_zero.lambdas = {0.1, 0.2};
  CHECK_THROWS_WITH(tune_arm(oracle, scored, no_zero), Catch::Contains("must include 0"));
}

}  // namespace
}  // namespace residue
