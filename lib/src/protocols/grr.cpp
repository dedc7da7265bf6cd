#include "residue/protocols/grr.h"

#include <cmath>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

// The probabilities of GRR on [0, k), each computed without cancellation (at epsilon = 50,
// 1 - p would lose every digit).
struct GrrRates {
  uint32_t k = 0;
  double p = 0;      // P[y = x]
  double not_p = 0;  // 1 - p
  double q = 0;      // P[y = v] for each v != x
  double not_q = 0;  // 1 - q
  double gap = 0;    // p - q

  // Exact Var[f_v] for true frequency f and n reports (protocols.md section 1).
  double variance(double f, double n) const {
    return (f * p * not_p + (1 - f) * q * not_q) / (n * gap * gap);
  }
};

GrrRates grr_rates(uint32_t k, double epsilon) {
  const double e = std::exp(epsilon), kd = k, denominator = e + kd - 1;
  return {.k = k,
          .p = e / denominator,
          .not_p = (kd - 1) / denominator,
          .q = 1 / denominator,
          .not_q = (e + kd - 2) / denominator,
          .gap = std::expm1(epsilon) / denominator};
}

class GrrEncoder final : public Encoder {
 public:
  explicit GrrEncoder(GrrRates rates) : rates_(rates) {}

  // Draws: one uniform01 for the coin, then, when the value is not kept, one uniform(k - 1).
  void encode(uint32_t value, Rng& rng, Report& out) const override {
    if (value >= rates_.k) {
      throw Error("grr: value " + std::to_string(value) + " is outside [0, " +
                  std::to_string(rates_.k) + ").");
    }
    uint32_t y = value;
    if (!rng.bernoulli(rates_.p)) {
      // Index r of the k - 1 other values is the value r + (r >= x).
      const auto r = static_cast<uint32_t>(rng.uniform(rates_.k - 1));
      y = r + (r >= value);
    }
    out.block = 0;
    out.items.assign(1, y);
  }

  double probability(const Report& report, uint32_t value) const override {
    return report.items[0] == value ? rates_.p : rates_.q;
  }

 private:
  GrrRates rates_;
};

class GrrEstimator final : public Estimator {
 public:
  GrrEstimator(std::string id, GrrRates rates) : id_(std::move(id)), rates_(rates) {}

  // O(k): the tally's counts are the C_v.
  Estimate estimate(const Tally& tally, const EstimateOptions&) const override {
    check(tally);
    const uint64_t n = tally.reports(0);
    if (n == 0) throw Error("grr: the tally holds no reports.");
    Estimate e;
    e.reports = n;
    e.frequencies.resize(rates_.k);
    const std::span<const uint64_t> counts = tally.counts(0);
    const double nd = static_cast<double>(n);
    for (uint32_t v = 0; v < rates_.k; ++v) {
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
      if (v >= rates_.k) {
        throw Error("grr: value " + std::to_string(v) + " is outside [0, " +
                    std::to_string(rates_.k) + ").");
      }
      out.push_back(rates_.variance(f[v], static_cast<double>(tally.total_reports())));
    }
    return out;
  }

 private:
  void check(const Tally& tally) const {
    if (tally.protocol_id() != id_ || tally.block_count() != 1 || tally.universe(0) != rates_.k) {
      throw Error("grr: the tally is for \"" + tally.protocol_id() + "\", not this " + id_ +
                  " protocol on k = " + std::to_string(rates_.k) + ".");
    }
  }
  void check_size(std::span<const double> f) const {
    if (f.size() != rates_.k) {
      throw Error("grr: expected " + std::to_string(rates_.k) + " frequencies, got " +
                  std::to_string(f.size()) + ".");
    }
  }

  std::string id_;
  GrrRates rates_;
};

// The attacker guesses the reported value (protocols.md section 10): right with probability p.
class GrrAttack final : public Attack {
 public:
  explicit GrrAttack(GrrRates rates) : rates_(rates) {}

  uint32_t guess(const Report& report, Rng&) const override { return report.items[0]; }
  double success(uint32_t) const override { return rates_.p; }

 private:
  GrrRates rates_;
};

}  // namespace

Protocol make_grr(const ProtocolParams& params) {
  if (params.protocol != "grr") throw Error("make_grr: protocol is \"" + params.protocol + "\".");
  check_k_and_epsilon(params);
  if (!params.moduli.empty()) throw Error("grr: moduli are an MSS parameter; leave them empty.");
  if (!params.subset_sizes.empty()) {
    throw Error(
        "grr: subset_sizes are an SS/MSS parameter (GRR always sends one value); leave "
        "them empty, but there are " +
        std::to_string(params.subset_sizes.size()) + ".");
  }
  if (params.seeds != 0) {
    throw Error("grr: seeds are an OLH parameter; leave them 0, but they are " +
                std::to_string(params.seeds) + ".");
  }
  const GrrRates rates = grr_rates(params.k, params.epsilon);
  ReportShape shape{{BlockShape{params.k, 1}}};
  const std::string id = protocol_id(params);
  return Protocol(params, std::move(shape), std::make_shared<GrrEncoder>(rates),
                  std::make_shared<GrrEstimator>(id, rates), std::make_shared<GrrAttack>(rates));
}

}  // namespace residue
