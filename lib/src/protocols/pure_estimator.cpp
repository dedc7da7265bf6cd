#include "protocols/pure_estimator.h"

#include <string>
#include <utility>

#include "residue/core/error.h"

namespace residue {
namespace {

class PureEstimator final : public Estimator {
 public:
  PureEstimator(std::string id, std::string name, uint32_t k, PureRates rates, SupportTally support)
      : id_(std::move(id)),
        name_(std::move(name)),
        k_(k),
        rates_(rates),
        support_(std::move(support)) {}

  Estimate estimate(const Tally& tally, const EstimateOptions&) const override {
    check(tally);
    const uint64_t n = tally.total_reports();
    if (n == 0) throw Error(name_ + ": the tally holds no reports.");
    const std::vector<double> support = support_.support_counts(tally);
    Estimate e;
    e.reports = n;
    e.frequencies.resize(k_);
    const double nd = static_cast<double>(n);
    for (uint32_t v = 0; v < k_; ++v) {
      e.frequencies[v] = (support[v] / nd - rates_.q) / rates_.gap;
    }
    return e;
  }

  double mean_variance(std::span<const double> f, uint64_t n) const override {
    check_size(f);
    double sum = 0;
    for (double fv : f) sum += rates_.variance(fv, static_cast<double>(n));
    return sum / static_cast<double>(f.size());
  }

  std::vector<double> variances(std::span<const double> f, const Tally& tally,
                                std::span<const uint32_t> values) const override {
    check(tally);
    check_size(f);
    std::vector<double> out;
    out.reserve(values.size());
    for (uint32_t v : values) {
      if (v >= k_) {
        throw Error(name_ + ": value " + std::to_string(v) + " is outside [0, " +
                    std::to_string(k_) + ").");
      }
      out.push_back(rates_.variance(f[v], static_cast<double>(tally.total_reports())));
    }
    return out;
  }

 private:
  void check(const Tally& tally) const {
    if (tally.protocol_id() != id_ || tally.block_count() != support_.blocks ||
        tally.universe(0) != support_.universe) {
      throw Error(name_ + ": the tally is for \"" + tally.protocol_id() + "\", not this " + id_ +
                  " protocol " + support_.described + ".");
    }
  }
  void check_size(std::span<const double> f) const {
    if (f.size() != k_) {
      throw Error(name_ + ": expected " + std::to_string(k_) + " frequencies, got " +
                  std::to_string(f.size()) + ".");
    }
  }

  std::string id_;
  std::string name_;
  uint32_t k_;
  PureRates rates_;
  SupportTally support_;
};

}  // namespace

SupportTally counted_support(uint32_t k) {
  return {.blocks = 1,
          .universe = k,
          .described = "on k = " + std::to_string(k),
          .support_counts = [](const Tally& tally) {
            const std::span<const uint64_t> counts = tally.counts(0);
            return std::vector<double>(counts.begin(), counts.end());
          }};
}

std::shared_ptr<const Estimator> make_pure_estimator(std::string id, std::string name, uint32_t k,
                                                     PureRates rates, SupportTally support) {
  return std::make_shared<PureEstimator>(std::move(id), std::move(name), k, rates,
                                         std::move(support));
}

}  // namespace residue
