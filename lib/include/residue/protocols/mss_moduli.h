// The MSS moduli search: which valid moduli (rns/moduli.h) MSS uses for (k, epsilon).
//
// Among valid sets, error and report size pull apart (docs/protocols/mss.md): few moduli
// near k/2 inflate the MSE several times over Subset Selection, many primes spread just
// above k/2 come within 5-20% of it at about 0.6x its bits. select_moduli() searches the
// number of primes l and how widely they spread over [k/2, k), predicts each candidate's
// MSE inflation over SS (exact for small k, a randomized trace estimate for large k) and
// its bits per report, and returns the fewest bits within the inflation bound (bits within
// 1% are a tie, settled by fewer moduli at an inflation within 2% of the best).
//
//   ModuliChoice c = select_moduli(1024, 1.0);          // default bound 1.15
//   c.chosen.moduli, c.chosen.inflation, c.searched      // the trade-off curve
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace residue {

struct ModuliOptions {
  /// Use exactly this many moduli (the search still picks which primes).
  std::optional<uint32_t> ell;
  /// Largest acceptable predicted MSE inflation over Subset Selection.
  double max_inflation = 1.15;
  /// Explicit moduli: no search, only validation and evaluation.
  std::vector<uint32_t> moduli;
  /// Domains up to this size get exact (dense) traces; larger ones a Hutchinson estimate.
  uint32_t exact_limit = 1024;
  /// Seed of the trace estimator's probes, so the choice is reproducible.
  uint64_t seed = 0x5e1ec7;
  /// Map the whole trade-off (every window, each searched over l) instead of stopping at the
  /// cheapest windows that meet the bound. Slower; `residue moduli` does it.
  bool explore = false;
};

struct ModuliCandidate {
  std::vector<uint32_t> moduli;
  /// Optimal Subset Selection size omega_j of each modulus.
  std::vector<uint32_t> subset_sizes;
  /// Fraction of [k/2, k) the primes were spread over (0 for explicit moduli).
  double spread = 0;
  /// Predicted MSE over Subset Selection's, both at uniform frequencies: MSS's full
  /// first-order variance (docs/protocols/mss.md) against SS's exact one. The search bounds it.
  double inflation = 0;
  /// The main term alone, tr((sum_j A_j^T A_j / V_j)^{-1}) l / (k V_SS): the figure published
  /// tables use. Only for candidates returned by evaluate_moduli() and the chosen one.
  double main_term_inflation = 0;
  bool inflation_exact = false;
  /// Mean wire bits per report (protocols/report_size.h) and the mean entropy bound.
  double expected_bits = 0;
  double entropy_bits = 0;
};

struct ModuliChoice {
  ModuliCandidate chosen;
  /// Every candidate evaluated, in search order: the inflation-vs-bits trade-off.
  std::vector<ModuliCandidate> searched;
  /// False when no candidate met max_inflation; `chosen` is then the least inflated.
  bool meets_bound = true;
  /// Subset Selection on the whole domain, for comparison.
  double ss_expected_bits = 0;
  double ss_variance = 0;  ///< V_SS: n times SS's per-value variance (f-term dropped)
};

/// Predicted inflation and bits of one valid moduli set; subset sizes optimal when empty.
ModuliCandidate evaluate_moduli(uint32_t k, double epsilon, std::vector<uint32_t> moduli,
                                std::vector<uint32_t> subset_sizes = {},
                                const ModuliOptions& options = {});

/// Picks the moduli for (k, epsilon). Throws Error if k < 8 (too few primes in [k/2, k):
/// use Subset Selection) or the options are inconsistent.
ModuliChoice select_moduli(uint32_t k, double epsilon, const ModuliOptions& options = {});

}  // namespace residue
