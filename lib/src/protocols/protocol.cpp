#include "residue/protocols/protocol.h"

#include <algorithm>
#include <cmath>

#include "residue/core/error.h"

namespace residue {

Protocol::Protocol(ProtocolParams params, ReportShape shape, std::shared_ptr<const Encoder> encoder,
                   std::shared_ptr<const Estimator> estimator, std::shared_ptr<const Attack> attack)
    : params_(std::move(params)),
      id_(protocol_id(params_)),
      shape_(std::move(shape)),
      encoder_(std::move(encoder)),
      estimator_(std::move(estimator)),
      attack_(std::move(attack)) {}

std::vector<double> Protocol::standard_errors(const Tally& tally, const Estimate& estimate,
                                              std::span<const uint32_t> values) const {
  std::vector<double> f(estimate.frequencies.size());
  std::transform(estimate.frequencies.begin(), estimate.frequencies.end(), f.begin(),
                 [](double v) { return std::clamp(v, 0.0, 1.0); });
  std::vector<double> se = estimator_->variances(f, tally, values);
  for (double& v : se) v = std::sqrt(std::max(v, 0.0));
  return se;
}

}  // namespace residue
