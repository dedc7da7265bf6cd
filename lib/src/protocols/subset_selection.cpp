#include "residue/protocols/subset_selection.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

// Below this many draws (and when omega^2 is small next to the universe) a sorted vector
// beats a bitmap whose clearing and scanning costs O(m / 64).
constexpr uint32_t kSmallDraw = 64;

// Places `count` distinct values drawn uniformly from [0, m) \ {value} into a sorted `items`
// (which may already hold `value`), by Floyd's algorithm over the m - 1 other values.
// Index t of the other values is the value t + (t >= value).
void draw_others_small(uint32_t m, uint32_t value, uint32_t count, Rng& rng,
                       std::vector<uint32_t>& items) {
  const uint32_t others = m - 1;
  for (uint32_t j = others - count; j < others; ++j) {
    const auto t = static_cast<uint32_t>(rng.uniform(uint64_t{j} + 1));
    uint32_t pick = t + (t >= value);
    auto it = std::lower_bound(items.begin(), items.end(), pick);
    if (it != items.end() && *it == pick) {
      pick = j + (j >= value);  // Floyd: t was taken, so j (not yet reachable before) is fresh
      it = std::lower_bound(items.begin(), items.end(), pick);
    }
    items.insert(it, pick);
  }
}

// The same draw through a bitmap of the universe: O(count + m / 64), output sorted.
void draw_others_bitmap(uint32_t m, uint32_t value, uint32_t count, bool include_value, Rng& rng,
                        std::vector<uint32_t>& items) {
  thread_local std::vector<uint64_t> bits;
  const std::size_t words = (std::size_t{m} + 63) / 64;
  if (bits.size() < words) bits.resize(words, 0);
  auto test_and_set = [&](uint32_t v) {
    uint64_t& w = bits[v >> 6];
    const uint64_t mask = uint64_t{1} << (v & 63);
    const bool was = (w & mask) != 0;
    w |= mask;
    return was;
  };
  const uint32_t others = m - 1;
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

// Log of the normalizer e * C(m-1, omega-1) + C(m-1, omega) of the subset probabilities.
double log_normalizer(const SubsetSelectionRates& r) {
  const double m = r.universe, w = r.subset_size;
  const double log_choose = std::lgamma(m) - std::lgamma(w) - std::lgamma(m - w + 1);  // C(m-1,w-1)
  return log_choose + std::log(std::exp(r.epsilon) + (m - w) / w);
}

class SubsetSelectionEncoder final : public Encoder {
 public:
  explicit SubsetSelectionEncoder(SubsetSelectionRates rates) : rates_(rates) {}

  void encode(uint32_t value, Rng& rng, Report& out) const override {
    if (value >= rates_.universe) {
      throw Error("ss: value " + std::to_string(value) + " is outside [0, " +
                  std::to_string(rates_.universe) + ").");
    }
    out.block = 0;
    sample_subset_selection(rates_, value, rng, out.items);
  }

  double probability(const Report& report, uint32_t value) const override {
    return subset_selection_probability(rates_, report.items, value);
  }
  double log_probability(const Report& report, uint32_t value) const override {
    return subset_selection_log_probability(rates_, report.items, value);
  }

 private:
  SubsetSelectionRates rates_;
};

class SubsetSelectionEstimator final : public Estimator {
 public:
  SubsetSelectionEstimator(std::string id, SubsetSelectionRates rates)
      : id_(std::move(id)), rates_(rates) {}

  Estimate estimate(const Tally& tally, const EstimateOptions&) const override {
    check(tally);
    const uint64_t n = tally.reports(0);
    if (n == 0) throw Error("ss: the tally holds no reports.");
    Estimate e;
    e.reports = n;
    e.frequencies.resize(rates_.universe);
    const std::span<const uint64_t> counts = tally.counts(0);
    const double scale = 1.0 / (rates_.p - rates_.q);
    for (uint32_t v = 0; v < rates_.universe; ++v) {
      e.frequencies[v] =
          (static_cast<double>(counts[v]) / static_cast<double>(n) - rates_.q) * scale;
    }
    return e;
  }

  double mean_variance(std::span<const double> f, uint64_t n) const override {
    double sum = 0;
    for (double fv : f) sum += rates_.variance(fv, static_cast<double>(n));
    return sum / static_cast<double>(f.size());
  }

  std::vector<double> variances(std::span<const double> f, const Tally& tally,
                                std::span<const uint32_t> values) const override {
    check(tally);
    std::vector<double> out;
    out.reserve(values.size());
    for (uint32_t v : values) {
      out.push_back(rates_.variance(f[v], static_cast<double>(tally.total_reports())));
    }
    return out;
  }

 private:
  void check(const Tally& tally) const {
    if (tally.protocol_id() != id_ || tally.block_count() != 1 ||
        tally.universe(0) != rates_.universe) {
      throw Error("ss: the tally is for \"" + tally.protocol_id() + "\", not this " + id_ +
                  " protocol on k = " + std::to_string(rates_.universe) + ".");
    }
  }

  std::string id_;
  SubsetSelectionRates rates_;
};

// The attacker picks a uniform element of the subset (Arcolezi et al. 2025): right with
// probability p / omega.
class SubsetSelectionAttack final : public Attack {
 public:
  explicit SubsetSelectionAttack(SubsetSelectionRates rates) : rates_(rates) {}

  uint32_t guess(const Report& report, Rng& rng) const override {
    return report.items[rng.uniform(report.items.size())];
  }
  double success(uint32_t) const override { return rates_.p / rates_.subset_size; }

 private:
  SubsetSelectionRates rates_;
};

}  // namespace

SubsetSelectionRates subset_selection_rates(uint32_t m, uint32_t omega, double epsilon) {
  if (m < 2)
    throw Error("subset selection: universe must be at least 2, but is " + std::to_string(m) + ".");
  if (omega < 1 || omega >= m) {
    throw Error("subset selection: subset size must be in [1, " + std::to_string(m - 1) +
                "], but is " + std::to_string(omega) + ".");
  }
  if (!(epsilon > 0) || !std::isfinite(epsilon)) {
    throw Error("subset selection: epsilon must be positive, but is " + std::to_string(epsilon) +
                ".");
  }
  const double e = std::exp(epsilon), md = m, w = omega;
  SubsetSelectionRates r{.universe = m, .subset_size = omega, .epsilon = epsilon};
  r.p = w * e / (w * e + md - w);
  r.q = (w * e * (w - 1) + (md - w) * w) / ((md - 1) * (w * e + md - w));
  return r;
}

uint32_t optimal_subset_size(uint32_t m, double epsilon) {
  const double ideal = static_cast<double>(m) / (std::exp(epsilon) + 1);
  auto clamp = [m](double w) {
    return static_cast<uint32_t>(std::clamp(w, 1.0, static_cast<double>(m - 1)));
  };
  const uint32_t lo = clamp(std::floor(ideal)), hi = clamp(std::ceil(ideal));
  return subset_selection_rates(m, lo, epsilon).variance_constant() <=
                 subset_selection_rates(m, hi, epsilon).variance_constant()
             ? lo
             : hi;
}

void sample_subset_selection(const SubsetSelectionRates& rates, uint32_t value, Rng& rng,
                             std::vector<uint32_t>& items) {
  const uint32_t m = rates.universe, omega = rates.subset_size;
  const bool include_value = rng.bernoulli(rates.p);
  const uint32_t count = include_value ? omega - 1 : omega;
  if (count < kSmallDraw && uint64_t{count} * count < m / 16) {
    items.clear();
    if (include_value) items.push_back(value);
    draw_others_small(m, value, count, rng, items);
  } else {
    draw_others_bitmap(m, value, count, include_value, rng, items);
  }
}

double subset_selection_log_probability(const SubsetSelectionRates& rates,
                                        std::span<const uint32_t> items, uint32_t value) {
  const bool contains = std::binary_search(items.begin(), items.end(), value);
  return (contains ? rates.epsilon : 0.0) - log_normalizer(rates);
}

double subset_selection_probability(const SubsetSelectionRates& rates,
                                    std::span<const uint32_t> items, uint32_t value) {
  return std::exp(subset_selection_log_probability(rates, items, value));
}

Protocol make_subset_selection(const ProtocolParams& params) {
  if (params.protocol != "ss")
    throw Error("make_subset_selection: protocol is \"" + params.protocol + "\".");
  check_k_and_epsilon(params);
  if (!params.moduli.empty()) throw Error("ss: moduli are an MSS parameter; leave them empty.");
  if (params.seeds != 0) throw Error("ss: seeds are an OLH parameter; leave them 0.");
  if (params.subset_sizes.size() > 1) {
    throw Error("ss: expected one subset size, got " + std::to_string(params.subset_sizes.size()) +
                ".");
  }
  ProtocolParams p = params;
  if (p.subset_sizes.empty()) p.subset_sizes = {optimal_subset_size(p.k, p.epsilon)};
  const SubsetSelectionRates rates = subset_selection_rates(p.k, p.subset_sizes[0], p.epsilon);
  ReportShape shape{{BlockShape{p.k, p.subset_sizes[0]}}};
  const std::string id = protocol_id(p);
  return Protocol(std::move(p), std::move(shape), std::make_shared<SubsetSelectionEncoder>(rates),
                  std::make_shared<SubsetSelectionEstimator>(id, rates),
                  std::make_shared<SubsetSelectionAttack>(rates));
}

}  // namespace residue
