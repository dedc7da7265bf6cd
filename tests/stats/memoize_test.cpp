// Memoized reports (Memoize::kPermanent): over many device secrets, the one report a device
// sends for a value must be distributed exactly as the protocol's mechanism says, or the
// memoization would change the privacy and the estimates. Reports of two values under the
// same secret must be independent. Checked by chi-square against Encoder::probability, with
// the HMAC-DRBG derivations the Client uses (checked against a real Client first): from the
// index for a task without a dictionary, from the value itself for a dictionary task.
//
// Threshold: cells expecting fewer than 5 draws are pooled into one (the usual condition for
// the chi-square approximation), and the statistic is compared with the chi-square quantile
// at alpha = 1e-6 per check, so the six checks together raise a false alarm with
// probability about 6e-6. Each test also computes the statistic's noncentrality if the
// memoized reports followed a neighbouring value's distribution (a value mix-up) and requires
// it to be far above the threshold: such a bug could not pass.
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "residue/client/client.h"
#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"
#include "residue/wire/report_codec.h"
#include "support/client_fixture.h"
#include "support/protocol_oracle.h"

namespace residue {
namespace {

constexpr int kSecrets = 20000;
const std::string kTask = "memo-stats";

using Outcome = std::pair<uint32_t, std::vector<uint32_t>>;

std::vector<uint8_t> draw_secret(Rng& rng) {
  std::vector<uint8_t> secret(32);
  for (std::size_t i = 0; i < secret.size(); i += 8) {
    const uint64_t word = rng.next_u64();
    for (std::size_t b = 0; b < 8; ++b) secret[i + b] = static_cast<uint8_t>(word >> (8 * b));
  }
  return secret;
}

// Whose identity a memoized stream is derived from: the index (a task without a dictionary)
// or the value (a dictionary task, here of the values "v0", "v1", ...).
enum class Task { kIndices, kDictionary };

std::string value_name(uint32_t index) {
  std::string out = "v";
  out += std::to_string(index);
  return out;
}

Report memoized(const Protocol& p, std::span<const uint8_t> secret, uint32_t value, Task task) {
  HmacDrbg drbg = task == Task::kIndices
                      ? testing::memo_drbg(secret, p.params(), kTask, value)
                      : testing::memo_value_drbg(secret, p.params(), kTask, value_name(value));
  return p.encoder().encode(value, drbg);
}

// The memoized reports a Client queues for `value` under each of `secrets` equal the
// derivation's: what the statistics below sample is what devices send.
void check_client_derivation(const Protocol& p, const std::vector<std::vector<uint8_t>>& secrets,
                             uint32_t value, Task task) {
  testing::TempDir dir;
  const std::filesystem::path state = dir.path() / "state";
  std::optional<std::vector<std::string>> dictionary;
  if (task == Task::kDictionary) {
    dictionary.emplace();
    for (uint32_t i = 0; i < p.params().k; ++i) dictionary->push_back(value_name(i));
  }
  testing::write_cached_task(state, kTask, p.params(), dictionary);
  for (const std::vector<uint8_t>& secret : secrets) {
    ClientOptions o = testing::offline_options(state, kTask);
    o.memoize = Memoize::kPermanent;
    o.device_secret = secret;
    const std::unique_ptr<Client> client = Client::open(o);
    REQUIRE((task == Task::kIndices ? client->record_index(value)
                                    : client->record(value_name(value))) == Status::kOk);
  }
  const std::vector<std::vector<uint8_t>> queued = testing::queued_reports(state, kTask);
  REQUIRE(queued.size() == secrets.size());
  const ReportCodec codec(p.shape());
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    INFO("secret " << i);
    CHECK(queued[i] == codec.to_bytes(memoized(p, secrets[i], value, task)));
  }
}

struct ChiSquare {
  double statistic = 0;
  int cells = 0;
  double critical = 0;
  double mixup_noncentrality = 0;  // what a report of `other` instead of `value` would give
};

// Chi-square of `seen` (counts of outcomes over n draws) against n * expected(outcome);
// cells expecting fewer than 5 pooled. `wrong(outcome)` is the alternative's probability.
template <typename Expected, typename Wrong>
ChiSquare chi_square(const std::map<Outcome, int>& seen, int n,
                     const std::vector<Outcome>& outcomes, Expected expected, Wrong wrong) {
  ChiSquare out;
  double pooled_expected = 0, pooled_seen = 0, pooled_wrong = 0;
  std::size_t matched = 0;
  for (const Outcome& o : outcomes) {
    const double e = n * expected(o);
    const double w = n * wrong(o);
    const auto it = seen.find(o);
    const double got = it == seen.end() ? 0 : it->second;
    matched += it != seen.end() ? static_cast<std::size_t>(it->second) : 0;
    if (e < 5) {
      pooled_expected += e;
      pooled_seen += got;
      pooled_wrong += w;
      continue;
    }
    out.statistic += (got - e) * (got - e) / e;
    out.mixup_noncentrality += (w - e) * (w - e) / e;
    ++out.cells;
  }
  if (pooled_expected > 0) {
    out.statistic +=
        (pooled_seen - pooled_expected) * (pooled_seen - pooled_expected) / pooled_expected;
    out.mixup_noncentrality +=
        (pooled_wrong - pooled_expected) * (pooled_wrong - pooled_expected) / pooled_expected;
    ++out.cells;
  }
  // Every draw is one of the enumerated outcomes (the encoder made nothing else).
  CHECK(matched == static_cast<std::size_t>(n));
  out.critical = testing::chi_square_critical(out.cells - 1, 1e-6);
  return out;
}

std::vector<Outcome> all_outcomes(const ReportShape& shape) {
  std::vector<Outcome> out;
  testing::for_each_report(shape, [&](const Report& r) { out.push_back({r.block, r.items}); });
  return out;
}

void check_memoized_distribution(const ProtocolParams& params, uint32_t value, uint64_t seed,
                                 Task task = Task::kIndices) {
  const Protocol p = make_protocol(complete_params(params));
  INFO(p.id() << " k=" << params.k << " eps=" << params.epsilon << " value " << value);
  SeededRng rng(seed);
  std::vector<std::vector<uint8_t>> secrets;
  for (int i = 0; i < kSecrets; ++i) secrets.push_back(draw_secret(rng));
  check_client_derivation(p, {secrets[0], secrets[1], secrets[2]}, value, task);

  std::map<Outcome, int> seen;
  for (const std::vector<uint8_t>& secret : secrets) {
    const Report r = memoized(p, secret, value, task);
    ++seen[{r.block, r.items}];
  }
  const uint32_t other = (value + 1) % params.k;
  const auto report = [](const Outcome& o) { return Report{.block = o.first, .items = o.second}; };
  const ChiSquare c = chi_square(
      seen, kSecrets, all_outcomes(p.shape()),
      [&](const Outcome& o) { return p.encoder().probability(report(o), value); },
      [&](const Outcome& o) { return p.encoder().probability(report(o), other); });
  INFO("chi2 " << c.statistic << " over " << c.cells << " cells, critical " << c.critical
               << ", value mix-up noncentrality " << c.mixup_noncentrality);
  REQUIRE(c.cells >= 2);
  CHECK(c.statistic < c.critical);
  CHECK(c.mixup_noncentrality > 10 * c.critical);
}

TEST_CASE("memoized mss reports follow the mechanism over device secrets", "[stats][memoize]") {
  check_memoized_distribution({.protocol = "mss", .k = 16, .epsilon = 1.0}, 9, 501);
}

TEST_CASE("memoized ss reports follow the mechanism over device secrets", "[stats][memoize]") {
  check_memoized_distribution({.protocol = "ss", .k = 12, .epsilon = 1.0}, 4, 502);
}

TEST_CASE("memoized grr reports follow the mechanism over device secrets", "[stats][memoize]") {
  check_memoized_distribution({.protocol = "grr", .k = 16, .epsilon = 1.0}, 0, 503);
}

TEST_CASE("memoized grr reports of dictionary values follow the mechanism over device secrets",
          "[stats][memoize]") {
  check_memoized_distribution({.protocol = "grr", .k = 16, .epsilon = 1.0}, 5, 505,
                              Task::kDictionary);
}

// Joint outcome (report of value 0, report of value 1) per secret, against the product of the
// two mechanisms: a derivation that ignored the value (or correlated the two streams) would
// put the mass on the diagonal.
void check_two_values_independent(Task task, uint64_t seed) {
  const Protocol p = make_protocol(complete_params({.protocol = "grr", .k = 8, .epsilon = 1.0}));
  SeededRng rng(seed);
  std::map<Outcome, int> seen;
  for (int i = 0; i < kSecrets; ++i) {
    const std::vector<uint8_t> secret = draw_secret(rng);
    const Report a = memoized(p, secret, 0, task), b = memoized(p, secret, 1, task);
    ++seen[{a.items.at(0), {b.items.at(0)}}];
  }
  std::vector<Outcome> pairs;
  for (uint32_t y0 = 0; y0 < 8; ++y0) {
    for (uint32_t y1 = 0; y1 < 8; ++y1) pairs.push_back({y0, {y1}});
  }
  const auto prob = [&](uint32_t y, uint32_t x) {
    return p.encoder().probability(Report{.block = 0, .items = {y}}, x);
  };
  const ChiSquare c = chi_square(
      seen, kSecrets, pairs,
      [&](const Outcome& o) { return prob(o.first, 0) * prob(o.second[0], 1); },
      // The alternative: one stream drives both reports (0 and 1 swapped, the rest equal).
      [&](const Outcome& o) {
        const uint32_t mapped = o.first == 0 ? 1 : o.first == 1 ? 0 : o.first;
        return o.second[0] == mapped ? prob(o.first, 0) : 0.0;
      });
  INFO("chi2 " << c.statistic << " over " << c.cells << " cells, critical " << c.critical
               << ", shared-stream noncentrality " << c.mixup_noncentrality);
  CHECK(c.statistic < c.critical);
  CHECK(c.mixup_noncentrality > 10 * c.critical);
}

TEST_CASE("memoized reports of two values under one secret are independent", "[stats][memoize]") {
  check_two_values_independent(Task::kIndices, 504);
}

TEST_CASE("memoized reports of two dictionary values under one secret are independent",
          "[stats][memoize]") {
  check_two_values_independent(Task::kDictionary, 506);
}

}  // namespace
}  // namespace residue
