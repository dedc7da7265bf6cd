// Every registered protocol, through the one interface and nothing else: its mechanism
// enumerated exactly on a small domain (probabilities sum to 1, every ratio at most e^eps),
// its sampler against that mechanism (chi-square), and its reports through the wire format
// (round trip; truncated and corrupted bytes rejected or parsed into well-formed reports).
// A new protocol is covered by adding its registry row.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>

#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"
#include "residue/wire/report_codec.h"
#include "support/protocol_oracle.h"

namespace residue {
namespace {

constexpr uint32_t kSmallK = 8;

Protocol small(const ProtocolInfo& info, double epsilon) {
  return make_protocol(
      complete_params({.protocol = std::string(info.name), .k = kSmallK, .epsilon = epsilon}));
}

TEST_CASE("every protocol's mechanism is a distribution within e^eps", "[protocols][privacy]") {
  for (const ProtocolInfo& info : registered_protocols()) {
    for (double eps : {0.5, std::log(3.0), 2.5}) {
      INFO(info.name << " eps=" << eps);
      const testing::MechanismCheck m = testing::enumerate_mechanism(small(info, eps));
      CHECK(m.worst_total_error < 1e-9);
      CHECK(m.worst_ratio <= std::exp(eps) * (1 + 1e-9));
    }
  }
}

TEST_CASE("every protocol's log probability is the log of its probability", "[protocols]") {
  for (const ProtocolInfo& info : registered_protocols()) {
    const Protocol p = small(info, 1.3);
    testing::for_each_report(p.shape(), [&](const Report& r) {
      for (uint32_t x : {0u, 5u}) {
        INFO(info.name << " x=" << x);
        CHECK(p.encoder().log_probability(r, x) ==
              Approx(std::log(p.encoder().probability(r, x))).margin(1e-9));
      }
    });
  }
}

TEST_CASE("every protocol's sampler follows its mechanism", "[protocols][privacy]") {
  // Chi-square over all outputs for two inputs, cells expecting fewer than 5 draws pooled
  // into one (the usual validity condition); critical value at alpha = 1e-6 per input.
  constexpr int kDraws = 100000;
  for (const ProtocolInfo& info : registered_protocols()) {
    const Protocol p = small(info, 1.2);
    SeededRng rng(17);
    for (uint32_t x : {0u, kSmallK - 1}) {
      INFO(info.name << " x=" << x);
      std::map<std::pair<uint32_t, std::vector<uint32_t>>, int> seen;
      Report r;
      for (int i = 0; i < kDraws; ++i) {
        p.encoder().encode(x, rng, r);
        ++seen[{r.block, r.items}];
      }
      double chi2 = 0, pooled_expected = 0, pooled_seen = 0;
      int cells = 0;
      testing::for_each_report(p.shape(), [&](const Report& s) {
        const double expected = kDraws * p.encoder().probability(s, x);
        const auto it = seen.find({s.block, s.items});
        const double got = it == seen.end() ? 0 : it->second;
        if (expected < 5) {
          pooled_expected += expected;
          pooled_seen += got;
          return;
        }
        chi2 += (got - expected) * (got - expected) / expected;
        ++cells;
      });
      if (pooled_expected > 0) {
        chi2 += (pooled_seen - pooled_expected) * (pooled_seen - pooled_expected) / pooled_expected;
        ++cells;
      }
      REQUIRE(cells >= 2);
      CHECK(chi2 < testing::chi_square_critical(cells - 1, 1e-6));
    }
  }
}

TEST_CASE("every protocol's reports survive the wire and bad bytes are refused",
          "[protocols][wire]") {
  for (const ProtocolInfo& info : registered_protocols()) {
    const Protocol p = make_protocol(
        complete_params({.protocol = std::string(info.name), .k = 300, .epsilon = 1.5}));
    const ReportCodec codec(p.shape());
    SeededRng rng(23);
    for (int i = 0; i < 100; ++i) {
      INFO(info.name << " report " << i);
      const Report r = p.encoder().encode(static_cast<uint32_t>(rng.uniform(300)), rng);
      REQUIRE(codec.well_formed(r));
      const std::vector<uint8_t> bytes = codec.to_bytes(r);
      REQUIRE(8 * (bytes.size() - 1) >= codec.bit_length(r));
      const ParseResult<Report> back = codec.from_bytes(bytes);
      REQUIRE(back.ok());
      CHECK(back.value() == r);
      for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
        CHECK_FALSE(codec.from_bytes(std::span(bytes.data(), cut)).ok());
      }
      std::vector<uint8_t> corrupt = bytes;
      corrupt[1 + rng.uniform(corrupt.size() - 1)] ^= static_cast<uint8_t>(1 + rng.uniform(255));
      const ParseResult<Report> parsed = codec.from_bytes(corrupt);
      if (parsed.ok()) CHECK(codec.well_formed(parsed.value()));
    }
  }
}

}  // namespace
}  // namespace residue
