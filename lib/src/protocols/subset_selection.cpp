#include "residue/protocols/subset_selection.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "protocols/protocol_setup.h"
#include "protocols/pure_estimator.h"
#include "protocols/rate_subset.h"
#include "protocols/registry_internal.h"
#include "residue/core/error.h"

namespace residue {
namespace {

// Below this many draws (and when omega^2 is small next to the universe) a sorted vector
// beats a bitmap whose clearing and scanning costs O(m / 64).
constexpr uint32_t kSmallDraw = 64;

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

// Writes into `items`, sorted: `value` if `include_value`, plus `count` distinct values drawn
// uniformly from [0, k) \ {value} by Floyd's algorithm over the k - 1 others (index t of the
// others is the value t + (t >= value)). Three ways to keep the picks distinct and sorted:
//   a few picks        a sorted vector, O(count^2) with tiny constants;
//   sparse (< k/64)    a thread-local bitmap for membership, then sort the picks and clear
//                      just their bits: O(count log count), nothing proportional to k;
//   dense              the bitmap scanned in order: O(count + k / 64).
// Allocation-free once `items` (and the thread's scratch bitmap) have grown.
void draw_distinct_others(uint32_t k, uint32_t value, uint32_t count, bool include_value, Rng& rng,
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
  // Branch-free Floyd: a taken t (unpredictable, a quarter of the draws at omega = m / (e + 1))
  // sets j's bit instead, through a shifted 0 or 1 rather than a jump. The same draws as the
  // sparse paths, so the same subsets.
  uint64_t* map = bits.data();
  for (uint32_t j = others - count; j < others; ++j) {
    const auto t = static_cast<uint32_t>(rng.uniform(uint64_t{j} + 1));
    const uint32_t pick = t + (t >= value), fresh = j + (j >= value);
    const uint64_t taken = (map[pick >> 6] >> (pick & 63)) & 1;
    map[pick >> 6] |= uint64_t{1} << (pick & 63);
    map[fresh >> 6] |= taken << (fresh & 63);
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
  r.not_p = (md - w) / (w * e + md - w);
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
  const bool include_value = rng.bernoulli(rates.p, rates.not_p);
  const uint32_t count = include_value ? omega - 1 : omega;
  // The random bitmap takes a quarter of Floyd's words at eps ~ 1 (docs/protocols/ss.md).
  if (rate_subset_pays(m, count)) {
    draw_others_by_rate(m, value, count, include_value, rng, items);
  } else {
    draw_distinct_others(m, value, count, include_value, rng, items);
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

namespace {

ProtocolSetup<SubsetSelectionRates> setup_ss(const ProtocolParams& params) {
  check_protocol_params(params, "ss", {.subset_sizes = true});
  if (params.subset_sizes.size() > 1) {
    throw Error("ss: expected one subset size, got " + std::to_string(params.subset_sizes.size()) +
                ".");
  }
  ProtocolParams p = params;
  if (p.subset_sizes.empty()) p.subset_sizes = {optimal_subset_size(p.k, p.epsilon)};
  const SubsetSelectionRates rates = subset_selection_rates(p.k, p.subset_sizes[0], p.epsilon);
  ReportShape shape{{BlockShape{p.k, p.subset_sizes[0]}}};
  std::string id = protocol_id(p);
  return {.client = {.params = std::move(p),
                     .id = std::move(id),
                     .shape = std::move(shape),
                     .encoder = std::make_shared<SubsetSelectionEncoder>(rates)},
          .model = rates};
}

}  // namespace

Protocol make_ss(const ProtocolParams& params) {
  const ProtocolSetup<SubsetSelectionRates> s = setup_ss(params);
  const SubsetSelectionRates& r = s.model;
  return full_protocol(
      s.client,
      make_pure_estimator(
          s.client.id, "ss", r.universe,
          {.p = r.p, .not_p = r.not_p, .q = r.q, .not_q = 1 - r.q, .gap = r.p - r.q},
          counted_support(r.universe)),
      std::make_shared<SubsetSelectionAttack>(r));
}

ClientProtocol make_ss_client(const ProtocolParams& params) {
  return setup_ss(params).client;
}

}  // namespace residue
