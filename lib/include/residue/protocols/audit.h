// Empirical privacy audit: a statistical lower bound on the epsilon a protocol's randomizer
// really provides, from reports it actually produced for two fixed inputs.
//
// A distinguisher watches the event E = {reports y with P[y | a] >= e^eps P[y | b]} (the
// outputs where the claimed mechanism is most revealing). Drawing N reports for input a and
// N for b, it counts how often E happens; with Clopper-Pearson bounds at the given confidence,
//   epsilon_lower = ln( P[E | a] lower bound / P[E | b] upper bound )
// holds with that confidence for the implementation under test. A correct epsilon-LDP
// randomizer keeps epsilon_lower below the claimed epsilon; one that leaks (such as a subset
// sampler that draws the true value as a filler) drives it above. The same is done with a
// and b swapped and the larger bound kept. (LDP-Auditor, Arcolezi & Gambs, arXiv 2309.01597.)
//
//   SeededRng rng(1);
//   AuditResult r = audit_epsilon(protocol, {.trials = 200000}, rng);
//   if (r.epsilon_lower > r.epsilon_claimed) ...   // the randomizer breaks its promise
#pragma once

#include <cstdint>

#include "residue/protocols/protocol.h"
#include "residue/random/rng.h"

namespace residue {

struct AuditOptions {
  uint32_t value_a = 0;
  uint32_t value_b = 1;
  /// Reports drawn for each of the two inputs.
  uint64_t trials = 100000;
  /// Confidence of the bound, over both directions (each of the four Clopper-Pearson bounds
  /// at 1 - (1 - confidence) / 4).
  double confidence = 0.95;
};

struct AuditResult {
  double epsilon_claimed = 0;
  /// ln of the ratio of the observed event frequencies (no confidence margin); -inf or +inf
  /// when one side never saw the event.
  double epsilon_point = 0;
  /// The lower confidence bound on the epsilon the randomizer provides.
  double epsilon_lower = 0;
  /// Event counts for the direction that gave the bound: under the revealing input, and
  /// under the other one.
  uint64_t hits_revealing = 0;
  uint64_t hits_other = 0;
  uint64_t trials = 0;
};

/// Throws Error if the values are equal or out of range, trials is 0, or confidence is not in
/// (0, 1).
AuditResult audit_epsilon(const Protocol& protocol, const AuditOptions& options, Rng& rng);

}  // namespace residue
