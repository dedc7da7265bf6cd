#include "residue/protocols/grr.h"

#include <cmath>
#include <string>

#include "protocols/protocol_setup.h"
#include "protocols/pure_estimator.h"
#include "protocols/registry_internal.h"
#include "residue/core/error.h"

namespace residue {
namespace {

// The probabilities of GRR on [0, k), each computed without cancellation.
struct GrrRates {
  uint32_t k = 0;
  PureRates pure;  // p = P[y = x], q = P[y = v] for each v != x
};

GrrRates grr_rates(uint32_t k, double epsilon) {
  const double e = std::exp(epsilon), kd = k, denominator = e + kd - 1;
  return {.k = k,
          .pure = {.p = e / denominator,
                   .not_p = (kd - 1) / denominator,
                   .q = 1 / denominator,
                   .not_q = (e + kd - 2) / denominator,
                   .gap = std::expm1(epsilon) / denominator}};
}

class GrrEncoder final : public Encoder {
 public:
  explicit GrrEncoder(GrrRates rates) : rates_(rates), keep_(rates.pure.p, rates.pure.not_p) {}

  // Draws: the keep coin, exact on the rarer of p and 1 - p (GRR on two values at eps = 40
  // flips with probability 4e-18, which 1 - p rounds to 0), then, when the value is not kept,
  // one uniform(k - 1).
  void encode(uint32_t value, Rng& rng, Report& out) const override {
    if (value >= rates_.k) {
      throw Error("grr: value " + std::to_string(value) + " is outside [0, " +
                  std::to_string(rates_.k) + ").");
    }
    uint32_t y = value;
    if (!rng.flip(keep_)) {
      // Index r of the k - 1 other values is the value r + (r >= x).
      const auto r = static_cast<uint32_t>(rng.uniform(rates_.k - 1));
      y = r + (r >= value);
    }
    out.block = 0;
    out.items.assign(1, y);
  }

  double probability(const Report& report, uint32_t value) const override {
    return report.items[0] == value ? rates_.pure.p : rates_.pure.q;
  }

 private:
  GrrRates rates_;
  Coin keep_;
};

// The attacker guesses the reported value (docs/attacks.md): right with probability p.
class GrrAttack final : public Attack {
 public:
  explicit GrrAttack(GrrRates rates) : rates_(rates) {}

  uint32_t guess(const Report& report, Rng&) const override { return report.items[0]; }
  double success(uint32_t) const override { return rates_.pure.p; }

 private:
  GrrRates rates_;
};

ProtocolSetup<GrrRates> setup_grr(const ProtocolParams& params) {
  check_protocol_params(params, "grr", {});
  const GrrRates rates = grr_rates(params.k, params.epsilon);
  return {.client = {.params = params,
                     .id = protocol_id(params),
                     .shape = {{BlockShape{params.k, 1}}},
                     .encoder = std::make_shared<GrrEncoder>(rates)},
          .model = rates};
}

}  // namespace

Protocol make_grr(const ProtocolParams& params) {
  const ProtocolSetup<GrrRates> s = setup_grr(params);
  return full_protocol(
      s.client,
      make_pure_estimator(s.client.id, "grr", s.model.k, s.model.pure, counted_support(s.model.k)),
      std::make_shared<GrrAttack>(s.model));
}

ClientProtocol make_grr_client(const ProtocolParams& params) {
  return setup_grr(params).client;
}

}  // namespace residue
