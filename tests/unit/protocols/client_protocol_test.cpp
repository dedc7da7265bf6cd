// make_client_protocol: for every registered protocol, the encoder-only half a device builds
// agrees with make_protocol on everything a report depends on (completed parameters, id,
// shape, the encoder's bytes for the same coins, its probabilities) and refuses the same
// parameters with the same message. A new protocol is covered by its registry rows.
#include "residue/protocols/client_protocol.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"
#include "residue/wire/report_codec.h"

namespace residue {
namespace {

std::string describe(const ProtocolParams& p) {
  std::string out = p.protocol + " k=" + std::to_string(p.k) + " eps=" + std::to_string(p.epsilon);
  out += " moduli=" + std::to_string(p.moduli.size());
  out += " subset_sizes=" + std::to_string(p.subset_sizes.size());
  out += " seeds=" + std::to_string(p.seeds);
  return out;
}

// The message of the Error `build` throws, or nothing when it builds.
template <typename Build>
std::optional<std::string> error_of(Build build) {
  try {
    build();
  } catch (const Error& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

TEST_CASE("client protocol matches the full protocol for every registered protocol",
          "[protocols][client]") {
  uint64_t seed = 40;
  for (const ProtocolInfo& info : registered_protocols()) {
    for (const auto& [k, epsilon] : {std::pair{8u, 1.0}, std::pair{300u, 2.5}}) {
      const ProtocolParams params =
          complete_params({.protocol = std::string(info.name), .k = k, .epsilon = epsilon});
      INFO(describe(params));
      const Protocol full = make_protocol(params);
      // As a device gets them: the daemon's JSON.
      const ClientProtocol client = make_client_protocol(params_from_json(to_json(params)));
      CHECK(client.params == full.params());
      CHECK(client.params == params);
      CHECK(client.id == full.id());
      CHECK(client.id == protocol_id(params));
      CHECK(client.shape == full.shape());
      REQUIRE(client.encoder != nullptr);

      const ReportCodec codec(full.shape());
      SeededRng rng_full(++seed), rng_client(seed);
      Report a, b;
      for (uint32_t i = 0; i < 200; ++i) {
        const uint32_t x = (i * 37) % k;
        full.encoder().encode(x, rng_full, a);
        client.encoder->encode(x, rng_client, b);
        INFO("draw " << i << " value " << x);
        REQUIRE(a == b);
        REQUIRE(codec.to_bytes(a) == codec.to_bytes(b));
        if (i % 20 == 0) {
          for (uint32_t y : {0u, x, k - 1}) {
            CHECK(client.encoder->probability(a, y) == full.encoder().probability(a, y));
          }
        }
      }
      // The two did not merely agree by drawing nothing: the reports vary.
      SeededRng other(seed + 1000);
      bool varied = false;
      for (int i = 0; i < 50 && !varied; ++i) varied = client.encoder->encode(0, other) != a;
      CHECK(varied);
      CHECK_THROWS_AS(client.encoder->encode(k, rng_client, b), Error);
    }
  }
}

TEST_CASE("client protocol completes partial parameters as the full factory does",
          "[protocols][client]") {
  for (const ProtocolInfo& info : registered_protocols()) {
    const ProtocolParams partial{.protocol = std::string(info.name), .k = 64, .epsilon = 1.5};
    INFO(describe(partial));
    const std::optional<std::string> full_error = error_of([&] { make_protocol(partial); });
    const std::optional<std::string> client_error =
        error_of([&] { make_client_protocol(partial); });
    CHECK(client_error == full_error);
    if (!full_error) {
      CHECK(make_client_protocol(partial).params == make_protocol(partial).params());
    }
  }
}

// Parameters every factory must refuse: k and epsilon out of range, and fields the protocol
// does not read or that contradict (k, epsilon).
std::vector<ProtocolParams> invalid_params() {
  std::vector<ProtocolParams> out;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (const ProtocolInfo& info : registered_protocols()) {
    const std::string name(info.name);
    ProtocolParams good = complete_params({.protocol = name, .k = 64, .epsilon = 1.5});
    for (uint32_t k : {0u, 1u}) {
      ProtocolParams p = good;
      p.k = k;
      out.push_back(p);
    }
    for (double eps : {0.0, -1.0, nan, inf, 50.5}) {
      ProtocolParams p = good;
      p.epsilon = eps;
      out.push_back(p);
    }
    if (name != "mss") {
      ProtocolParams p = good;
      p.moduli = {31, 37};
      out.push_back(p);
    }
    if (name != "mss" && name != "ss") {
      ProtocolParams p = good;
      p.subset_sizes = {3};
      out.push_back(p);
    }
    if (name != "olh") {
      ProtocolParams p = good;
      p.seeds = 5;
      out.push_back(p);
    }
  }
  ProtocolParams ss = complete_params({.protocol = "ss", .k = 64, .epsilon = 1.5});
  for (std::vector<uint32_t> sizes : {std::vector<uint32_t>{0}, {64}, {3, 3}}) {
    ss.subset_sizes = sizes;
    out.push_back(ss);
  }
  ProtocolParams olh = complete_params({.protocol = "olh", .k = 64, .epsilon = 1.5});
  olh.seeds += 1;
  out.push_back(olh);
  const ProtocolParams mss = complete_params({.protocol = "mss", .k = 64, .epsilon = 1.5});
  ProtocolParams p = mss;
  p.moduli.clear();
  p.subset_sizes.clear();
  out.push_back(p);  // moduli are never chosen on a device
  p = mss;
  p.subset_sizes.pop_back();
  out.push_back(p);
  p = mss;
  p.moduli.back() = p.moduli.front();  // not pairwise coprime
  out.push_back(p);
  out.push_back({.protocol = "no-such-protocol", .k = 64, .epsilon = 1.5});
  out.push_back({.protocol = "", .k = 64, .epsilon = 1.5});
  out.push_back({.protocol = "MSS", .k = 64, .epsilon = 1.5});
  return out;
}

TEST_CASE("client protocol refuses what the full protocol refuses, with the same message",
          "[protocols][client]") {
  for (const ProtocolParams& params : invalid_params()) {
    INFO(describe(params));
    const std::optional<std::string> full_error = error_of([&] { make_protocol(params); });
    const std::optional<std::string> client_error = error_of([&] { make_client_protocol(params); });
    REQUIRE(full_error);  // the case is invalid
    CHECK_FALSE(full_error->empty());
    CHECK(client_error == full_error);
  }
}

}  // namespace
}  // namespace residue
