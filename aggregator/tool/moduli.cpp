// `residue moduli`: the MSS moduli chosen for (k, epsilon), and the trade-off it searched.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "output.h"
#include "protocol_options.h"
#include "residue/protocols/params.h"

namespace residue {
namespace {

struct ModuliCommandOptions {
  ProtocolOptions protocols;
  uint32_t k = 0;
  double epsilon = 0;
  bool json = false;
  bool quick = false;
};

nlohmann::json candidate_json(const ModuliCandidate& c) {
  return {{"moduli", c.moduli},
          {"ell", c.moduli.size()},
          {"subset_sizes", c.subset_sizes},
          {"spread", c.spread},
          {"inflation", c.inflation},
          {"main_term_inflation", c.main_term_inflation},
          {"inflation_exact", c.inflation_exact},
          {"bits", c.expected_bits},
          {"entropy_bits", c.entropy_bits}};
}

void run(const ModuliCommandOptions& o) {
  check_k_and_epsilon({.protocol = "mss", .k = o.k, .epsilon = o.epsilon});
  ModuliChoice choice;
  {
    ProgressBar bar("searching moduli");
    bar.update(0, 1);
    ModuliOptions options = o.protocols.moduli_options();
    options.explore = !o.quick;
    choice = select_moduli(o.k, o.epsilon, options);
  }
  const ModuliCandidate& c = choice.chosen;
  if (o.json) {
    nlohmann::json out = {
        {"k", o.k},
        {"epsilon", o.epsilon},
        {"max_inflation", o.protocols.max_inflation},
        {"meets_bound", choice.meets_bound},
        {"chosen", candidate_json(c)},
        {"ss", {{"bits", choice.ss_expected_bits}, {"variance", choice.ss_variance}}},
        {"searched", nlohmann::json::array()}};
    for (const ModuliCandidate& s : choice.searched) out["searched"].push_back(candidate_json(s));
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "moduli for k=" << o.k << " eps=" << o.epsilon << " (l=" << c.moduli.size() << "):";
  for (uint32_t m : c.moduli) std::cout << ' ' << m;
  std::cout << "\nsubset sizes:";
  for (uint32_t w : c.subset_sizes) std::cout << ' ' << w;
  std::cout << "\npredicted MSE inflation over ss: " << format_number(c.inflation)
            << (c.inflation_exact ? " (exact" : " (estimated") << "; main term alone "
            << format_number(c.main_term_inflation) << ")"
            << (choice.meets_bound ? ""
                : o.protocols.moduli.empty()
                    ? "  -- no candidate met --max-inflation; least inflated shown"
                    : "  -- above --max-inflation")
            << "\nbits per report: " << format_number(c.expected_bits) << " (entropy bound "
            << format_number(c.entropy_bits) << "); ss: " << format_number(choice.ss_expected_bits)
            << " -> " << format_number(c.expected_bits / choice.ss_expected_bits, 3) << "x\n\n";
  std::vector<ModuliCandidate> curve = choice.searched;
  std::sort(curve.begin(), curve.end(), [](const auto& a, const auto& b) {
    return a.spread != b.spread ? a.spread < b.spread : a.moduli.size() < b.moduli.size();
  });
  std::cout << "searched (spread: fraction of (k/2, k) the primes span)\n";
  Table t({"spread", "l", "smallest", "largest", "inflation", "bits", "bits/ss"});
  for (const ModuliCandidate& s : curve) {
    t.add({format_number(s.spread, 2), std::to_string(s.moduli.size()),
           std::to_string(s.moduli.front()), std::to_string(s.moduli.back()),
           format_number(s.inflation), format_number(s.expected_bits),
           format_number(s.expected_bits / choice.ss_expected_bits, 3)});
  }
  t.print(std::cout);
}

}  // namespace

void add_moduli_command(CLI::App& app) {
  auto o = std::make_shared<ModuliCommandOptions>();
  CLI::App* cmd =
      app.add_subcommand("moduli", "Choose MSS moduli for (k, epsilon) and show the trade-off");
  cmd->add_option("--k", o->k, "Domain size")->required()->check(CLI::NonNegativeNumber);
  cmd->add_option("--eps", o->epsilon, "Privacy budget epsilon per report")->required();
  cmd->add_option("--ell", o->protocols.ell, "Number of moduli (default: searched)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-inflation", o->protocols.max_inflation,
                  "Largest predicted MSE inflation over SS")
      ->capture_default_str();
  cmd->add_option("--moduli", o->protocols.moduli, "Evaluate these moduli instead of searching")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--quick", o->quick,
                "Search as simulate and the daemon do: stop at the cheapest windows that meet the "
                "bound instead of mapping the whole trade-off");
  cmd->add_flag("--json", o->json, "One JSON object on stdout");
  cmd->callback([o] { run(*o); });
}

}  // namespace residue
