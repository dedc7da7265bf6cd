// The empirical epsilon audit: it stays below the claim for a correct randomizer, and it
// catches a randomizer that leaks (the PGR reference code's Subset Selection bug).
#include "residue/protocols/audit.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/protocols/subset_selection.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

// A DELIBERATELY BROKEN Subset Selection encoder, for testing the audit only: when the true
// value is not forced in, it draws the fillers from all of [0, k), so the value lands in the
// subset too often (protocols.md 3.2). It still claims the correct mechanism's probabilities.
class LeakyEncoder final : public Encoder {
 public:
  LeakyEncoder(const Protocol& honest, SubsetSelectionRates rates)
      : honest_(honest), rates_(rates) {}

  void encode(uint32_t value, Rng& rng, Report& out) const override {
    if (rng.bernoulli(rates_.p)) {
      honest_.encoder().encode(value, rng, out);
      while (!std::binary_search(out.items.begin(), out.items.end(), value)) {
        honest_.encoder().encode(value, rng, out);
      }
      return;
    }
    // Any omega-subset of [0, k): sample from an input chosen uniformly, then resample until
    // the subset's distribution no longer depends on `value` (uniform over all subsets).
    out.items.clear();
    std::vector<bool> taken(rates_.universe);
    while (out.items.size() < rates_.subset_size) {
      const auto v = static_cast<uint32_t>(rng.uniform(rates_.universe));
      if (!taken[v]) {
        taken[v] = true;
        out.items.push_back(v);
      }
    }
    std::sort(out.items.begin(), out.items.end());
    out.block = 0;
  }
  double probability(const Report& report, uint32_t value) const override {
    return honest_.encoder().probability(report, value);
  }

 private:
  Protocol honest_;
  SubsetSelectionRates rates_;
};

TEST_CASE("the audit stays below the claimed epsilon for every protocol", "[audit]") {
  // 95% confidence per protocol and epsilon; a correct randomizer exceeds it with
  // probability at most 5%, and the seeds are fixed, so this is a fixed outcome.
  for (const ProtocolInfo& info : registered_protocols()) {
    for (double eps : {0.5, 2.0}) {
      const Protocol p = make_protocol(
          complete_params({.protocol = std::string(info.name), .k = 16, .epsilon = eps}));
      SeededRng rng(31);
      const AuditResult r = audit_epsilon(p, {.trials = 20000}, rng);
      INFO(info.name << " eps=" << eps << ": lower " << r.epsilon_lower << ", point "
                     << r.epsilon_point);
      CHECK(r.epsilon_lower <= eps);
      // And the bound is informative: within 0.6 of the claim at these sizes.
      CHECK(r.epsilon_lower > eps - 0.6);
    }
  }
}

TEST_CASE("the audit keeps its power where report probabilities underflow", "[audit]") {
  // At k = 5000 a unary or subset report's probability is far below the smallest double;
  // the audit compares log probabilities, so its bound stays informative.
  for (const char* name : {"ss", "mss", "sue", "oue"}) {
    const Protocol p =
        make_protocol(complete_params({.protocol = name, .k = 5000, .epsilon = 0.5}));
    SeededRng rng(8);
    const AuditResult r = audit_epsilon(p, {.trials = 10000}, rng);
    INFO(name << ": lower " << r.epsilon_lower);
    CHECK(r.epsilon_lower <= 0.5);
    CHECK(r.epsilon_lower > 0.2);
  }
}

TEST_CASE("the audit catches a leaky subset sampler", "[audit]") {
  const double eps = 1.0;
  const Protocol honest =
      make_protocol(complete_params({.protocol = "ss", .k = 20, .epsilon = eps}));
  const SubsetSelectionRates rates =
      subset_selection_rates(20, honest.params().subset_sizes[0], eps);
  const auto owner = std::make_shared<Protocol>(honest);
  const Protocol leaky(honest.params(), honest.shape(),
                       std::make_shared<LeakyEncoder>(honest, rates),
                       std::shared_ptr<const Estimator>(owner, &owner->estimator()),
                       std::shared_ptr<const Attack>(owner, &owner->attack()));
  SeededRng rng(5);
  const AuditResult r = audit_epsilon(leaky, {.trials = 200000}, rng);
  INFO("lower " << r.epsilon_lower << ", point " << r.epsilon_point);
  CHECK(r.epsilon_lower > eps);
}

TEST_CASE("the audit rejects bad options", "[audit]") {
  const Protocol p = make_protocol(complete_params({.protocol = "ss", .k = 16, .epsilon = 1}));
  SeededRng rng(1);
  CHECK_THROWS_WITH(audit_epsilon(p, {.value_a = 3, .value_b = 3}, rng), Catch::Contains("differ"));
  CHECK_THROWS_WITH(audit_epsilon(p, {.value_b = 16}, rng), Catch::Contains("[0, 16)"));
  CHECK_THROWS_AS(audit_epsilon(p, {.trials = 0}, rng), Error);
  CHECK_THROWS_AS(audit_epsilon(p, {.confidence = 1}, rng), Error);
}

}  // namespace
}  // namespace residue
