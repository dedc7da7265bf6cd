// A memory from a task's tally: its arms, what it records, and the tallies it refuses.
#include "residue/memory/memory_build.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "residue/protocols/registry.h"
#include "residue/protocols/tally_sampler.h"
#include "residue/random/seeded_rng.h"
#include "residue/search/threads.h"
#include "support/tiny_memory.h"

namespace residue {
namespace {

Protocol mss_protocol(uint32_t k) {
  return make_protocol(complete_params({.protocol = "mss", .k = k, .epsilon = 8}));
}

TEST_CASE("a memory from a task's tally has the LDP arms and no non-private one",
          "[memory_build]") {
  set_search_threads(1);
  const Corpus corpus = testing::tiny_corpus();
  const MemoryBuildOptions options = testing::tiny_build_options();
  const PublicModel pub = build_public_model(corpus, options.public_options);
  const uint32_t k = 2 * pub.vocab.size();
  const Protocol mss = mss_protocol(k);
  const Positions client =
      positions_of(corpus.split_domain(1).client, pub.vocab, pub.encoder, pub.codebook);
  std::vector<uint64_t> counts = joint_counts(client, 2, pub.vocab.size());
  for (uint64_t& c : counts) c *= 1000;
  SeededRng rng(3);
  const Tally tally = sample_tally(mss, counts, rng);
  const Memory m = memory_from_tally(corpus, pub, options, mss, tally, "words");
  CHECK(m.info().source == "store");
  CHECK(m.info().reports == tally.total_reports());
  CHECK(m.info().default_arm == "ldp_project");
  CHECK_FALSE(m.has_arm("nonprivate"));
  CHECK(m.has_arm("ldp_clip"));
  CHECK(m.info().settings["store"]["task"] == "words");

  const Protocol wrong = mss_protocol(k + 1);
  CHECK_THROWS_WITH(memory_from_tally(corpus, pub, options, wrong, wrong.new_tally(), "words"),
                    Catch::Contains("needs k = " + std::to_string(k)));
  CHECK_THROWS_WITH(memory_from_tally(corpus, pub, options, mss, mss.new_tally(), "words"),
                    Catch::Contains("has no reports"));
}

TEST_CASE("a memory from two stages' tallies has the shortlist arm", "[memory_build]") {
  set_search_threads(1);
  const Corpus corpus = testing::tiny_corpus();
  const MemoryBuildOptions options = testing::tiny_build_options();
  const PublicModel pub = build_public_model(corpus, options.public_options);
  const uint32_t tokens = pub.vocab.size();
  const Positions client =
      positions_of(corpus.split_domain(1).client, pub.vocab, pub.encoder, pub.codebook);
  const std::vector<uint64_t> joint = joint_counts(client, 2, tokens);
  std::vector<uint64_t> unigram(tokens, 0);
  for (std::size_t v = 0; v < joint.size(); ++v) unigram[v % tokens] += 300 * joint[v];
  const Protocol one = mss_protocol(tokens);
  SeededRng rng(4);
  const Tally stage1 = sample_tally(one, unigram, rng);
  const std::vector<uint32_t> shortlist = shortlist_of(estimated_counts(one, stage1), 5);
  const TwoStagePlan plan = shortlist_plan(shortlist, 2, tokens);
  std::vector<uint64_t> scaled = joint;
  for (uint64_t& c : scaled) c *= 700;
  const Protocol two = mss_protocol(plan.domain());
  const Tally stage2 = sample_tally(two, plan.map_counts(scaled), rng);

  const Memory m = memory_from_two_stage_tallies(corpus, pub, options, shortlist,
                                                 {"tokens", one, stage1}, {"next", two, stage2});
  CHECK(m.info().default_arm == "ldp_2stage_shortlist");
  CHECK(m.arms().size() == 3);
  CHECK(m.has_arm("uniform"));
  CHECK(m.info().reports == stage2.total_reports());
  CHECK(m.info().settings["store"]["stage_one"]["task"] == "tokens");
  CHECK(m.arm("ldp_2stage_shortlist").counts ==
        assemble_shortlist(plan, estimated_counts(two, stage2), estimated_counts(one, stage1),
                           CellPostprocess::kProject, OtherMass::kStageOne));

  CHECK_THROWS_WITH(
      memory_from_two_stage_tallies(corpus, pub, options, shortlist, {"next", two, stage2},
                                    {"tokens", one, stage1}),
      Catch::Contains("stage one (the token alone) needs k = " + std::to_string(tokens)));
  CHECK_THROWS_WITH(
      memory_from_two_stage_tallies(corpus, pub, options, shortlist, {"tokens", one, stage1},
                                    {"next", two, two.new_tally()}),
      Catch::Contains("\"next\" has no reports"));
}

}  // namespace
}  // namespace residue
