// Simulated unit reports: the MSS tally that n clients would send when each reports one
// candidate-unit occurrence drawn from the domain's client text, without encoding a report.
//
// The population is every occurrence of a candidate in the client split
// (CandidateUnits::count_occurrences). A client holds one occurrence drawn from it with
// replacement, so n may exceed the number of occurrences (Brown's client split holds 44,721;
// n = 10^7 clients is ~220 draws per occurrence): the true counts are
// Multinomial(n, occurrences / total), and the tally is sample_tally() of them (exact counter
// marginals, O(k l) for any n). Simulation only: a SeededRng, never a device's Csprng.
//
//   Protocol mss = make_protocol(complete_params({.protocol = "mss", .k = 50000, .epsilon = 2}));
//   SimulatedReports r = simulate_unit_reports(mss, occurrences, 10'000'000, rng);
//   builder.add_round(mss, r.tally, ...);       // r.true_counts: what the clients held
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "residue/protocols/protocol.h"
#include "residue/protocols/tally.h"
#include "residue/random/rng.h"

namespace residue {

struct SimulatedReports {
  std::vector<uint64_t> true_counts;  ///< clients holding each unit (size k, sum n)
  Tally tally;                        ///< what their reports add up to
};

/// Throws Error unless occurrences.size() == k of `protocol` (an ss or mss protocol), their
/// sum is positive, and n >= 1.
SimulatedReports simulate_unit_reports(const Protocol& protocol,
                                       std::span<const uint64_t> occurrences, uint64_t n, Rng& rng);

}  // namespace residue
