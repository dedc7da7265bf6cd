// Simulated memory builds: the arms' shapes, the exact arms, LDP arms near them at a large
// epsilon, determinism.
#include "experiments/memory_experiment.h"

#include <catch2/catch.hpp>
#include <numeric>
#include <vector>

namespace residue {
namespace {

SimulationOptions small_simulation() {
  SimulationOptions o;
  o.epsilon = 8;
  o.reports = 200'000;
  o.protocol = "ss";  // MSS needs larger domains than these (two primes in (k/2, k))
  o.cells_two_stage.candidates = 2;
  o.shortlist_two_stage.candidates = 3;
  return o;
}

TEST_CASE("simulated arms: exact arms hold the population, LDP arms estimate it",
          "[memory_experiment]") {
  // 2 cells x 6 tokens; cell 1 is concentrated on two tokens.
  const std::vector<uint64_t> joint = {30, 20, 10, 5, 5, 0, /* cell 1 */ 0, 0, 60, 0, 40, 0};
  ProtocolCache protocols;
  nlohmann::json settings;
  const SimulationOptions o = small_simulation();
  const std::vector<MemoryArm> arms = simulate_arms(joint, 2, 6, o, 1, protocols, settings);
  std::vector<std::string> names;
  for (const MemoryArm& a : arms) names.push_back(a.name);
  CHECK(names == std::vector<std::string>{"base", "uniform", "nonprivate", "unigram_nonprivate",
                                          "ldp_clip", "ldp_project", "unigram_ldp",
                                          "ldp_2stage_cells", "ldp_2stage_shortlist"});
  const auto arm = [&](const std::string& name) -> const MemoryArm& {
    for (const MemoryArm& a : arms) {
      if (a.name == name) return a;
    }
    FAIL("no arm " << name);
    return arms.front();
  };
  const std::vector<double>& exact = arm("nonprivate").counts;
  REQUIRE(exact.size() == 12);
  CHECK(std::accumulate(exact.begin(), exact.end(), 0.0) == 200'000);
  CHECK(exact[5] == 0);  // a value no client holds is never drawn
  const std::vector<double>& unigram = arm("unigram_nonprivate").counts;
  for (uint32_t t = 0; t < 6; ++t) CHECK(unigram[t] == exact[t] + exact[6 + t]);
  // At eps = 8 the per-count standard deviation is about sqrt(n 4 e^-8) ~ 16 here: every LDP
  // arm lands within a few hundred of the exact counts of 10^4-10^5.
  for (const char* name : {"ldp_clip", "ldp_project", "ldp_2stage_cells", "ldp_2stage_shortlist"}) {
    const std::vector<double>& c = arm(name).counts;
    REQUIRE(c.size() == 12);
    for (std::size_t v = 0; v < 12; ++v) {
      INFO(name << " value " << v);
      CHECK(c[v] >= 0);
      // The two-stage arms count only the stage-two clients (about 80-90% of them).
      const double scale = std::string(name).find("2stage") != std::string::npos
                               ? std::accumulate(c.begin(), c.end(), 0.0) / 200'000
                               : 1.0;
      CHECK(std::abs(c[v] - scale * exact[v]) < 500);
    }
  }
  CHECK(settings["simulation"]["ldp_2stage_shortlist"]["candidates"] == 3);
  // Every random stage is seeded: the same options give the same arms.
  nlohmann::json again_settings;
  const std::vector<MemoryArm> again = simulate_arms(joint, 2, 6, o, 1, protocols, again_settings);
  for (std::size_t i = 0; i < arms.size(); ++i) CHECK(arms[i].counts == again[i].counts);
  SimulationOptions other = o;
  other.noise_seed = 2;
  const std::vector<MemoryArm> reseeded =
      simulate_arms(joint, 2, 6, other, 1, protocols, again_settings);
  CHECK(reseeded[2].counts != arms[2].counts);
}

TEST_CASE("simulated arms refuse invalid options", "[memory_experiment]") {
  const std::vector<uint64_t> joint(12, 1);
  ProtocolCache protocols;
  nlohmann::json settings;
  SimulationOptions o = small_simulation();
  o.reports = 0;
  CHECK_THROWS_WITH(simulate_arms(joint, 2, 6, o, 1, protocols, settings),
                    Catch::Contains("reports (n) must be at least 1"));
  o = small_simulation();
  o.shortlist_two_stage.share = 1;
  CHECK_THROWS_WITH(simulate_arms(joint, 2, 6, o, 1, protocols, settings),
                    Catch::Contains("share must be in (0, 1)"));
  o = small_simulation();
  o.cells_two_stage.candidates = 6;
  CHECK_THROWS_WITH(simulate_arms(joint, 2, 6, o, 1, protocols, settings),
                    Catch::Contains("candidates must be in [1, 6)"));
  CHECK_THROWS_WITH(
      simulate_arms(std::vector<uint64_t>(11), 2, 6, small_simulation(), 1, protocols, settings),
      Catch::Contains("11 joint counts"));
}

}  // namespace
}  // namespace residue
