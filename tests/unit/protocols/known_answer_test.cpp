// Known answers: a fixed seed and fixed inputs must give exactly the report bytes checked in
// under tests/data/known_answers.txt, so a change to a sampler or to the wire encoding cannot
// pass unnoticed. After a deliberate change (and a protocol version bump), regenerate with
//   RESIDUE_UPDATE_KNOWN_ANSWERS=1 build/tests/residue_unit_tests "[known_answer]"
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "residue/core/hex.h"
#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"
#include "residue/wire/report_codec.h"

namespace residue {
namespace {

// One line per report: "<protocol id> <value> <hex bytes>".
std::string current_answers() {
  std::ostringstream out;
  for (const ProtocolParams& params :
       {ProtocolParams{.protocol = "ss", .k = 64, .epsilon = 1.0},
        ProtocolParams{.protocol = "mss", .k = 64, .epsilon = 1.0, .moduli = {53, 59, 61}},
        ProtocolParams{.protocol = "mss", .k = 1000, .epsilon = 4.0, .moduli = {503, 521, 557}},
        ProtocolParams{.protocol = "mss", .k = 1000, .epsilon = 7.0, .moduli = {503, 521, 557}},
        ProtocolParams{.protocol = "grr", .k = 64, .epsilon = 1.0},
        ProtocolParams{.protocol = "sue", .k = 64, .epsilon = 1.0},
        ProtocolParams{.protocol = "oue", .k = 64, .epsilon = 1.0},
        ProtocolParams{.protocol = "olh", .k = 64, .epsilon = 1.0},
        ProtocolParams{.protocol = "hr", .k = 64, .epsilon = 3.0},
        ProtocolParams{.protocol = "pgr", .k = 64, .epsilon = 2.0}}) {
    const Protocol p = make_protocol(params);
    const ReportCodec codec(p.shape());
    SeededRng rng(2024);  // known answers, not privacy
    for (uint32_t value = 0; value < 8; ++value) {
      out << p.id() << ' ' << value * 7 << ' '
          << to_hex(codec.to_bytes(p.encoder().encode(value * 7, rng))) << '\n';
    }
  }
  return out.str();
}

TEST_CASE("fixed seed and inputs give the checked-in report bytes", "[known_answer]") {
  const std::string path = std::string(RESIDUE_TEST_DATA_DIR) + "/known_answers.txt";
  const std::string now = current_answers();
  if (std::getenv("RESIDUE_UPDATE_KNOWN_ANSWERS") != nullptr) {
    std::ofstream(path) << now;
    WARN("rewrote " << path);
  }
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream stored;
  stored << in.rdbuf();
  CHECK(stored.str() == now);
}

}  // namespace
}  // namespace residue
