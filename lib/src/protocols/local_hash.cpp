#include "residue/protocols/local_hash.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "protocols/galois_field.h"
#include "protocols/local_hash_family.h"
#include "protocols/protocol_setup.h"
#include "protocols/pure_estimator.h"
#include "protocols/registry_internal.h"
#include "residue/core/error.h"

namespace residue {
namespace {

// The attacker's rejection sampler tries this many uniform values per bucket before it
// scans the whole domain (the preimage of a bucket holds about k / g values).
constexpr uint32_t kTriesPerBucket = 8;

uint64_t next_supported(uint64_t x) {
  while (!supported_field_order(x)) ++x;
  return x;
}

// REQUIRES: x >= 2.
uint64_t previous_supported(uint64_t x) {
  while (!supported_field_order(x)) --x;
  return x;
}

// The probabilities of one report, each computed without cancellation (epsilon up to 50).
// OLH is pure (docs/protocols/olh.md): the report (s, y) supports {v : H_s(v) = y}.
struct OlhRates {
  // p = P[y = H_s(x)] (GRR keeps the bucket); the support rate q* = P[H_s(v) = y | x != v]
  // = q + (p - q) c; gap = p - q* = (p - q)(1 - c).
  PureRates pure;
  double q = 0;  // P[y = b] for each other bucket b
};

OlhRates olh_rates(uint64_t g, double c, double epsilon) {
  const double e = std::exp(epsilon), gd = static_cast<double>(g), denominator = e + gd - 1;
  const double grr_gap = std::expm1(epsilon) / denominator;
  const double q = 1 / denominator;
  return {.pure = {.p = e / denominator,
                   .not_p = (gd - 1) / denominator,
                   .q = q + grr_gap * c,
                   .not_q = (e + gd - 2) / denominator - grr_gap * c,
                   .gap = grr_gap * (1 - c)},
          .q = q};
}

}  // namespace

LocalHashDesign local_hash_design(uint32_t k, double epsilon) {
  check_k_and_epsilon(ProtocolParams{.protocol = "olh", .k = k, .epsilon = epsilon});
  check_local_hash_domain(k);
  // With g >= k one hash suffices (d = 1, OLH is GRR on g values) and larger g only adds
  // outputs, so the target e^eps + 1 is capped at the smallest supported g >= k.
  const uint64_t cap = next_supported(k);
  const double target = std::min(std::exp(epsilon) + 1, static_cast<double>(cap));
  const uint64_t lo = previous_supported(static_cast<uint64_t>(std::floor(target)));
  const uint64_t hi = next_supported(static_cast<uint64_t>(std::ceil(target)));
  const LocalHashPool lo_pool = local_hash_pool(k, lo), hi_pool = local_hash_pool(k, hi);
  const bool take_hi = olh_rates(hi, hi_pool.collision_rate, epsilon).pure.variance_constant() <
                       olh_rates(lo, lo_pool.collision_rate, epsilon).pure.variance_constant();
  const uint64_t g = take_hi ? hi : lo;
  const LocalHashPool& pool = take_hi ? hi_pool : lo_pool;
  check_pool_size(k, g, pool, "epsilon = " + std::to_string(epsilon));
  return {.buckets = static_cast<uint32_t>(g),
          .dimension = pool.dimension,
          .seeds = static_cast<uint32_t>(pool.seeds),
          .collision_rate = pool.collision_rate};
}

namespace {

struct OlhModel {
  OlhModel(LocalHashFamily family_in, OlhRates rates_in)
      : family(std::move(family_in)), rates(rates_in), keep(rates_in.pure.p, rates_in.pure.not_p) {}

  // Bucket sizes |{v : H_s(v) = y}| at [s g + y] and the empty buckets of each seed, for
  // the attack's exact success rate: O(S (G + g k / G)), computed once on first use.
  void ensure_sizes() const {
    std::call_once(sizes_once, [this] {
      const uint32_t g = family.buckets(), seeds = family.seeds();
      bucket_sizes.assign(std::size_t{seeds} * g, 0);
      empty_buckets.assign(seeds, 0);
      for (uint32_t s = 0; s < seeds; ++s) {
        const std::span<uint32_t> sizes(bucket_sizes.data() + std::size_t{s} * g, g);
        family.bucket_sizes(s, sizes);
        empty_buckets[s] = static_cast<uint32_t>(std::count(sizes.begin(), sizes.end(), 0u));
      }
    });
  }

  LocalHashFamily family;
  OlhRates rates;
  Coin keep;  // GRR keeps the bucket: exact on the rarer of p and 1 - p
  mutable std::once_flag sizes_once;
  mutable std::vector<uint32_t> bucket_sizes;
  mutable std::vector<uint32_t> empty_buckets;
};

std::string outside(uint32_t value, uint32_t k) {
  return "olh: value " + std::to_string(value) + " is outside [0, " + std::to_string(k) + ").";
}

class OlhEncoder final : public Encoder {
 public:
  explicit OlhEncoder(std::shared_ptr<const OlhModel> model) : model_(std::move(model)) {}

  // Draws: uniform(S) for the seed, GRR's coin (on the rarer of p and 1 - p, which is 1e-20
  // at eps = 50), then, when the bucket is not kept, one uniform(g - 1). O(d).
  void encode(uint32_t value, Rng& rng, Report& out) const override {
    const LocalHashFamily& family = model_->family;
    if (value >= family.k()) throw Error(outside(value, family.k()));
    const auto seed = static_cast<uint32_t>(rng.uniform(family.seeds()));
    const uint32_t h = family.hash(seed, value);
    uint32_t y = h;
    if (!rng.flip(model_->keep)) {
      // Index r of the g - 1 other buckets is the bucket r + (r >= h).
      const auto r = static_cast<uint32_t>(rng.uniform(family.buckets() - 1));
      y = r + (r >= h);
    }
    out.block = seed;
    out.items.assign(1, y);
  }

  double probability(const Report& report, uint32_t value) const override {
    const LocalHashFamily& family = model_->family;
    if (value >= family.k()) throw Error(outside(value, family.k()));
    const bool kept = report.items[0] == family.hash(report.block, value);
    return (kept ? model_->rates.pure.p : model_->rates.q) / static_cast<double>(family.seeds());
  }

 private:
  std::shared_ptr<const OlhModel> model_;
};

// C_v = sum_s count[s][H_s(v)] over the seeds that have reports: O(min(n, S) k) field
// additions.
SupportTally olh_support(const LocalHashFamily& family) {
  return {.blocks = family.seeds(),
          .universe = family.buckets(),
          .described = "with S = " + std::to_string(family.seeds()) +
                       " seeds of g = " + std::to_string(family.buckets()) + " buckets",
          .support_counts = [family](const Tally& tally) {
            std::vector<uint64_t> support(family.k(), 0);
            for (uint32_t s = 0; s < family.seeds(); ++s) {
              if (tally.reports(s) != 0) family.add_support_counts(s, tally.counts(s), support);
            }
            return std::vector<double>(support.begin(), support.end());
          }};
}

// The attacker guesses a uniform element of the preimage {v : H_s(v) = y}, or a uniform
// value when it is empty (docs/protocols/olh.md, "Reconstruction attack"). It is right with
// probability (1/S) sum_s [ p / |pre_s(H_s(x))| + q e_s / k ], e_s the empty buckets of seed s.
class OlhAttack final : public Attack {
 public:
  explicit OlhAttack(std::shared_ptr<const OlhModel> model) : model_(std::move(model)) {}

  // Rejection sampling (uniform over the preimage when it accepts), then a full scan (also
  // uniform over the preimage): the mixture is exactly uniform over the preimage.
  uint32_t guess(const Report& report, Rng& rng) const override {
    const LocalHashFamily& family = model_->family;
    const uint32_t seed = report.block, y = report.items[0], k = family.k();
    const uint32_t tries = kTriesPerBucket * family.buckets();
    for (uint32_t t = 0; t < tries; ++t) {
      const auto v = static_cast<uint32_t>(rng.uniform(k));
      if (family.hash(seed, v) == y) return v;
    }
    thread_local std::vector<uint32_t> hashes, preimage;
    hashes.resize(k);
    family.hash_all(seed, hashes);
    preimage.clear();
    for (uint32_t v = 0; v < k; ++v) {
      if (hashes[v] == y) preimage.push_back(v);
    }
    if (preimage.empty()) return static_cast<uint32_t>(rng.uniform(k));
    return preimage[rng.uniform(preimage.size())];
  }

  double success(uint32_t value) const override {
    const LocalHashFamily& family = model_->family;
    if (value >= family.k()) throw Error(outside(value, family.k()));
    model_->ensure_sizes();
    const OlhRates& r = model_->rates;
    const uint32_t g = family.buckets();
    const double k = family.k();
    double sum = 0;
    for (uint32_t s = 0; s < family.seeds(); ++s) {
      const uint32_t size = model_->bucket_sizes[std::size_t{s} * g + family.hash(s, value)];
      sum += r.pure.p / size + r.q * model_->empty_buckets[s] / k;
    }
    return sum / family.seeds();
  }

 private:
  std::shared_ptr<const OlhModel> model_;
};

// The encoder needs the hash family's hash() alone; its scans serve the estimator and attack.
ProtocolSetup<std::shared_ptr<const OlhModel>> setup_olh(const ProtocolParams& params) {
  check_protocol_params(params, "olh", {.seeds = true});
  const LocalHashDesign design = local_hash_design(params.k, params.epsilon);
  if (params.seeds != 0 && params.seeds != design.seeds) {
    throw Error("olh: seeds must be 0 (the default) or " + std::to_string(design.seeds) +
                ", the pool size that k = " + std::to_string(params.k) + " and epsilon = " +
                std::to_string(params.epsilon) + " fix (g = " + std::to_string(design.buckets) +
                ", d = " + std::to_string(design.dimension) + "), but is " +
                std::to_string(params.seeds) + ".");
  }
  ProtocolParams p = params;
  p.seeds = design.seeds;
  std::string id = protocol_id(p);
  auto model =
      std::make_shared<const OlhModel>(LocalHashFamily(p.k, design.buckets),
                                       olh_rates(design.buckets, design.collision_rate, p.epsilon));
  ReportShape shape{std::vector<BlockShape>(design.seeds, BlockShape{design.buckets, 1})};
  return {.client = {.params = std::move(p),
                     .id = std::move(id),
                     .shape = std::move(shape),
                     .encoder = std::make_shared<OlhEncoder>(model)},
          .model = std::move(model)};
}

}  // namespace

Protocol make_olh(const ProtocolParams& params) {
  const auto s = setup_olh(params);
  const LocalHashFamily& family = s.model->family;
  return full_protocol(
      s.client,
      make_pure_estimator(s.client.id, "olh", family.k(), s.model->rates.pure, olh_support(family)),
      std::make_shared<OlhAttack>(s.model));
}

ClientProtocol make_olh_client(const ProtocolParams& params) {
  return setup_olh(params).client;
}

}  // namespace residue
