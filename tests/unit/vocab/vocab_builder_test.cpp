#include "residue/vocab/vocab_builder.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/protocols/tally_sampler.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

// Standard errors from a fixed table, remembering which units were asked for.
struct FixedErrors {
  std::vector<double> se;
  std::vector<uint32_t> asked;
  StderrFunction function() {
    return [this](std::span<const uint32_t> units) {
      std::vector<double> out;
      for (uint32_t u : units) {
        asked.push_back(u);
        out.push_back(se[u]);
      }
      return out;
    };
  }
};

std::vector<uint32_t> units_of(const std::vector<UnitEstimate>& admitted) {
  std::vector<uint32_t> out;
  for (const UnitEstimate& e : admitted) out.push_back(e.unit);
  return out;
}

}  // namespace

TEST_CASE("admission takes the U largest significant estimates", "[vocab_builder]") {
  const std::vector<double> f = {0.5, 0.1, 0.3, 0.05, 0.2, -0.1};
  FixedErrors errors{.se = std::vector<double>(6, 0.05), .asked = {}};
  // z = 3: significant means f > 0.15, i.e. units 0, 2 and 4.
  const Admission all = admit_units(f, errors.function(), {.z = 3, .max_units = 10});
  CHECK(units_of(all.admitted) == std::vector<uint32_t>{0, 2, 4});
  CHECK(all.admitted[1] == UnitEstimate{.unit = 2, .frequency = 0.3, .standard_error = 0.05});
  CHECK(all.z == 3);
  // A non-positive estimate cannot be significant: its standard error is never computed.
  for (uint32_t u : errors.asked) CHECK(f[u] > 0);
  CHECK(all.tested == 5);

  const Admission top2 = admit_units(f, errors.function(), {.z = 3, .max_units = 2});
  CHECK(units_of(top2.admitted) == std::vector<uint32_t>{0, 2});
  const Admission strict = admit_units(f, errors.function(), {.z = 7, .max_units = 10});
  CHECK(units_of(strict.admitted) == std::vector<uint32_t>{0});
}

TEST_CASE("admission judges each unit by its own standard error", "[vocab_builder]") {
  const std::vector<double> f = {0.5, 0.4, 0.3};
  FixedErrors errors{.se = {0.01, 1.0, 0.01}, .asked = {}};
  CHECK(units_of(admit_units(f, errors.function(), {.z = 3, .stop_after = 0}).admitted) ==
        std::vector<uint32_t>{0, 2});
  // stop_after = 1: the walk ends at the first insignificant unit.
  const Admission early = admit_units(f, errors.function(), {.z = 3, .stop_after = 1});
  CHECK(units_of(early.admitted) == std::vector<uint32_t>{0});
  CHECK(early.tested == 2);
}

TEST_CASE("admission rejects invalid options and wrong standard-error counts", "[vocab_builder]") {
  const std::vector<double> f = {0.5, 0.4};
  FixedErrors errors{.se = {0.01, 0.01}, .asked = {}};
  CHECK_THROWS_AS(admit_units(f, errors.function(), {.max_units = 0}), Error);
  CHECK_THROWS_AS(admit_units(f, errors.function(), {.z = -1}), Error);
  CHECK_THROWS_AS(admit_units(f, errors.function(), {.alpha = 1.5}), Error);
  auto short_errors = [](std::span<const uint32_t>) { return std::vector<double>{}; };
  CHECK_THROWS_AS(admit_units(f, short_errors, {.z = 3}), Error);
}

TEST_CASE("the Bonferroni threshold leaves alpha over k in the normal tail", "[vocab_builder]") {
  for (std::size_t k : {1u, 100u, 50000u}) {
    const double z = bonferroni_z(k, 0.05);
    CHECK(0.5 * std::erfc(z / std::sqrt(2.0)) ==
          Approx(0.05 / static_cast<double>(k)).epsilon(1e-9));
  }
  CHECK(bonferroni_z(1, 0.05) == Approx(1.644854).epsilon(1e-6));
  CHECK(admission_z({.z = 0}, 50000) == Approx(4.753424).epsilon(1e-6));
  CHECK(admission_z({.z = 3}, 50000) == 3);
  CHECK_THROWS_AS(bonferroni_z(0, 0.05), Error);
}

TEST_CASE("rounds add and remove units and log both", "[vocab_builder]") {
  VocabBuilder b;
  FixedErrors errors{.se = std::vector<double>(5, 0.05), .asked = {}};
  const RoundLog& r1 =
      b.add_round(std::vector<double>{0.5, 0.1, 0.3, 0.05, 0.2}, errors.function(),
                  {.z = 3, .max_units = 10}, {.kind = "simulated", .description = "first"});
  CHECK(r1.round == 1);
  CHECK(r1.added == std::vector<uint32_t>{0, 2, 4});
  CHECK(r1.removed.empty());
  CHECK(r1.admitted == 3);
  // Unit 4 falls below the bar, unit 1 rises above it.
  const RoundLog& r2 =
      b.add_round(std::vector<double>{0.5, 0.4, 0.3, 0.05, 0.1}, errors.function(),
                  {.z = 3, .max_units = 10}, {.kind = "simulated", .description = "second"});
  CHECK(r2.round == 2);
  CHECK(r2.added == std::vector<uint32_t>{1});
  CHECK(r2.removed == std::vector<uint32_t>{4});
  CHECK(units_of(b.admitted()) == std::vector<uint32_t>{0, 1, 2});
  // A smaller U removes significant units that leave the top U.
  const RoundLog& r3 =
      b.add_round(std::vector<double>{0.5, 0.4, 0.3, 0.05, 0.1}, errors.function(),
                  {.z = 3, .max_units = 1}, {.kind = "simulated", .description = "third"});
  CHECK(r3.added.empty());
  CHECK(r3.removed == std::vector<uint32_t>{1, 2});
  REQUIRE(b.log().size() == 3);
  CHECK(b.log()[0].source.description == "first");
  CHECK(b.log()[1].added == std::vector<uint32_t>{1});

  CHECK_NOTHROW(VocabBuilder(b.admitted(), b.log()));
  CHECK_THROWS_AS(VocabBuilder({{.unit = 1}, {.unit = 1}}, {}), Error);
  CHECK_THROWS_AS(VocabBuilder({}, {RoundLog{.round = 2}}), Error);
}

TEST_CASE("a round from an MSS tally admits the frequent values", "[vocab_builder]") {
  const Protocol mss = make_protocol(complete_params({.protocol = "mss", .k = 64, .epsilon = 4}));
  // Values 20, 3, 7 and 11 hold 40, 30, 20 and 10% of 200,000 reports, the rest nothing. At
  // eps 4 the standard error is ~0.002, so these are 50 or more standard errors out, while an
  // empty value passes the Bonferroni bound with probability 0.05 / 64 each.
  std::vector<uint64_t> counts(64, 0);
  counts[20] = 80000, counts[3] = 60000, counts[7] = 40000, counts[11] = 20000;
  SeededRng rng(5);
  const Tally tally = sample_tally(mss, counts, rng);
  VocabBuilder b;
  const RoundLog& r = b.add_round(mss, tally, {.max_units = 3}, {.kind = "simulated"});
  CHECK(r.source.reports == 200000);
  CHECK(r.z == Approx(bonferroni_z(64, 0.05)));
  // U = 3: the three largest of the four frequent values.
  CHECK(units_of(b.admitted()) == std::vector<uint32_t>{20, 3, 7});
  for (const UnitEstimate& e : b.admitted()) CHECK(e.standard_error > 0);
}

}  // namespace residue
