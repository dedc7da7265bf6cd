// `residue attack`: the single-report reconstruction attack against each protocol, its
// empirical success on simulated clients beside the exact expected rate (and, for MSS, the
// paper's Eq. 7 figure, which assumes equal residue classes).
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "data.h"
#include "output.h"
#include "protocol_options.h"
#include "residue/core/error.h"
#include "residue/protocols/mss.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

struct AttackOptions {
  ProtocolOptions protocols;
  uint32_t k = 0;
  double epsilon = 0;
  uint64_t n = 0;
  std::string data = "uniform";
  uint64_t seed = 1;
  bool json = false;
};

void run(const AttackOptions& o) {
  const Distribution data = load_distribution(o.data, o.k);
  if (o.n == 0) throw Error("--n must be at least 1.");
  std::vector<BuiltProtocol> built = build_protocols(o.protocols, o.k, o.epsilon);
  nlohmann::json out = {{"k", o.k},       {"epsilon", o.epsilon},
                        {"n", o.n},       {"data", o.data},
                        {"seed", o.seed}, {"results", nlohmann::json::array()}};
  Table table({"protocol", "empirical", "95% interval", "theory", "in interval", "paper Eq. 7"});
  ProgressBar bar("attacking");
  for (std::size_t i = 0; i < built.size(); ++i) {
    const Protocol& p = built[i].protocol;
    SeededRng population(o.seed, 0), clients(o.seed, 1 + 2 * i), attacker(o.seed, 2 + 2 * i);
    const std::vector<uint32_t> values = data.sample(o.n, population);
    Report report;
    uint64_t hits = 0;
    for (uint32_t v : values) {
      p.encoder().encode(v, clients, report);
      hits += p.attack().guess(report, attacker) == v;
    }
    double theory = 0;
    for (uint32_t v = 0; v < o.k; ++v) {
      if (data.probabilities()[v] > 0) theory += data.probabilities()[v] * p.attack().success(v);
    }
    // The reports are independent Bernoulli(theory) trials: the 95% interval of the observed
    // rate under the theory is theory +- 1.96 sqrt(theory (1 - theory) / n).
    const double rate = static_cast<double>(hits) / static_cast<double>(o.n);
    const double half = 1.96 * std::sqrt(theory * (1 - theory) / static_cast<double>(o.n));
    const bool inside = std::fabs(rate - theory) <= half;
    nlohmann::json row = {{"protocol", p.params().protocol},
                          {"id", p.id()},
                          {"attack_rate", rate},
                          {"attack_rate_theory", theory},
                          {"interval95", {theory - half, theory + half}},
                          {"in_interval", inside}};
    std::string eq7 = "-";
    if (p.params().protocol == "mss") {
      row["paper_eq7"] = mss_paper_attack_rate(p.params());
      eq7 = format_number(row["paper_eq7"].get<double>());
    }
    out["results"].push_back(row);
    table.add({p.params().protocol, format_number(rate),
               "[" + format_number(theory - half) + ", " + format_number(theory + half) + "]",
               format_number(theory), inside ? "yes" : "NO", eq7});
    bar.update(i + 1, built.size());
  }
  if (o.json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "attack: k=" << o.k << " eps=" << o.epsilon << " n=" << o.n << " data=" << o.data
            << "\nsingle-report reconstruction (docs/attacks.md): share of reports whose value the"
               " attacker guessed\n\n";
  table.print(std::cout);
}

}  // namespace

void add_attack_command(CLI::App& app) {
  auto o = std::make_shared<AttackOptions>();
  CLI::App* cmd = app.add_subcommand(
      "attack", "Single-report reconstruction attack: empirical success against the exact rate");
  o->protocols.add_to(*cmd);
  cmd->add_option("--k", o->k, "Domain size")->required()->check(CLI::NonNegativeNumber);
  cmd->add_option("--eps", o->epsilon, "Privacy budget epsilon per report")->required();
  cmd->add_option("--n", o->n, "Simulated clients (one report each)")
      ->required()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--data", o->data, "zipf:S | uniform | spike | file:PATH")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the simulation (not private)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", o->json, "One JSON object on stdout");
  cmd->callback([o] { run(*o); });
}

}  // namespace residue
