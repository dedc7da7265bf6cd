// Hutchinson's estimator with Rademacher probes and a standard-error stopping rule.
#include "residue/solve/trace_estimate.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

void validate(Eigen::Index k, const TraceOptions& options) {
  if (k < 1) throw Error("k must be at least 1, but is " + std::to_string(k) + ".");
  if (!(options.relative_precision >= 0)) {
    std::ostringstream msg;
    msg << "relative_precision must be non-negative, but is " << options.relative_precision << ".";
    throw Error(msg.str());
  }
  // Two probes are the fewest that give a sample variance, hence a standard error.
  if (options.min_probes < 2) {
    throw Error("min_probes must be at least 2, but is " + std::to_string(options.min_probes) +
                ".");
  }
  if (options.max_probes < options.min_probes) {
    throw Error("max_probes must be at least min_probes (" + std::to_string(options.min_probes) +
                "), but is " + std::to_string(options.max_probes) + ".");
  }
}

/// z[i] = +1 or -1, one random bit each.
void draw_rademacher(Rng& rng, Eigen::VectorXd& z) {
  const Eigen::Index k = z.size();
  for (Eigen::Index base = 0; base < k; base += 64) {
    uint64_t bits = rng.next_u64();
    const Eigen::Index end = std::min<Eigen::Index>(base + 64, k);
    for (Eigen::Index i = base; i < end; ++i, bits >>= 1) z[i] = (bits & 1) ? 1.0 : -1.0;
  }
}

}  // namespace

TraceEstimate estimate_trace(Eigen::Index k,
                             const std::function<double(const Eigen::VectorXd&)>& quadratic_form,
                             Rng& rng, const TraceOptions& options) {
  validate(k, options);
  Eigen::VectorXd z(k);
  // Welford's running mean and sum of squared deviations: stable for near-equal samples.
  double mean = 0;
  double m2 = 0;
  TraceEstimate estimate;
  for (int n = 1; n <= options.max_probes; ++n) {
    draw_rademacher(rng, z);
    const double sample = quadratic_form(z);
    const double delta = sample - mean;
    mean += delta / n;
    m2 += delta * (sample - mean);
    estimate.value = mean;
    estimate.probes = n;
    if (n < 2) continue;
    estimate.standard_error = std::sqrt(m2 / (n - 1) / n);
    if (n >= options.min_probes &&
        estimate.standard_error <= options.relative_precision * std::abs(mean)) {
      break;
    }
  }
  return estimate;
}

}  // namespace residue
