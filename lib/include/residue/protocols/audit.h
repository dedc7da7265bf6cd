// Empirical privacy audit: a statistical lower bound on the epsilon a protocol's randomizer
// really provides, from reports it actually produced.
//
// The audit draws N reports for each of several inputs and searches a family of events for
// one that is much likelier under one input than under another. For an event E and inputs
// x, x', with Clopper-Pearson bounds,
//   epsilon_lower = ln( lower bound of P[E | x] / upper bound of P[E | x'] ),
// and the largest over the family holds, at the given confidence, for the implementation
// under test: the confidence is shared by a Bonferroni correction over every bound the search
// could use (docs/attacks.md). The family:
//   - the claimed mechanism's revealing set for the pair (a, b) and for (b, a):
//     {y : P[y | a] >= e^eps P[y | b]}, where a correct randomizer is most revealing;
//   - for every report class c (MSS's block, OLH's seed) and position j of its universe:
//     "the report is of class c and holds j", "... and lacks j", "the report is of class c"
//     (a one-class report needs only the first);
//   - the complement of each.
// A correct epsilon-LDP randomizer keeps epsilon_lower below the claimed epsilon; one that
// leaks drives it above: a subset sampler that draws the true value as a filler (the PGR
// reference code), or one that never reports some position for some input (a zero count
// against many). (LDP-Auditor, Arcolezi & Gambs, arXiv 2309.01597.)
//
//   SeededRng rng(1);
//   AuditResult r = audit_epsilon(protocol, {.trials = 200000}, rng);
//   if (r.epsilon_lower > r.epsilon_claimed) std::cout << r.description;   // what leaks
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "residue/protocols/protocol.h"
#include "residue/random/rng.h"

namespace residue {

struct AuditOptions {
  /// The pair whose claimed revealing sets are tested; both are among the inputs.
  uint32_t value_a = 0;
  uint32_t value_b = 1;
  /// How many inputs reports are drawn for (audit_inputs() lists them); at least 2.
  uint32_t inputs = 8;
  /// Reports drawn for each input.
  uint64_t trials = 100000;
  /// Confidence of the bound, over the whole search.
  double confidence = 0.95;
};

/// One event of the search.
struct AuditEvent {
  enum class Kind {
    kRevealing,  ///< the claimed mechanism's revealing set for (input_revealing, input_other)
    kHolds,      ///< the report is of class `block` and holds `position`
    kLacks,      ///< the report is of class `block` and lacks `position`
    kClass,      ///< the report is of class `block`
  };
  Kind kind = Kind::kRevealing;
  uint32_t block = 0;
  uint32_t position = 0;
  /// The event is the complement of the one above. (For kRevealing: of the set for
  /// (input_other, input_revealing), which is likelier under input_other.)
  bool complement = false;
};

struct AuditResult {
  double epsilon_claimed = 0;
  /// The lower confidence bound on the epsilon the randomizer provides: the largest over the
  /// search.
  double epsilon_lower = 0;
  /// For the event that gave the bound: ln of the ratio of its observed frequencies (no
  /// confidence margin; +inf when the other input never saw it).
  double epsilon_point = 0;
  AuditEvent event;
  /// The event in words, e.g. "position 6 is in the report".
  std::string description;
  /// The input under which the event is likelier, and the other one.
  uint32_t input_revealing = 0;
  uint32_t input_other = 0;
  /// How many of the `trials` reports of each of the two fell in the event.
  uint64_t hits_revealing = 0;
  uint64_t hits_other = 0;
  uint64_t trials = 0;
};

/// The inputs the audit draws reports for: value_a, value_b, then 0, k - 1 and values spread
/// evenly over [0, k), min(inputs, k) distinct ones in all. Throws as audit_epsilon does.
std::vector<uint32_t> audit_inputs(uint32_t k, const AuditOptions& options);

/// Draws options.trials reports for each input. O(inputs trials (encode + report size) +
/// inputs (sum of the universes)). Throws Error if the values are equal or out of range,
/// inputs < 2, trials is 0, or confidence is not in (0, 1).
AuditResult audit_epsilon(const Protocol& protocol, const AuditOptions& options, Rng& rng);

}  // namespace residue
