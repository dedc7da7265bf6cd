#include "experiments/unit_reports.h"

#include <string>

#include "residue/core/error.h"
#include "residue/protocols/tally_sampler.h"
#include "residue/random/binomial.h"

namespace residue {

SimulatedReports simulate_unit_reports(const Protocol& protocol,
                                       std::span<const uint64_t> occurrences, uint64_t n,
                                       Rng& rng) {
  if (occurrences.size() != protocol.params().k) {
    throw Error("unit reports: " + std::to_string(occurrences.size()) +
                " candidate units, but the protocol's k is " + std::to_string(protocol.params().k) +
                ".");
  }
  if (n == 0) throw Error("unit reports: n must be at least 1, but is 0.");
  uint64_t total = 0;
  for (uint64_t c : occurrences) total += c;
  if (total == 0) {
    throw Error("unit reports: no candidate unit occurs in the clients' text (0 occurrences).");
  }
  std::vector<double> probabilities(occurrences.begin(), occurrences.end());
  std::vector<uint64_t> true_counts = multinomial(probabilities, n, rng);
  Tally tally = sample_tally(protocol, true_counts, rng);
  return {.true_counts = std::move(true_counts), .tally = std::move(tally)};
}

}  // namespace residue
