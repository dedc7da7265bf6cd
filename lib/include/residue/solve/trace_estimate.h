// Randomized trace estimation (Hutchinson): tr(B) = E[z^T B z] for Rademacher z.
//
// For large implicit matrices (MSS covariance, k up to 10^6) where B = G^{-1} S G^{-1} can
// only be applied. Probes are added until the standard error of the mean falls below the
// requested relative precision, so near-diagonal matrices stop after a few probes.
//
//   TraceEstimate t = estimate_trace(k, [&](const VectorXd& z) { return z.dot(solve(z)); }, rng);
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <functional>

#include "residue/random/rng.h"

namespace residue {

struct TraceOptions {
  /// Stop once the standard error is at most this fraction of the estimate.
  double relative_precision = 0.005;
  int min_probes = 4;
  int max_probes = 256;
};

struct TraceEstimate {
  double value = 0;
  double standard_error = 0;
  int probes = 0;
};

/// Estimates tr(B) for a k x k symmetric B given its quadratic form z -> z^T B z.
TraceEstimate estimate_trace(Eigen::Index k,
                             const std::function<double(const Eigen::VectorXd&)>& quadratic_form,
                             Rng& rng, const TraceOptions& options = {});

}  // namespace residue
