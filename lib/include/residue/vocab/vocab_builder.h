// VocabBuilder: which candidate units the dynamic vocabulary holds, decided round by round from
// private frequency estimates, with every round's additions and removals logged.
//
// The rule (admit_units): walk the candidates in decreasing order of their estimated frequency
// and admit a unit when it is significant, estimate > z x its standard error, until U units are
// admitted. So the vocabulary after a round is the U largest significant estimates of that
// round: a unit admitted earlier that falls below the bar (insignificant, or pushed out of the
// top U) is removed, a new one above it is added. Rounds do not pool reports; each is decided
// on its own estimates.
//
// z defaults to a Bonferroni bound over the k candidates, Phi^-1(1 - alpha / k) (4.75 for
// k = 50,000, alpha = 0.05): with z = 3, about 0.00135 x 36,000 = 49 of the Brown candidates
// that never occur in the clients' text would pass by noise alone, and did (docs/vocab.md).
//
// Standard errors cost one conjugate-gradient solve per unit for MSS (~40 ms at k = 50,000), so
// they are computed down the ranking only: the walk stops at the first non-positive estimate
// or after `stop_after` consecutive insignificant units. Further down the estimates only
// shrink while the standard error barely changes (it grows with a unit's own frequency), so
// later units fail as well.
//
//   VocabBuilder b;
//   const RoundLog& r = b.add_round(mss, tally, {.max_units = 1000}, {.kind = "simulated"});
//   for (uint32_t unit : r.added) index.add(unit, embedder.embed(candidates.words(unit)));
//   for (uint32_t unit : r.removed) index.remove(unit);
//
// Not thread-safe for concurrent add_round(); const methods may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "residue/protocols/protocol.h"
#include "residue/protocols/tally.h"

namespace residue {

struct AdmissionOptions {
  /// Significance threshold in standard errors; 0 picks bonferroni_z(k, alpha).
  double z = 0;
  double alpha = 0.05;
  /// U: most units admitted.
  std::size_t max_units = 1000;
  /// The walk stops after this many consecutive insignificant units; 0 walks every candidate
  /// with a positive estimate (exact, and for MSS at k = 50,000 slow).
  std::size_t stop_after = 64;
};

/// Phi^-1(1 - alpha / k): the one-sided normal threshold that k independent null units all
/// stay below with probability about 1 - alpha. Throws Error unless k >= 1, 0 < alpha < 1.
double bonferroni_z(std::size_t k, double alpha);
/// options.z, or bonferroni_z(k, options.alpha) when it is 0. Throws Error on negative z,
/// max_units 0 or an invalid alpha.
double admission_z(const AdmissionOptions& options, std::size_t k);

/// One unit's estimate, frequency scale (a count is reports x frequency).
struct UnitEstimate {
  uint32_t unit = 0;
  double frequency = 0;
  double standard_error = 0;
  bool operator==(const UnitEstimate&) const = default;
};

/// The units of `estimates`, in their order.
std::vector<uint32_t> unit_ids(std::span<const UnitEstimate> estimates);

/// Standard errors of the estimates of `units`, in the same order.
using StderrFunction = std::function<std::vector<double>(std::span<const uint32_t> units)>;
/// Called as the walk admits units: (admitted so far, options.max_units).
using AdmissionProgress = std::function<void(std::size_t admitted, std::size_t max_units)>;

/// Standard errors from protocol.standard_errors(tally, estimate, units), the units split over
/// all cores (the estimator is thread-safe). The three references must outlive the function.
StderrFunction protocol_standard_errors(const Protocol& protocol, const Tally& tally,
                                        const Estimate& estimate);

struct Admission {
  std::vector<UnitEstimate> admitted;  ///< decreasing frequency (ties: smaller unit first)
  std::size_t tested = 0;              ///< units whose standard error was computed
  double z = 0;
};

/// The rule above over `frequencies` (one per candidate, indexed by unit id). `stderr_of` is
/// asked for blocks of units in ranking order. Throws Error on invalid options or a
/// standard-error function that returns the wrong number of values.
Admission admit_units(std::span<const double> frequencies, const StderrFunction& stderr_of,
                      const AdmissionOptions& options, const AdmissionProgress& progress = {});

/// Where a round's estimates came from.
struct RoundSource {
  std::string kind;         ///< "simulated" or "store"
  std::string description;  ///< e.g. "eps=2 n=1000000 seed=1", "data=/var/lib/residue task=units"
  double epsilon = 0;
  uint64_t reports = 0;
  bool operator==(const RoundSource&) const = default;
};

struct RoundLog {
  uint32_t round = 0;  ///< 1, 2, ...
  RoundSource source;
  double z = 0;
  std::size_t max_units = 0;
  std::size_t tested = 0;
  std::vector<uint32_t> added;    ///< ascending unit ids
  std::vector<uint32_t> removed;  ///< ascending unit ids
  std::size_t admitted = 0;       ///< units held after the round
  bool operator==(const RoundLog&) const = default;
};

class VocabBuilder {
 public:
  VocabBuilder() = default;
  /// State read back from a file. Throws Error on a repeated unit or rounds not numbered 1..r.
  VocabBuilder(std::vector<UnitEstimate> admitted, std::vector<RoundLog> log);

  /// Applies the rule to one round's estimates and logs what changed. The returned reference
  /// lives until the next add_round().
  const RoundLog& add_round(std::span<const double> frequencies, const StderrFunction& stderr_of,
                            const AdmissionOptions& options, RoundSource source,
                            const AdmissionProgress& progress = {});
  /// Estimates `tally` with `protocol`, and takes standard errors from
  /// Protocol::standard_errors() on all cores. Throws Error when the tally has no reports or
  /// the solver did not converge.
  const RoundLog& add_round(const Protocol& protocol, const Tally& tally,
                            const AdmissionOptions& options, RoundSource source,
                            const AdmissionProgress& progress = {});

  /// The units held now, decreasing estimate of the round that admitted them.
  const std::vector<UnitEstimate>& admitted() const { return admitted_; }
  const std::vector<RoundLog>& log() const { return log_; }

 private:
  std::vector<UnitEstimate> admitted_;
  std::vector<RoundLog> log_;
};

}  // namespace residue
