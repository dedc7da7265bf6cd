// The simulation behind `residue simulate`, `residue compare` and the benchmarks: many
// clients randomize values drawn from a Distribution, every report goes through the wire
// codec and into a tally, an attacker guesses each value from its report, and the estimate
// (unbiased, clipped, projected) is scored against the truth and the closed-form theory.
//
// Every protocol sees the same sampled population in a trial. Randomness is SeededRng
// (reproducible from --seed; simulation only, not private).
//
//   SimulationConfig c{.k = 1024, .epsilon = 1, .n = 100000, .trials = 20};
//   std::vector<ProtocolResult> r = run_simulation(c, distribution, protocols);
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data.h"
#include "residue/protocols/protocol.h"

namespace residue {

struct SimulationConfig {
  uint32_t k = 0;
  double epsilon = 0;
  uint64_t n = 0;
  uint32_t trials = 1;
  uint64_t seed = 1;
};

/// Means over trials unless noted; MSE is on the frequency scale.
struct ProtocolResult {
  Protocol protocol;
  double mse = 0;
  double mse_stderr = 0;  ///< standard error of `mse` across trials (0 for one trial)
  double mse_theory = 0;  ///< closed-form expected MSE for the population's frequencies
  double bits_mean = 0;   ///< of the reports actually encoded
  std::size_t bits_max = 0;
  double entropy_bits = 0;  ///< mean entropy bound of the report (wire/report_codec.h)
  double encode_ns = 0;     ///< per report
  double wire_ns = 0;       ///< per report: write + strict read back
  double tally_ms = 0;
  double decode_ms = 0;
  double mse_clip = 0;            ///< MSE of the clipped estimate, max(f, 0)
  double mse_normsub = 0;         ///< MSE of the estimate projected onto the simplex (Norm-Sub)
  double attack_rate = 0;         ///< share of reports whose single-report attack guessed right
  double attack_rate_theory = 0;  ///< sum_v f_v Attack::success(v) for the population
  int solver_iterations = 0;      ///< last trial
  // The last trial, for tables of individual values.
  std::vector<double> last_truth;  ///< true frequencies
  Estimate last_estimate;
  Tally last_tally;
};

/// Called after each (trial, protocol) with the number done and the total.
using ProgressCallback = std::function<void(std::size_t done, std::size_t total)>;

/// How many reports of `shape` to handle per chunk, so each phase can be timed without a
/// clock read per report, and a batch tally keeps each block in cache, while memory stays
/// bounded (about 64 MiB of positions).
std::size_t reports_per_chunk(const ReportShape& shape, uint64_t n);

/// The measurements of `r` as JSON, keyed by the field names above (and "protocol", "id"):
/// what `residue simulate` and `residue compare` print and the Python module returns.
nlohmann::json result_json(const ProtocolResult& r);

/// Runs the trials. Throws Error if a protocol's k differs from the config's.
std::vector<ProtocolResult> run_simulation(const SimulationConfig& config, const Distribution& data,
                                           const std::vector<Protocol>& protocols,
                                           const ProgressCallback& progress = {});

}  // namespace residue
