#include "residue/protocols/audit.h"

#include <algorithm>
#include <boost/math/distributions/beta.hpp>
#include <cmath>
#include <limits>
#include <span>
#include <string>

#include "residue/core/error.h"

namespace residue {
namespace {

// Clopper-Pearson bounds on a binomial proportion, each at one-sided level `alpha`. They are
// symmetric: the lower bound for n - hits is 1 - the upper bound for hits, so an interval for
// an event is also one for its complement.
double lower_bound(uint64_t hits, uint64_t n, double alpha) {
  if (hits == 0) return 0;
  return boost::math::quantile(boost::math::beta_distribution<>(static_cast<double>(hits),
                                                                static_cast<double>(n - hits + 1)),
                               alpha);
}

double upper_bound(uint64_t hits, uint64_t n, double alpha) {
  if (hits == n) return 1;
  return boost::math::quantile(boost::math::beta_distribution<>(static_cast<double>(hits + 1),
                                                                static_cast<double>(n - hits)),
                               1 - alpha);
}

// The counters of the searched events for one report shape: "the report is of class c and
// holds j" for each class and position of its universe; with several classes, then "... and
// lacks j" for each, and "the report is of class c" for each class.
class EventCounters {
 public:
  explicit EventCounters(const ReportShape& shape) {
    std::size_t total = 0;
    for (const BlockShape& block : shape.blocks) {
      offsets_.push_back(total);
      total += block.universe;
    }
    offsets_.push_back(total);
  }

  bool several_classes() const { return offsets_.size() > 2; }
  std::size_t size() const { return several_classes() ? 2 * positions() + classes() : positions(); }

  // Counts one report. Throws Error if it lies outside the shape: that is a broken encoder.
  void add(const Report& report, std::span<uint64_t> counts) const {
    if (report.block >= classes()) {
      throw Error("audit: the encoder reported class " + std::to_string(report.block) +
                  ", but the shape has " + std::to_string(classes()) + ".");
    }
    const std::size_t first = offsets_[report.block];
    const std::size_t universe = offsets_[report.block + 1] - first;
    for (uint32_t j : report.items) {
      if (j >= universe) {
        throw Error("audit: the encoder reported position " + std::to_string(j) + " of class " +
                    std::to_string(report.block) + ", outside [0, " + std::to_string(universe) +
                    ").");
      }
      ++counts[first + j];
    }
    if (several_classes()) ++counts[2 * positions() + report.block];
  }

  // Fills the "lacks" counters from the others once all of an input's reports are added.
  void finish(std::span<uint64_t> counts) const {
    if (!several_classes()) return;
    for (std::size_t c = 0; c < classes(); ++c) {
      const uint64_t in_class = counts[2 * positions() + c];
      for (std::size_t e = offsets_[c]; e < offsets_[c + 1]; ++e) {
        counts[positions() + e] = in_class - counts[e];
      }
    }
  }

  AuditEvent event(std::size_t index) const {
    const std::size_t p = positions();
    if (index >= 2 * p) {
      return {.kind = AuditEvent::Kind::kClass, .block = static_cast<uint32_t>(index - 2 * p)};
    }
    const auto kind = index < p ? AuditEvent::Kind::kHolds : AuditEvent::Kind::kLacks;
    const std::size_t e = index % p;
    const auto block = static_cast<std::size_t>(
        std::upper_bound(offsets_.begin(), offsets_.end(), e) - offsets_.begin() - 1);
    return {.kind = kind,
            .block = static_cast<uint32_t>(block),
            .position = static_cast<uint32_t>(e - offsets_[block])};
  }

 private:
  std::size_t positions() const { return offsets_.back(); }
  std::size_t classes() const { return offsets_.size() - 1; }

  std::vector<std::size_t> offsets_;  // first counter of each class, then the total
};

// `event` in words. For a revealing set, `x` is the input it favours and `y` the other.
std::string describe(const AuditEvent& event, bool several_classes, uint32_t x, uint32_t y) {
  const std::string c = std::to_string(event.block), j = std::to_string(event.position);
  const bool no = event.complement;
  switch (event.kind) {
    case AuditEvent::Kind::kRevealing:
      // The complement of the set for (a, b) is favoured by b.
      return no ? "not claimed e^eps times likelier for " + std::to_string(y) + " than for " +
                      std::to_string(x)
                : "claimed e^eps times likelier for " + std::to_string(x) + " than for " +
                      std::to_string(y);
    case AuditEvent::Kind::kHolds:
      if (!several_classes) return "position " + j + (no ? " is not" : " is") + " in the report";
      return no ? "the report is not of class " + c + " or lacks position " + j
                : "the report is of class " + c + " and holds position " + j;
    case AuditEvent::Kind::kLacks:
      return no ? "the report is not of class " + c + " or holds position " + j
                : "the report is of class " + c + " and lacks position " + j;
    case AuditEvent::Kind::kClass:
      return "the report is" + std::string(no ? " not" : "") + " of class " + c;
  }
  return "";
}

// The largest lower bound seen so far, and what gave it.
class Search {
 public:
  explicit Search(uint64_t trials) { best_.trials = trials; }

  // The bound from an event that `x` made happen `hits_x` times and `y` `hits_y` times, with
  // each Clopper-Pearson bound at one-sided level `alpha`.
  void consider(const AuditEvent& event, uint32_t x, uint64_t hits_x, uint32_t y, uint64_t hits_y,
                double alpha) {
    const uint64_t n = best_.trials;
    const double point = std::log(static_cast<double>(hits_x) / static_cast<double>(hits_y));
    // The Clopper-Pearson interval holds the observed frequency, so the bound is at most the
    // point estimate: skip the quantiles of an event that cannot win.
    if (found_ && !(point > best_.epsilon_lower)) return;
    const double lower = std::log(lower_bound(hits_x, n, alpha) / upper_bound(hits_y, n, alpha));
    if (found_ && !(lower > best_.epsilon_lower)) return;
    found_ = true;
    best_.epsilon_lower = lower;
    best_.epsilon_point = point;
    best_.event = event;
    best_.input_revealing = x;
    best_.input_other = y;
    best_.hits_revealing = hits_x;
    best_.hits_other = hits_y;
  }

  AuditResult& result() { return best_; }

 private:
  AuditResult best_;
  bool found_ = false;
};

void check_options(uint32_t k, const AuditOptions& options) {
  if (options.value_a >= k || options.value_b >= k || options.value_a == options.value_b) {
    throw Error("audit: the two values must differ and lie in [0, " + std::to_string(k) +
                "), but are " + std::to_string(options.value_a) + " and " +
                std::to_string(options.value_b) + ".");
  }
  if (options.inputs < 2) {
    throw Error("audit: inputs must be at least 2, but is " + std::to_string(options.inputs) + ".");
  }
  if (options.trials == 0) throw Error("audit: trials must be at least 1.");
  if (!(options.confidence > 0 && options.confidence < 1)) {
    throw Error("audit: confidence must be in (0, 1), but is " +
                std::to_string(options.confidence) + ".");
  }
}

}  // namespace

std::vector<uint32_t> audit_inputs(uint32_t k, const AuditOptions& options) {
  check_options(k, options);
  const uint32_t count = std::min(options.inputs, k);
  std::vector<uint32_t> inputs{options.value_a, options.value_b};
  auto add = [&](uint64_t v) {
    if (inputs.size() < count && std::find(inputs.begin(), inputs.end(), v) == inputs.end()) {
      inputs.push_back(static_cast<uint32_t>(v));
    }
  };
  add(0);
  add(k - 1);
  for (uint64_t i = 1; i < count; ++i) add(i * k / count);
  for (uint32_t v = 0; inputs.size() < count; ++v) add(v);  // collisions left room
  return inputs;
}

AuditResult audit_epsilon(const Protocol& protocol, const AuditOptions& options, Rng& rng) {
  const std::vector<uint32_t> inputs = audit_inputs(protocol.params().k, options);
  const uint32_t a = options.value_a, b = options.value_b;
  const uint64_t n = options.trials;
  const double epsilon = protocol.params().epsilon;
  const Encoder& encoder = protocol.encoder();
  const EventCounters events(protocol.shape());

  // Per searched event: the most and the fewest hits over the inputs, and whose they are.
  std::vector<uint64_t> counts(events.size()), most, fewest;
  std::vector<uint32_t> most_at(events.size(), a), fewest_at(events.size(), a);
  // revealing[i][s]: hits of the revealing set s ((a, b), then (b, a)) among the reports of
  // input i (a, then b). In log space (unary reports underflow a double), a hair below eps so
  // reports whose ratio is e^eps up to rounding count.
  uint64_t revealing[2][2] = {};
  const double threshold = epsilon - 1e-9;
  Report report;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::fill(counts.begin(), counts.end(), 0);
    for (uint64_t t = 0; t < n; ++t) {
      encoder.encode(inputs[i], rng, report);
      events.add(report, counts);
      if (i < 2) {
        const double ratio =
            encoder.log_probability(report, a) - encoder.log_probability(report, b);
        revealing[i][0] += ratio >= threshold;
        revealing[i][1] += -ratio >= threshold;
      }
    }
    events.finish(counts);
    if (i == 0) {
      most = fewest = counts;
      continue;
    }
    for (std::size_t e = 0; e < counts.size(); ++e) {
      if (counts[e] > most[e]) {
        most[e] = counts[e];
        most_at[e] = inputs[i];
      }
      if (counts[e] < fewest[e]) {
        fewest[e] = counts[e];
        fewest_at[e] = inputs[i];
      }
    }
  }

  // Bonferroni: half of the error budget to the revealing sets (two inputs by two sets, an
  // interval with two sides for each), half to the search (an interval for each input and
  // event). An interval also bounds the event's complement, so complements are free.
  const double alpha = 1 - options.confidence;
  const double alpha_revealing = alpha / 16;
  const double alpha_search =
      alpha / (4.0 * static_cast<double>(inputs.size()) * static_cast<double>(events.size()));
  Search search(n);
  const AuditEvent set{.kind = AuditEvent::Kind::kRevealing};
  AuditEvent not_set = set;
  not_set.complement = true;
  search.consider(set, a, revealing[0][0], b, revealing[1][0], alpha_revealing);
  search.consider(set, b, revealing[1][1], a, revealing[0][1], alpha_revealing);
  search.consider(not_set, b, n - revealing[1][0], a, n - revealing[0][0], alpha_revealing);
  search.consider(not_set, a, n - revealing[0][1], b, n - revealing[1][1], alpha_revealing);
  for (std::size_t e = 0; e < counts.size(); ++e) {
    if (most[e] == fewest[e]) continue;  // every input saw it equally often
    AuditEvent event = events.event(e);
    search.consider(event, most_at[e], most[e], fewest_at[e], fewest[e], alpha_search);
    event.complement = true;
    search.consider(event, fewest_at[e], n - fewest[e], most_at[e], n - most[e], alpha_search);
  }

  AuditResult& r = search.result();
  r.epsilon_claimed = epsilon;
  r.description = describe(r.event, events.several_classes(), r.input_revealing, r.input_other);
  return r;
}

}  // namespace residue
