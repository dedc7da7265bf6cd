#include "residue/estimate/estimate.h"

#include <algorithm>
#include <functional>
#include <string>

#include "residue/core/error.h"

namespace residue {

Postprocess parse_postprocess(std::string_view name) {
  if (name == "none") return Postprocess::kNone;
  if (name == "clip") return Postprocess::kClip;
  if (name == "normsub") return Postprocess::kNormSub;
  throw Error("postprocess must be one of none, clip, normsub, but is \"" + std::string(name) +
              "\".");
}

std::vector<double> postprocess(std::span<const double> frequencies, Postprocess method) {
  switch (method) {
    case Postprocess::kNone:
      return {frequencies.begin(), frequencies.end()};
    case Postprocess::kClip: {
      std::vector<double> out(frequencies.size());
      std::transform(frequencies.begin(), frequencies.end(), out.begin(),
                     [](double f) { return std::max(f, 0.0); });
      return out;
    }
    case Postprocess::kNormSub:
      return project_to_simplex(frequencies);
  }
  throw Error("postprocess: unknown method.");
}

std::vector<double> project_to_simplex(std::span<const double> frequencies) {
  if (frequencies.empty()) throw Error("project_to_simplex: empty input.");
  // Sort descending and find the largest rho with u_rho > (sum_{i<=rho} u_i - 1) / rho; the
  // shift delta is then that average excess (Wang et al., NDSS 2020: Norm-Sub).
  std::vector<double> u(frequencies.begin(), frequencies.end());
  std::sort(u.begin(), u.end(), std::greater<>());
  double prefix = 0;
  double delta = 0;
  for (std::size_t i = 0; i < u.size(); ++i) {
    prefix += u[i];
    const double candidate = (prefix - 1) / static_cast<double>(i + 1);
    if (u[i] - candidate > 0) delta = candidate;
  }
  std::vector<double> out(frequencies.size());
  std::transform(frequencies.begin(), frequencies.end(), out.begin(),
                 [delta](double f) { return std::max(f - delta, 0.0); });
  return out;
}

double mean_squared_error(std::span<const double> estimate, std::span<const double> truth) {
  if (estimate.size() != truth.size() || estimate.empty()) {
    throw Error("mean_squared_error: sizes differ (" + std::to_string(estimate.size()) + " vs " +
                std::to_string(truth.size()) + ") or are zero.");
  }
  double sum = 0;
  for (std::size_t i = 0; i < estimate.size(); ++i) {
    const double d = estimate[i] - truth[i];
    sum += d * d;
  }
  return sum / static_cast<double>(estimate.size());
}

}  // namespace residue
