#include "residue/protocols/unary.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "protocols/protocol_setup.h"
#include "protocols/pure_estimator.h"
#include "protocols/registry_internal.h"
#include "residue/core/error.h"
#include "residue/protocols/subset_selection.h"
#include "residue/random/inversion_table.h"

namespace residue {
namespace {

// Binomial weights below this fraction of the mode's are left out of the sampling table. There
// are fewer than 2^32 of them, each below 2^-160 of the total, so together they carry less than
// 2^-128: the resolution of the table's draw (random/inversion_table.h).
constexpr double kTableCutoff = 0x1.0p-160;

// The probabilities of a unary encoding, each computed without cancellation (SUE at large
// epsilon has 1 - p ~ 1e-11, which 1 - p would get wrong in the fifth digit).
struct UnaryRates {
  const char* name = "";
  uint32_t k = 0;
  PureRates pure;  // p = P[bit x is 1 | input x], q = P[bit v is 1 | input x != v]
};

UnaryRates sue_rates(uint32_t k, double epsilon) {
  // a = e^(eps/2): keep each bit with probability a / (a + 1). The flip probability is
  // 1 / (e^(eps/2) + 1), not the 1 / (e^eps + 1) of the PGR repo's SymmetricRAPPOR, which
  // is only 2 eps-LDP (two bits differ between neighbouring inputs).
  const double a = std::exp(epsilon / 2), denominator = a + 1;
  return {.name = "sue",
          .k = k,
          .pure = {.p = a / denominator,
                   .not_p = 1 / denominator,
                   .q = 1 / denominator,
                   .not_q = a / denominator,
                   .gap = std::expm1(epsilon / 2) / denominator}};
}

UnaryRates oue_rates(uint32_t k, double epsilon) {
  const double e = std::exp(epsilon), denominator = e + 1;
  return {.name = "oue",
          .k = k,
          .pure = {.p = 0.5,
                   .not_p = 0.5,
                   .q = 1 / denominator,
                   .not_q = e / denominator,
                   .gap = std::expm1(epsilon) / (2 * denominator)}};
}

// Binomial(n, q) by inversion of a precomputed CDF. The weights come from the ratio
// recurrence P[j+1] / P[j] = (n - j) q / ((j + 1)(1 - q)) outward from the mode, with only
// +, *, / (correctly rounded in IEEE arithmetic, no libm), so the table and every draw are
// the same on every platform. The table spans the values whose weight is at least
// kTableCutoff of the mode's: about 30 standard deviations, a few thousand entries at most
// for any k a unary report can reasonably have.
class BinomialTable {
 public:
  BinomialTable(uint32_t n, double q, double not_q) {
    const double odds = q / not_q, inverse_odds = not_q / q;
    const auto mode = static_cast<uint32_t>(
        std::min(std::floor((static_cast<double>(n) + 1) * q), static_cast<double>(n)));
    std::vector<double> below;  // weights of mode-1, mode-2, ... relative to the mode's
    double w = 1;
    for (uint32_t j = mode; j > 0; --j) {
      w *= static_cast<double>(j) / static_cast<double>(n - j + 1) * inverse_odds;
      if (w < kTableCutoff) break;
      below.push_back(w);
    }
    lo_ = mode - static_cast<uint32_t>(below.size());
    std::vector<double> weights(below.rbegin(), below.rend());
    weights.push_back(1);
    w = 1;
    for (uint32_t j = mode; j < n; ++j) {
      w *= static_cast<double>(n - j) / static_cast<double>(j + 1) * odds;
      if (w < kTableCutoff) break;
      weights.push_back(w);
    }
    table_ = InversionTable(weights);
    double total = 0;
    for (double x : weights) total += x;
    // Summed from the top: 1 - the CDF would lose the digits of tails far below 2^-40.
    tail_.resize(weights.size());
    double above = 0;
    for (std::size_t i = weights.size(); i-- > 0;) {
      tail_[i] = above / total;
      above += weights[i];
    }
  }

  // The smallest b with P[X > b] <= probability. REQUIRES: probability > 0 (tail_.back() is
  // 0, so b is in the table). The mass left out of the table, below 2^-128, is far below any
  // probability this is asked for.
  uint32_t upper_quantile(double probability) const {
    const auto b = std::partition_point(tail_.begin(), tail_.end(),
                                        [&](double tail) { return tail > probability; });
    return lo_ + static_cast<uint32_t>(b - tail_.begin());
  }

  // One word (a second with probability below 2^-50); O(log of the table size). Exact to
  // 2^-128 at both ends: at eps = 50 a noise one has probability 1e-20, which a 53-bit uniform
  // against a double CDF never drew.
  uint32_t sample(Rng& rng) const { return lo_ + static_cast<uint32_t>(table_.sample(rng)); }

 private:
  uint32_t lo_ = 0;
  InversionTable table_;      // draws i with probability P[X = lo_ + i]
  std::vector<double> tail_;  // tail_[i] = P[X > lo_ + i]; the last is 0
};

class UnaryEncoder final : public Encoder {
 public:
  explicit UnaryEncoder(UnaryRates rates)
      : rates_(rates),
        noise_(rates.k - 1, rates.pure.q, rates.pure.not_q),
        log_p_(std::log(rates.pure.p)),
        log_not_p_(std::log(rates.pure.not_p)),
        log_q_(std::log(rates.pure.q)),
        log_not_q_(std::log(rates.pure.not_q)) {}

  // Draws: one coin for the true bit, one table draw for the number of noise ones, then Floyd's
  // uniform draws for their positions. O(#ones log #ones) while #ones < k / 64, else
  // O(#ones + k / 64) (the k-bit wire encoding costs k / 64 words anyway).
  void encode(uint32_t value, Rng& rng, Report& out) const override {
    if (value >= rates_.k) {
      throw Error(std::string(rates_.name) + ": value " + std::to_string(value) +
                  " is outside [0, " + std::to_string(rates_.k) + ").");
    }
    const bool true_bit = rng.bernoulli(rates_.pure.p, rates_.pure.not_p);
    const uint32_t noise = noise_.sample(rng);
    out.block = 0;
    draw_distinct_others(rates_.k, value, noise, true_bit, rng, out.items);
  }

  // The product over the k bits, in log space: it underflows double past a thousand or so
  // bits, so the audit compares log probabilities. O(log #ones).
  double log_probability(const Report& report, uint32_t value) const override {
    const bool has_value = std::binary_search(report.items.begin(), report.items.end(), value);
    const double others_on = static_cast<double>(report.items.size()) - (has_value ? 1 : 0);
    const double others_off = static_cast<double>(rates_.k - 1) - others_on;
    return (has_value ? log_p_ : log_not_p_) + others_on * log_q_ + others_off * log_not_q_;
  }
  double probability(const Report& report, uint32_t value) const override {
    return std::exp(log_probability(report, value));
  }

  // The true bit plus the noise ones exceed 1 + b only if the noise alone exceeds b.
  uint32_t max_ones() const {
    return std::min(rates_.k, 1 + noise_.upper_quantile(kUnaryFalseRejection));
  }

 private:
  UnaryRates rates_;
  BinomialTable noise_;
  double log_p_, log_not_p_, log_q_, log_not_q_;
};

// The attacker picks a uniform 1-bit, or a uniform value when there is none (docs/attacks.md).
// With M ~ Binomial(k - 1, q) noise ones, the guess is right with probability
// p E[1 / (1 + M)] + (1 - p) P[M = 0] / k, and E[1 / (1 + M)] = (1 - (1-q)^k) / (k q):
//   success = p (1 - (1-q)^k) / (k q) + (1 - p) (1-q)^(k-1) / k,
// the same for every value: the closed form of the binomial sum (docs/protocols/oue.md,
// "Reconstruction attack").
class UnaryAttack final : public Attack {
 public:
  explicit UnaryAttack(UnaryRates rates) : rates_(rates) {
    const double k = rates.k, log_not_q = std::log1p(-rates.pure.q);
    success_ = rates.pure.p * -std::expm1(k * log_not_q) / (k * rates.pure.q) +
               rates.pure.not_p * std::exp((k - 1) * log_not_q) / k;
  }

  uint32_t guess(const Report& report, Rng& rng) const override {
    if (report.items.empty()) return static_cast<uint32_t>(rng.uniform(rates_.k));
    return report.items[rng.uniform(report.items.size())];
  }
  double success(uint32_t) const override { return success_; }

 private:
  UnaryRates rates_;
  double success_ = 0;
};

// The setup of both SUE's and OUE's factories.
ProtocolSetup<UnaryRates> setup_unary(const ProtocolParams& params, const char* name,
                                      UnaryRates (*rates_for)(uint32_t, double)) {
  check_protocol_params(params, name, {});
  const UnaryRates rates = rates_for(params.k, params.epsilon);
  auto encoder = std::make_shared<UnaryEncoder>(rates);
  const BlockShape block{.universe = params.k, .subset_size = 0, .max_items = encoder->max_ones()};
  return {.client = {.params = params,
                     .id = protocol_id(params),
                     .shape = {{block}},
                     .encoder = std::move(encoder)},
          .model = rates};
}

Protocol make_unary(const ProtocolParams& params, const char* name,
                    UnaryRates (*rates_for)(uint32_t, double)) {
  const ProtocolSetup<UnaryRates> s = setup_unary(params, name, rates_for);
  return full_protocol(
      s.client,
      make_pure_estimator(s.client.id, name, s.model.k, s.model.pure, counted_support(s.model.k)),
      std::make_shared<UnaryAttack>(s.model));
}

}  // namespace

Protocol make_sue(const ProtocolParams& params) {
  return make_unary(params, "sue", &sue_rates);
}

Protocol make_oue(const ProtocolParams& params) {
  return make_unary(params, "oue", &oue_rates);
}

ClientProtocol make_sue_client(const ProtocolParams& params) {
  return setup_unary(params, "sue", &sue_rates).client;
}

ClientProtocol make_oue_client(const ProtocolParams& params) {
  return setup_unary(params, "oue", &oue_rates).client;
}

}  // namespace residue
