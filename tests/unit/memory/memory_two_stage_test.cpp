// TwoStagePlan: candidates from a stage-one estimate, the stage-two values, and the table
// assembled from stage-two estimates under each rule for the "other" mass.
#include "residue/memory/memory_two_stage.h"

#include <catch2/catch.hpp>
#include <vector>

#include "residue/core/error.h"

namespace residue {
namespace {

TEST_CASE("two-stage plan keeps each cell's top candidates", "[two_stage]") {
  // 2 cells x 5 tokens.
  const std::vector<double> stage1 = {1, 9, -3, 9, 4, /* cell 1 */ 0, 0, 7, 2, 8};
  const TwoStagePlan plan = TwoStagePlan::from_estimate(stage1, 2, 5, 2);
  CHECK(plan.domain() == 6);
  CHECK(std::vector<uint32_t>(plan.candidates_of(0).begin(), plan.candidates_of(0).end()) ==
        std::vector<uint32_t>{1, 3});  // a tie at 9 goes to the lower id first
  CHECK(std::vector<uint32_t>(plan.candidates_of(1).begin(), plan.candidates_of(1).end()) ==
        std::vector<uint32_t>{4, 2});
  CHECK(plan.value(0, 1) == 0);
  CHECK(plan.value(0, 3) == 1);
  CHECK(plan.value(0, 0) == 2);  // other
  CHECK(plan.value(1, 4) == 3);
  CHECK(plan.value(1, 2) == 4);
  CHECK(plan.value(1, 3) == 5);
  CHECK_THROWS_WITH(plan.value(2, 0), Catch::Contains("outside 2 cells x 5 tokens"));

  const std::vector<uint64_t> joint = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  CHECK(plan.map_counts(joint) == std::vector<uint64_t>{2, 4, 1 + 3 + 5, 10, 8, 6 + 7 + 9});
}

TEST_CASE("two-stage plan assembles the memory table", "[two_stage]") {
  const TwoStagePlan plan(2, 5, 2, {1, 3, 4, 2});
  const std::vector<double> stage2 = {10, 4, 6, /* cell 1 */ 8, -1, 3};
  const std::vector<double> stage1 = {3, 0, -5, 0, 1, /* cell 1 */ 0, 0, 0, 0, 0};
  const std::vector<double> drop =
      plan.assemble(stage2, CellPostprocess::kClip, OtherMass::kDrop, {});
  CHECK(drop == std::vector<double>{0, 10, 0, 4, 0, 0, 0, 0, 0, 8});
  const std::vector<double> uniform =
      plan.assemble(stage2, CellPostprocess::kClip, OtherMass::kUniform, {});
  CHECK(uniform == std::vector<double>{2, 10, 2, 4, 2, 1, 1, 0, 1, 8});
  // Stage one weighs cell 0's other tokens 0, 2 and 4 as 3 : 0 : 1 (negative clipped); cell 1
  // has no stage-one mass on them, so it falls back to uniform.
  const std::vector<double> by_stage1 =
      plan.assemble(stage2, CellPostprocess::kClip, OtherMass::kStageOne, stage1);
  CHECK(by_stage1 == std::vector<double>{4.5, 10, 0, 4, 1.5, 1, 1, 0, 1, 8});
  // Projection per cell over the L + 1 stage-two entries: cell 1 is (8, -1, 3), mass 10,
  // delta 0.5 -> (7.5, 0, 2.5).
  const std::vector<double> projected =
      plan.assemble(stage2, CellPostprocess::kProject, OtherMass::kDrop, {});
  CHECK(projected[9] == Approx(7.5));
  CHECK(projected[7] == 0);
  CHECK_THROWS_WITH(plan.assemble(stage2, CellPostprocess::kClip, OtherMass::kStageOne, {}),
                    Catch::Contains("needs 10 stage-one estimates"));
}

TEST_CASE("adaptive shortlist keeps the tokens above the stage-two noise", "[two_stage]") {
  // p = (.5, .3, .1, .05, .05) after clipping; 2 cells, 1000 stage-two reports: token t stays
  // when 1000 p_t / 2 > z sd.
  const std::vector<double> unigram = {50, 30, 10, 5, 5, -3};
  const auto flat = [](uint32_t) { return 40.0; };  // line: p >= 40 * 2 / 1000 = 0.08
  CHECK(adaptive_shortlist_size(unigram, 2, 1000, 1, flat, 1, 5) == 3);
  CHECK(adaptive_shortlist_size(unigram, 2, 1000, 0.5, flat, 1, 5) == 5);
  CHECK(adaptive_shortlist_size(unigram, 2, 1000, 100, flat, 2, 5) == 2);  // the lower bound
  // Noise growing with the domain 2 (L + 1): L = 1 gives sd 16 (5 tokens, clamped to 4); L = 4
  // gives sd 40 (3 tokens); L = 3 gives sd 32, line 0.064: 3 tokens, a fixed point.
  const auto growing = [](uint32_t k) { return 4.0 * k; };
  CHECK(adaptive_shortlist_size(unigram, 2, 1000, 1, growing, 1, 4) == 3);
  CHECK(adaptive_shortlist_size(std::vector<double>{-1, 0}, 2, 1000, 1, flat, 1, 5) == 1);
  CHECK_THROWS_WITH(adaptive_shortlist_size(unigram, 2, 1000, 1, flat, 6, 5),
                    Catch::Contains("bounds are [6, 5]"));
}

TEST_CASE("two-stage plan refuses bad candidates", "[two_stage]") {
  CHECK_THROWS_WITH(TwoStagePlan(1, 5, 2, {1, 1}), Catch::Contains("lists token 1 twice"));
  CHECK_THROWS_WITH(TwoStagePlan(1, 5, 2, {1, 5}), Catch::Contains("token 5, outside"));
  CHECK_THROWS_WITH(TwoStagePlan(1, 5, 5, {0, 1, 2, 3, 4}),
                    Catch::Contains("candidates must be in [1, 5)"));
  CHECK_THROWS_WITH(TwoStagePlan::from_estimate(std::vector<double>(9), 2, 5, 2),
                    Catch::Contains("9 stage-one estimates"));
  CHECK(parse_other_mass("stage1") == OtherMass::kStageOne);
  CHECK_THROWS_WITH(parse_other_mass("all"), Catch::Contains("\"all\""));
}

TEST_CASE("a shared shortlist is the plan of the unigram repeated in every cell", "[two_stage]") {
  const std::vector<double> unigram = {1, 9, -3, 9, 4, 0};
  CHECK(shortlist_of(unigram, 3) == std::vector<uint32_t>{1, 3, 4});  // ties to the lower id
  CHECK_THROWS_AS(shortlist_of(unigram, 6), Error);
  std::vector<double> repeated;
  for (int c = 0; c < 3; ++c) repeated.insert(repeated.end(), unigram.begin(), unigram.end());
  const TwoStagePlan from_cells = TwoStagePlan::from_estimate(repeated, 3, 6, 3);
  const TwoStagePlan plan = shortlist_plan(shortlist_of(unigram, 3), 3, 6);
  const std::vector<double> stage2 = {5, 1, -2, 7, /* */ 0, 3, 3, 2, /* */ 4, 4, -1, 0};
  for (uint32_t c = 0; c < 3; ++c) {
    CHECK(std::ranges::equal(plan.candidates_of(c), from_cells.candidates_of(c)));
  }
  for (const OtherMass other : {OtherMass::kDrop, OtherMass::kUniform, OtherMass::kStageOne}) {
    CHECK(assemble_shortlist(plan, stage2, unigram, CellPostprocess::kProject, other) ==
          from_cells.assemble(stage2, CellPostprocess::kProject, other, repeated));
  }
  CHECK_THROWS_WITH(assemble_shortlist(plan, stage2, std::vector<double>(5, 1.0),
                                       CellPostprocess::kProject, OtherMass::kStageOne),
                    Catch::Contains("5 stage-one estimates"));
}

TEST_CASE("the shortlist size grows with the stage-two reports and epsilon", "[two_stage]") {
  std::vector<double> unigram(200);
  for (std::size_t t = 0; t < unigram.size(); ++t) unigram[t] = 1e6 / double(t + 1);  // Zipf
  const uint32_t few = shortlist_size("mss", 2, unigram, 16, 1e5, 0.5);
  const uint32_t many = shortlist_size("mss", 2, unigram, 16, 1e8, 0.5);
  const uint32_t wide = shortlist_size("mss", 8, unigram, 16, 1e8, 0.5);
  CHECK(few >= 8);
  CHECK(few <= many);
  CHECK(many <= wide);
  CHECK(wide <= 199);
  CHECK_THROWS_WITH(shortlist_size("mss", 2, std::vector<double>(8, 1.0), 16, 1e5, 0.5),
                    Catch::Contains("at least 9 tokens"));
}

}  // namespace
}  // namespace residue
