#include "experiments/unit_reports.h"

#include <catch2/catch.hpp>
#include <numeric>
#include <vector>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"

namespace residue {

TEST_CASE("simulated unit reports draw n clients from the occurrences", "[unit_reports]") {
  const Protocol mss = make_protocol(complete_params({.protocol = "mss", .k = 16, .epsilon = 2}));
  std::vector<uint64_t> occurrences(16, 0);
  occurrences[2] = 3;
  occurrences[9] = 1;
  SeededRng rng(4);
  // n far above the 4 occurrences: clients draw with replacement.
  const SimulatedReports r = simulate_unit_reports(mss, occurrences, 100000, rng);
  CHECK(std::accumulate(r.true_counts.begin(), r.true_counts.end(), uint64_t{0}) == 100000);
  CHECK(r.tally.total_reports() == 100000);
  for (std::size_t v = 0; v < 16; ++v) {
    if (occurrences[v] == 0) CHECK(r.true_counts[v] == 0);
  }
  // Binomial(100000, 3/4): 3 standard deviations are ~410.
  CHECK(r.true_counts[2] > 75000 - 410);
  CHECK(r.true_counts[2] < 75000 + 410);

  CHECK_THROWS_AS(simulate_unit_reports(mss, std::vector<uint64_t>(15, 1), 10, rng), Error);
  CHECK_THROWS_AS(simulate_unit_reports(mss, std::vector<uint64_t>(16, 0), 10, rng), Error);
  CHECK_THROWS_AS(simulate_unit_reports(mss, occurrences, 0, rng), Error);
}

}  // namespace residue
