#include "protocol_options.h"

#include "residue/core/error.h"
#include "residue/protocols/registry.h"

namespace residue {

void ProtocolOptions::add_to(CLI::App& command, const std::string& flag) {
  std::string known;
  for (const ProtocolInfo& info : registered_protocols()) {
    known += (known.empty() ? "" : ", ") + std::string(info.name);
  }
  command.add_option(flag, names, "Protocols, comma-separated (" + known + "), or all")
      ->delimiter(',')
      ->capture_default_str();
  command.add_option("--ell", ell, "MSS: number of moduli (default: searched)")
      ->check(CLI::NonNegativeNumber);
  command
      .add_option("--max-inflation", max_inflation,
                  "MSS: largest predicted MSE inflation over SS when choosing moduli")
      ->capture_default_str();
  command.add_option("--moduli", moduli, "MSS: explicit moduli, comma-separated")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
}

ModuliOptions ProtocolOptions::moduli_options() const {
  ModuliOptions o;
  if (ell != 0) o.ell = ell;
  o.max_inflation = max_inflation;
  o.moduli = moduli;
  return o;
}

std::vector<BuiltProtocol> build_protocols(const ProtocolOptions& options, uint32_t k,
                                           double epsilon) {
  if (options.names.empty()) throw Error("--protocol names no protocol.");
  std::vector<std::string> names = options.names;
  if (names == std::vector<std::string>{"all"}) {
    names.clear();
    for (const ProtocolInfo& info : registered_protocols()) names.emplace_back(info.name);
  }
  std::vector<BuiltProtocol> out;
  for (const std::string& name : names) {
    ProtocolParams params{.protocol = name, .k = k, .epsilon = epsilon};
    find_protocol(name);
    check_k_and_epsilon(params);
    std::optional<ModuliChoice> choice;
    if (name == "mss") {
      choice = select_moduli(k, epsilon, options.moduli_options());
      params.moduli = choice->chosen.moduli;
      params.subset_sizes = choice->chosen.subset_sizes;
    }
    out.push_back({make_protocol(params), std::move(choice)});
  }
  return out;
}

void PopulationOptions::add_to(CLI::App& command) {
  command.add_option("--n", n, "Clients (reports) per trial")
      ->required()
      ->check(CLI::NonNegativeNumber);
  command.add_option("--data", data, "zipf:S | uniform | spike | file:PATH")->capture_default_str();
  command.add_option("--trials", trials, "Independent trials")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command.add_option("--seed", seed, "Seed of the simulation (not private)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

SimulationConfig PopulationOptions::config(uint32_t k, double epsilon) const {
  return {.k = k, .epsilon = epsilon, .n = n, .trials = trials, .seed = seed};
}

}  // namespace residue
