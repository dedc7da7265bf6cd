// Evaluation end to end on the tiny corpus: a simulated memory, its arms scored on the test
// split, the gap closed, and the corpus check.
#include "residue/memory/memory_evaluation.h"

#include <catch2/catch.hpp>

#include "experiments/memory_experiment.h"
#include "residue/search/threads.h"
#include "support/tiny_memory.h"

namespace residue {
namespace {

TEST_CASE("evaluate_memory scores every arm of a simulated memory", "[memory_evaluation]") {
  set_search_threads(1);
  const Corpus corpus = testing::tiny_corpus();
  const MemoryBuildOptions options = testing::tiny_build_options();
  const PublicModel pub = build_public_model(corpus, options.public_options);
  SimulationOptions sim;
  sim.epsilon = 8;
  sim.reports = 100'000;
  sim.protocol = "ss";  // the shortlist's stage two has 2 x 5 values: too few for MSS
  sim.cells_two_stage.candidates = 4;
  sim.shortlist_two_stage.candidates = 8;
  ProtocolCache protocols;
  const Memory m = simulate_memory(corpus, pub, options, sim, protocols);
  CHECK(m.info().default_arm == kDefaultLdpArm);
  for (const MemoryArm& a : m.arms()) CHECK(a.tuning_perplexity > 0);

  const KneserNey lm = memory_base_lm(m, corpus);
  const MemoryEvaluation e = evaluate_memory(m, corpus, lm);
  REQUIRE(e.arms.size() == m.arms().size());
  CHECK(e.test_positions == token_count(corpus.split_domain(1).test));
  // The base arm is the LM's own perplexity on the test sentences.
  const Vocabulary vocab = m.vocabulary();
  CHECK(e.arm("base").test.perplexity ==
        Approx(lm.perplexity(sentence_ids(corpus.split_domain(1).test, vocab))));
  CHECK_FALSE(e.best_control.empty());
  const double control = e.arm(e.best_control).test.perplexity;
  const double nonprivate = e.arm("nonprivate").test.perplexity;
  for (const char* name : {"ldp_clip", "ldp_project", "ldp_2stage_cells", "ldp_2stage_shortlist"}) {
    REQUIRE(e.gap_closed.count(name) == 1);
    CHECK(e.gap_closed.at(name) ==
          Approx((control - e.arm(name).test.perplexity) / (control - nonprivate)));
  }
  const nlohmann::json j = e.to_json();
  CHECK(j["arms"].size() == m.arms().size());
  CHECK(j["arms"][0]["change_vs_base"] == 0.0);

  // Another corpus (here: the general part only) is refused before anything is scored.
  const Corpus other(corpus.general(), "learned");
  CHECK_THROWS_WITH(memory_base_lm(m, other), Catch::Contains("another data directory"));
}

}  // namespace
}  // namespace residue
