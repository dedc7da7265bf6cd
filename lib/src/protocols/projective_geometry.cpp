#include "residue/protocols/projective_geometry.h"

#include <cmath>
#include <limits>
#include <mutex>
#include <string>

#include "protocols/projective_geometry_internal.h"
#include "protocols/protocol_setup.h"
#include "protocols/pure_estimator.h"
#include "protocols/registry_internal.h"
#include "residue/core/error.h"

namespace residue {
namespace {

struct PgrModel {
  uint32_t k;
  ProjectiveGeometryRates rates;
  ProjectiveSpace space;
  double hit;          // e^eps p: P[u | v] for u on S_v
  Coin on_hyperplane;  // true with probability s, exact on the rarer of s and 1 - s
};

class PgrEncoder final : public Encoder {
 public:
  explicit PgrEncoder(std::shared_ptr<const PgrModel> model) : model_(std::move(model)) {}

  // Draws: one coin, then one uniform draw for the t - 1 free coordinates.
  // Off S_v the target dot product is fixed at 1: each point off S_v has exactly one
  // representative with <u, v> = 1, so that is already uniform over those points (the
  // reference also draws the nonzero target uniformly, which changes nothing).
  void encode(uint32_t value, Rng& rng, Report& out) const override {
    const PgrModel& m = *model_;
    if (value >= m.k) {
      throw Error("pgr: value " + std::to_string(value) + " is outside [0, " + std::to_string(m.k) +
                  ").");
    }
    uint32_t v[ProjectiveSpace::kMaxDimension];
    const std::span<uint32_t> vs(v, m.rates.t);
    m.space.point(value, vs);
    const uint32_t target = rng.flip(m.on_hyperplane) ? 0 : 1;
    out.block = 0;
    out.items.assign(1, m.space.sample_point(vs, target, rng));
  }

  double probability(const Report& report, uint32_t value) const override {
    const PgrModel& m = *model_;
    return m.space.orthogonal(report.items[0], value) ? m.hit : m.rates.p;
  }

 private:
  std::shared_ptr<const PgrModel> model_;
};

// T_v for every point v from the tally's counts, through the fast decoder; 32-bit sums when
// they fit (every sum is at most n), which halves the decoder's memory traffic.
std::vector<double> hyperplane_counts(const ProjectiveSpace& space,
                                      std::span<const uint64_t> counts, uint64_t n) {
  std::vector<double> out(counts.size());
  if (n <= std::numeric_limits<uint32_t>::max()) {
    std::vector<uint32_t> y(counts.begin(), counts.end()), sums(counts.size());
    orthogonal_sums<uint32_t>(space, y, sums);
    std::copy(sums.begin(), sums.end(), out.begin());
  } else {
    std::vector<uint64_t> sums(counts.size());
    orthogonal_sums<uint64_t>(space, counts, sums);
    for (std::size_t v = 0; v < sums.size(); ++v) out[v] = static_cast<double>(sums[v]);
  }
  return out;
}

// C_v = T_v, the reports on the hyperplane S_v, over all K points (the padding's counts
// carry information too), through the fast decoder.
SupportTally pgr_support(std::shared_ptr<const PgrModel> model) {
  const uint32_t universe = model->rates.universe;
  return {.blocks = 1,
          .universe = universe,
          .described = "on K = " + std::to_string(universe) + " points",
          .support_counts = [model = std::move(model)](const Tally& tally) {
            return hyperplane_counts(model->space, tally.counts(0), tally.reports(0));
          }};
}

// The attacker guesses a uniform element of S_u n [0, k), the values the report u supports,
// or a uniform value when that set is empty (docs/protocols/pgr.md, "Reconstruction attack").
// With m_u = |S_u n [0, k)| and E = #{u : m_u = 0}, the guess is right with probability
//   success(x) = e^eps p sum_{u on S_x} 1/m_u + p E / k
// (u on S_x <=> x in S_u, and then m_u >= 1). Both m (the decoder applied to the indicator
// of [0, k)) and the sums of 1/m_u (the decoder applied to 1/m) take O(K q t), once, on
// first use. When k = K every m_u is cset and success is e^eps p; when k < K the sets shrink
// and the attack does better, the anomaly the MSS paper reports (docs/protocols/pgr.md).
class PgrAttack final : public Attack {
 public:
  explicit PgrAttack(std::shared_ptr<const PgrModel> model) : model_(std::move(model)) {}

  uint32_t guess(const Report& report, Rng& rng) const override {
    const PgrModel& m = *model_;
    const uint32_t u = report.items[0];
    if (tables().support[u] == 0) return static_cast<uint32_t>(rng.uniform(m.k));
    // Rejection from S_u: expected cset / m_u draws. When t is the smallest with K >= k,
    // [0, k) holds every point whose first coordinate is 0, a hyperplane that meets S_u in
    // at least cint points, so that is at most about q.
    uint32_t x[ProjectiveSpace::kMaxDimension];
    const std::span<uint32_t> xs(x, m.rates.t);
    m.space.point(u, xs);
    while (true) {
      const uint32_t w = m.space.sample_point(xs, 0, rng);
      if (w < m.k) return w;
    }
  }

  double success(uint32_t value) const override {
    if (value >= model_->k) {
      throw Error("pgr: value " + std::to_string(value) + " is outside [0, " +
                  std::to_string(model_->k) + ").");
    }
    return tables().success[value];
  }

 private:
  struct Tables {
    std::vector<uint32_t> support;  // m_u, size K
    std::vector<double> success;    // size k
  };

  const Tables& tables() const {
    std::call_once(once_, [this] {
      const PgrModel& m = *model_;
      const uint32_t universe = m.rates.universe;
      std::vector<uint32_t> in_domain(universe, 0);
      std::fill(in_domain.begin(), in_domain.begin() + m.k, 1u);
      tables_.support.resize(universe);
      orthogonal_sums<uint32_t>(m.space, in_domain, tables_.support);
      std::vector<double> weight(universe), sums(universe);
      double empty = 0;
      for (uint32_t u = 0; u < universe; ++u) {
        const uint32_t size = tables_.support[u];
        weight[u] = size == 0 ? 0.0 : 1.0 / size;
        empty += size == 0;
      }
      orthogonal_sums<double>(m.space, weight, sums);
      tables_.success.resize(m.k);
      for (uint32_t x = 0; x < m.k; ++x) {
        tables_.success[x] = m.hit * sums[x] + m.rates.p * empty / m.k;
      }
    });
    return tables_;
  }

  std::shared_ptr<const PgrModel> model_;
  mutable std::once_flag once_;
  mutable Tables tables_;
};

using PgrSetup = ProtocolSetup<std::shared_ptr<const PgrModel>>;

// What all the factories share. REQUIRES: check_protocol_params(params, "pgr", {}) passed
// (the rates are computed from them).
PgrSetup setup(const ProtocolParams& params, const ProjectiveGeometryRates& rates) {
  if (rates.universe < params.k) {
    throw Error("pgr: PG(" + std::to_string(rates.t - 1) + ", " + std::to_string(rates.q) +
                ") has " + std::to_string(rates.universe) +
                " points, fewer than k = " + std::to_string(params.k) + ".");
  }
  auto model =
      std::make_shared<const PgrModel>(PgrModel{.k = params.k,
                                                .rates = rates,
                                                .space = ProjectiveSpace(rates.q, rates.t),
                                                .hit = std::exp(rates.epsilon) * rates.p,
                                                .on_hyperplane = Coin(rates.s, rates.not_s)});
  return {.client = {.params = params,
                     .id = protocol_id(params),
                     .shape = {{BlockShape{rates.universe, 1}}},
                     .encoder = std::make_shared<PgrEncoder>(model)},
          .model = std::move(model)};
}

// The setup of the public q-rule, for both of its factories.
PgrSetup setup_pgr(const ProtocolParams& params) {
  check_protocol_params(params, "pgr", {});
  return setup(params, projective_geometry_rates(params.k, params.epsilon));
}

Protocol build(const PgrSetup& s) {
  const ProjectiveGeometryRates& r = s.model->rates;
  return full_protocol(
      s.client,
      make_pure_estimator(s.client.id, "pgr", s.model->k,
                          {.p = r.s, .not_p = r.not_s, .q = r.r, .not_q = r.not_r, .gap = r.gap},
                          pgr_support(s.model)),
      std::make_shared<PgrAttack>(s.model));
}

}  // namespace

Protocol make_pgr(const ProtocolParams& params) {
  return build(setup_pgr(params));
}

ClientProtocol make_pgr_client(const ProtocolParams& params) {
  return setup_pgr(params).client;
}

Protocol make_pgr_with_field(const ProtocolParams& params, uint32_t q, uint32_t t) {
  check_protocol_params(params, "pgr", {});
  return build(setup(params, projective_geometry_rates_for(q, t, params.epsilon)));
}

}  // namespace residue
