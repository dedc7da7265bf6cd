// The protocol flags shared by subcommands that build protocols (--protocol, --ell,
// --max-inflation, --moduli) and how they become validated Protocols; the population flags of
// the subcommands that simulate (--n, --data, --trials, --seed).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "residue/protocols/mss_moduli.h"
#include "residue/protocols/protocol.h"
#include "simulation.h"

namespace residue {

struct ProtocolOptions {
  std::vector<std::string> names{"mss"};
  uint32_t ell = 0;  // 0: searched
  double max_inflation = ModuliOptions{}.max_inflation;
  std::vector<uint32_t> moduli;

  /// Registers `flag` (comma-separated protocol names, or "all"), --ell, --max-inflation,
  /// --moduli.
  void add_to(CLI::App& command, const std::string& flag = "--protocol");
  ModuliOptions moduli_options() const;
};

struct BuiltProtocol {
  Protocol protocol;
  /// For MSS: the moduli search behind it (predicted inflation, trade-off curve).
  std::optional<ModuliChoice> moduli_choice;
};

/// Builds every protocol named in `options` ("all": every registered one) for (k, epsilon).
/// Throws Error naming the bad argument.
std::vector<BuiltProtocol> build_protocols(const ProtocolOptions& options, uint32_t k,
                                           double epsilon);

/// The simulated population of `residue simulate` and `residue compare`.
struct PopulationOptions {
  uint64_t n = 0;
  std::string data = "zipf:1.1";
  uint32_t trials = 10;
  uint64_t seed = 1;

  /// Registers --n (required), --data, --trials, --seed.
  void add_to(CLI::App& command);
  SimulationConfig config(uint32_t k, double epsilon) const;
};

}  // namespace residue
