// What a device links: the task's parameters as the daemon publishes them, the client half of
// each protocol, encoding with the CSPRNG and the report's wire bytes. CTest checks that the
// binary holds no estimator, solver, decoder, attack or moduli search (CMakeLists.txt).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "residue/protocols/client_protocol.h"
#include "residue/random/csprng.h"
#include "residue/wire/report_codec.h"

int main() {
  // One complete task per registered protocol; make_client_protocol links them all anyway.
  const char* const kTasks[] = {
      R"({"protocol": "mss", "k": 1000, "epsilon": 1, "moduli": [503, 509]})",
      R"({"protocol": "ss", "k": 1000, "epsilon": 1, "subset_sizes": [269]})",
      R"({"protocol": "grr", "k": 1000, "epsilon": 1})",
      R"({"protocol": "sue", "k": 1000, "epsilon": 1})",
      R"({"protocol": "oue", "k": 1000, "epsilon": 1})",
      R"({"protocol": "olh", "k": 1000, "epsilon": 1})",
      R"({"protocol": "hr", "k": 1000, "epsilon": 1})",
      R"({"protocol": "pgr", "k": 1000, "epsilon": 1})",
  };
  residue::Csprng rng;
  for (const char* task : kTasks) {
    const residue::ClientProtocol p =
        residue::make_client_protocol(residue::params_from_json(nlohmann::json::parse(task)));
    const std::vector<uint8_t> bytes =
        residue::ReportCodec(p.shape).to_bytes(p.encoder->encode(7, rng));
    const std::array<uint8_t, 16> fingerprint = residue::params_hash(p.params);
    std::printf("%s: %zu report bytes, params %02x%02x...\n", p.id.c_str(), bytes.size(),
                fingerprint[0], fingerprint[1]);
  }
  return 0;
}
