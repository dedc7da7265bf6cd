#include "residue/protocols/unary.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

// Below this many noise ones (and when their square is small next to k) inserting into a
// sorted vector beats any bitmap.
constexpr uint32_t kSmallDraw = 64;

// Binomial weights below this fraction of the mode's are left out of the sampling table. The
// mass left out is then below k * 1e-30 < 5e-21, far under the 2^-53 step of uniform01, so no
// draw can tell the table from the exact distribution.
constexpr double kTableCutoff = 1e-30;

// The probabilities of a unary encoding, each computed without cancellation (SUE at large
// epsilon has 1 - p ~ 1e-11, which 1 - p would get wrong in the fifth digit).
struct UnaryRates {
  const char* name = "";
  uint32_t k = 0;
  double p = 0;      // P[bit x is 1 | input x]
  double not_p = 0;  // 1 - p
  double q = 0;      // P[bit v is 1 | input x != v]
  double not_q = 0;  // 1 - q
  double gap = 0;    // p - q

  // Exact Var[f_v] for true frequency f and n reports (protocols.md section 1).
  double variance(double f, double n) const {
    return (f * p * not_p + (1 - f) * q * not_q) / (n * gap * gap);
  }
};

UnaryRates sue_rates(uint32_t k, double epsilon) {
  // a = e^(eps/2): keep each bit with probability a / (a + 1). The flip probability is
  // 1 / (e^(eps/2) + 1), not the 1 / (e^eps + 1) of the PGR repo's SymmetricRAPPOR, which
  // is only 2 eps-LDP (two bits differ between neighbouring inputs).
  const double a = std::exp(epsilon / 2), denominator = a + 1;
  return {.name = "sue",
          .k = k,
          .p = a / denominator,
          .not_p = 1 / denominator,
          .q = 1 / denominator,
          .not_q = a / denominator,
          .gap = std::expm1(epsilon / 2) / denominator};
}

UnaryRates oue_rates(uint32_t k, double epsilon) {
  const double e = std::exp(epsilon), denominator = e + 1;
  return {.name = "oue",
          .k = k,
          .p = 0.5,
          .not_p = 0.5,
          .q = 1 / denominator,
          .not_q = e / denominator,
          .gap = std::expm1(epsilon) / (2 * denominator)};
}

// Binomial(n, q) by inversion of a precomputed CDF. The weights come from the ratio
// recurrence P[j+1] / P[j] = (n - j) q / ((j + 1)(1 - q)) outward from the mode, with only
// +, *, / (correctly rounded in IEEE arithmetic, no libm), so the table and every draw are
// the same on every platform. The table spans the values whose weight is at least
// kTableCutoff of the mode's: about 24 standard deviations, a few thousand entries at most
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
    cdf_.resize(weights.size());
    double total = 0;
    for (double x : weights) total += x;
    double partial = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      partial += weights[i];
      cdf_[i] = partial / total;
    }
    cdf_.back() = 1;  // uniform01() < 1, so every draw lands inside the table
  }

  // One uniform01 draw; O(log of the table size).
  uint32_t sample(Rng& rng) const {
    const double u = rng.uniform01();
    return lo_ +
           static_cast<uint32_t>(std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  uint32_t lo_ = 0;
  std::vector<double> cdf_;  // cdf_[i] = P[X <= lo_ + i]
};

// Writes into `items`, sorted: `value` if `include_value`, plus `count` distinct values drawn
// uniformly from [0, k) \ {value} by Floyd's algorithm over the k - 1 others (index t of the
// others is the value t + (t >= value)). Three ways to keep the picks distinct and sorted:
//   a few picks        a sorted vector, O(count^2) with tiny constants;
//   sparse (< k/64)    a thread-local bitmap for membership, then sort the picks and clear
//                      just their bits: O(count log count), nothing proportional to k;
//   dense              the bitmap scanned in order: O(count + k / 64).
// Allocation-free once `items` (and the thread's scratch bitmap) have grown.
void draw_ones(uint32_t k, uint32_t value, uint32_t count, bool include_value, Rng& rng,
               std::vector<uint32_t>& items) {
  const uint32_t others = k - 1;
  items.clear();
  if (include_value) items.push_back(value);
  if (count < kSmallDraw && uint64_t{count} * count < k / 16) {
    for (uint32_t j = others - count; j < others; ++j) {
      const auto t = static_cast<uint32_t>(rng.uniform(uint64_t{j} + 1));
      uint32_t pick = t + (t >= value);
      auto it = std::lower_bound(items.begin(), items.end(), pick);
      if (it != items.end() && *it == pick) {
        pick = j + (j >= value);  // Floyd: t was taken, so j (not reachable before) is fresh
        it = std::lower_bound(items.begin(), items.end(), pick);
      }
      items.insert(it, pick);
    }
    return;
  }
  thread_local std::vector<uint64_t> bits;
  const std::size_t words = (std::size_t{k} + 63) / 64;
  if (bits.size() < words) bits.resize(words, 0);
  auto test_and_set = [&](uint32_t v) {
    uint64_t& word = bits[v >> 6];
    const uint64_t mask = uint64_t{1} << (v & 63);
    const bool was = (word & mask) != 0;
    word |= mask;
    return was;
  };
  if (count < words) {
    for (uint32_t j = others - count; j < others; ++j) {
      const auto t = static_cast<uint32_t>(rng.uniform(uint64_t{j} + 1));
      uint32_t pick = t + (t >= value);
      if (test_and_set(pick)) {
        pick = j + (j >= value);
        test_and_set(pick);
      }
      items.push_back(pick);
    }
    for (uint32_t v : items) bits[v >> 6] = 0;  // leave the scratch clean for the next call
    std::sort(items.begin(), items.end());
    return;
  }
  for (uint32_t j = others - count; j < others; ++j) {
    const auto t = static_cast<uint32_t>(rng.uniform(uint64_t{j} + 1));
    if (test_and_set(t + (t >= value))) test_and_set(j + (j >= value));
  }
  if (include_value) test_and_set(value);
  items.clear();
  for (std::size_t w = 0; w < words; ++w) {
    uint64_t word = bits[w];
    bits[w] = 0;  // leave the scratch clean for the next call
    while (word != 0) {
      items.push_back(static_cast<uint32_t>(w * 64 + std::countr_zero(word)));
      word &= word - 1;
    }
  }
}

class UnaryEncoder final : public Encoder {
 public:
  explicit UnaryEncoder(UnaryRates rates)
      : rates_(rates),
        noise_(rates.k - 1, rates.q, rates.not_q),
        log_p_(std::log(rates.p)),
        log_not_p_(std::log(rates.not_p)),
        log_q_(std::log(rates.q)),
        log_not_q_(std::log(rates.not_q)) {}

  // Draws: one uniform01 for the true bit, one for the number of noise ones, then Floyd's
  // uniform draws for their positions. O(#ones log #ones) while #ones < k / 64, else
  // O(#ones + k / 64) (the k-bit wire encoding costs k / 64 words anyway).
  void encode(uint32_t value, Rng& rng, Report& out) const override {
    if (value >= rates_.k) {
      throw Error(std::string(rates_.name) + ": value " + std::to_string(value) +
                  " is outside [0, " + std::to_string(rates_.k) + ").");
    }
    const bool true_bit = rng.bernoulli(rates_.p);
    const uint32_t noise = noise_.sample(rng);
    out.block = 0;
    draw_ones(rates_.k, value, noise, true_bit, rng, out.items);
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

 private:
  UnaryRates rates_;
  BinomialTable noise_;
  double log_p_, log_not_p_, log_q_, log_not_q_;
};

class UnaryEstimator final : public Estimator {
 public:
  UnaryEstimator(std::string id, UnaryRates rates) : id_(std::move(id)), rates_(rates) {}

  // O(k): the tally's counts are the per-bit sums C_v (counting them cost O(#ones) a report).
  Estimate estimate(const Tally& tally, const EstimateOptions&) const override {
    check(tally);
    const uint64_t n = tally.reports(0);
    if (n == 0) throw Error(std::string(rates_.name) + ": the tally holds no reports.");
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
        throw Error(std::string(rates_.name) + ": value " + std::to_string(v) + " is outside [0, " +
                    std::to_string(rates_.k) + ").");
      }
      out.push_back(rates_.variance(f[v], static_cast<double>(tally.total_reports())));
    }
    return out;
  }

 private:
  void check(const Tally& tally) const {
    if (tally.protocol_id() != id_ || tally.block_count() != 1 || tally.universe(0) != rates_.k) {
      throw Error(std::string(rates_.name) + ": the tally is for \"" + tally.protocol_id() +
                  "\", not this " + id_ + " protocol on k = " + std::to_string(rates_.k) + ".");
    }
  }
  void check_size(std::span<const double> f) const {
    if (f.size() != rates_.k) {
      throw Error(std::string(rates_.name) + ": expected " + std::to_string(rates_.k) +
                  " frequencies, got " + std::to_string(f.size()) + ".");
    }
  }

  std::string id_;
  UnaryRates rates_;
};

// The attacker picks a uniform 1-bit, or a uniform value when there is none (protocols.md
// 4.4 and 10). With M ~ Binomial(k - 1, q) noise ones, the guess is right with probability
// p E[1 / (1 + M)] + (1 - p) P[M = 0] / k, and E[1 / (1 + M)] = (1 - (1-q)^k) / (k q):
//   success = p (1 - (1-q)^k) / (k q) + (1 - p) (1-q)^(k-1) / k,
// the same for every value. This is the closed form of the binomial sum of 4.4.
class UnaryAttack final : public Attack {
 public:
  explicit UnaryAttack(UnaryRates rates) : rates_(rates) {
    const double k = rates.k, log_not_q = std::log1p(-rates.q);
    success_ = rates.p * -std::expm1(k * log_not_q) / (k * rates.q) +
               rates.not_p * std::exp((k - 1) * log_not_q) / k;
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

Protocol make_unary(const ProtocolParams& params, const char* name,
                    UnaryRates (*rates_for)(uint32_t, double)) {
  if (params.protocol != name) {
    throw Error(std::string("make_") + name + ": protocol is \"" + params.protocol + "\".");
  }
  check_k_and_epsilon(params);
  const std::string prefix = std::string(name) + ": ";
  if (!params.moduli.empty())
    throw Error(prefix + "moduli are an MSS parameter; leave them empty.");
  if (!params.subset_sizes.empty()) {
    throw Error(prefix +
                "subset_sizes are an SS/MSS parameter (a unary report has any number of "
                "1-bits); leave them empty, but there are " +
                std::to_string(params.subset_sizes.size()) + ".");
  }
  if (params.seeds != 0) {
    throw Error(prefix + "seeds are an OLH parameter; leave them 0, but they are " +
                std::to_string(params.seeds) + ".");
  }
  const UnaryRates rates = rates_for(params.k, params.epsilon);
  ReportShape shape{{BlockShape{params.k, 0}}};
  const std::string id = protocol_id(params);
  return Protocol(params, std::move(shape), std::make_shared<UnaryEncoder>(rates),
                  std::make_shared<UnaryEstimator>(id, rates),
                  std::make_shared<UnaryAttack>(rates));
}

}  // namespace

Protocol make_sue(const ProtocolParams& params) {
  return make_unary(params, "sue", &sue_rates);
}

Protocol make_oue(const ProtocolParams& params) {
  return make_unary(params, "oue", &oue_rates);
}

}  // namespace residue
