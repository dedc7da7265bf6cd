#include "protocols/pure_estimator.h"

#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

class SupportCountEstimator final : public Estimator {
 public:
  SupportCountEstimator(std::string id, std::string name, uint32_t k, PureRates rates)
      : id_(std::move(id)), name_(std::move(name)), k_(k), rates_(rates) {}

  Estimate estimate(const Tally& tally, const EstimateOptions&) const override {
    check(tally);
    const uint64_t n = tally.reports(0);
    if (n == 0) throw Error(name_ + ": the tally holds no reports.");
    Estimate e;
    e.reports = n;
    e.frequencies.resize(k_);
    const std::span<const uint64_t> counts = tally.counts(0);
    const double nd = static_cast<double>(n);
    for (uint32_t v = 0; v < k_; ++v) {
      e.frequencies[v] = (static_cast<double>(counts[v]) / nd - rates_.q) / rates_.gap;
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
    if (tally.protocol_id() != id_ || tally.block_count() != 1 || tally.universe(0) != k_) {
      throw Error(name_ + ": the tally is for \"" + tally.protocol_id() + "\", not this " + id_ +
                  " protocol on k = " + std::to_string(k_) + ".");
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
};

}  // namespace

std::shared_ptr<const Estimator> make_support_count_estimator(std::string id, std::string name,
                                                              uint32_t k, PureRates rates) {
  return std::make_shared<SupportCountEstimator>(std::move(id), std::move(name), k, rates);
}

}  // namespace residue
