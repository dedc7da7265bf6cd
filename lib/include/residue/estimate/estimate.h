// Estimate and its post-processing: what an Estimator returns, and the consistent versions
// of it (non-negative, or projected onto the probability simplex) that a report may show.
//
// The unbiased frequencies are always kept; post-processing returns a new vector, so the
// two are reported side by side, never confused.
//
//   Estimate e = protocol.estimator().estimate(tally);
//   std::vector<double> shown = postprocess(e.frequencies, Postprocess::kNormSub);
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace residue {

struct Estimate {
  /// Unbiased frequency estimates, size k; they may be negative or exceed 1.
  std::vector<double> frequencies;
  /// Number of reports the estimate is based on.
  uint64_t reports = 0;
  /// Iterations of the iterative solver (MSS: LSMR); 0 for closed-form estimators.
  int solver_iterations = 0;
  /// False when the solver stopped at its iteration cap before reaching its tolerance.
  bool solver_converged = true;

  /// Estimated count of value v: reports * frequencies[v].
  double count(uint32_t v) const { return static_cast<double>(reports) * frequencies[v]; }
};

enum class Postprocess {
  kNone,     ///< the unbiased estimate as is
  kClip,     ///< max(f, 0) (Base-Pos): biased, keeps the large values unchanged
  kNormSub,  ///< Euclidean projection onto the probability simplex (Norm-Sub)
};

/// Parses "none", "clip", "normsub"; throws Error naming the bad value.
Postprocess parse_postprocess(std::string_view name);

/// The post-processed copy of `frequencies`.
std::vector<double> postprocess(std::span<const double> frequencies, Postprocess method);

/// Norm-Sub: the v minimizing ||v - f||_2 with v >= 0 and sum(v) = 1, i.e. max(f - delta, 0)
/// with delta chosen so the result sums to 1. O(k log k).
std::vector<double> project_to_simplex(std::span<const double> frequencies);

/// Mean squared error (1/k) sum_v (estimate_v - truth_v)^2. REQUIRES: equal sizes.
double mean_squared_error(std::span<const double> estimate, std::span<const double> truth);

}  // namespace residue
