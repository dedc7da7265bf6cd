// `residue audit`: an empirical lower bound on the epsilon each protocol's randomizer really
// provides (protocols/audit.h), printed beside the claimed epsilon, with the event that gave it.
#include "residue/protocols/audit.h"

#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "output.h"
#include "protocol_options.h"
#include "residue/core/error.h"
#include "residue/random/seeded_rng.h"

namespace residue {
namespace {

struct AuditCommandOptions {
  ProtocolOptions protocols;
  uint32_t k = 0;
  double epsilon = 0;
  uint64_t trials = 100000;
  double confidence = 0.95;
  std::vector<uint32_t> values{0, 1};
  uint32_t inputs = 8;
  uint64_t seed = 1;
  bool json = false;
};

std::string join(const std::vector<uint32_t>& values) {
  std::string out;
  for (uint32_t v : values) out += (out.empty() ? "" : ", ") + std::to_string(v);
  return out;
}

// "position 6 is in the report: 20412 of 100000 reports for input 1, none for input 0"
std::string finding(const AuditResult& r) {
  auto hits = [&](uint64_t h) {
    return h == 0 ? std::string("none") : std::to_string(h) + " of " + std::to_string(r.trials);
  };
  return r.description + ": " + hits(r.hits_revealing) + " reports for input " +
         std::to_string(r.input_revealing) + ", " + hits(r.hits_other) + " for input " +
         std::to_string(r.input_other);
}

const char* kind_name(AuditEvent::Kind kind) {
  switch (kind) {
    case AuditEvent::Kind::kRevealing:
      return "revealing";
    case AuditEvent::Kind::kHolds:
      return "holds";
    case AuditEvent::Kind::kLacks:
      return "lacks";
    case AuditEvent::Kind::kClass:
      return "class";
  }
  return "";
}

void run(const AuditCommandOptions& o) {
  if (o.values.size() != 2) throw Error("--values takes two values, e.g. --values 0,1.");
  const AuditOptions options{.value_a = o.values[0],
                             .value_b = o.values[1],
                             .inputs = o.inputs,
                             .trials = o.trials,
                             .confidence = o.confidence};
  const std::vector<BuiltProtocol> built = build_protocols(o.protocols, o.k, o.epsilon);
  const std::vector<uint32_t> inputs = audit_inputs(o.k, options);
  nlohmann::json out = {{"k", o.k},
                        {"epsilon", o.epsilon},
                        {"trials", o.trials},
                        {"confidence", o.confidence},
                        {"values", o.values},
                        {"inputs", inputs},
                        {"results", nlohmann::json::array()}};
  Table table({"protocol", "claimed eps", "lower bound", "empirical eps", "worst event", "inputs",
               "hits", "verdict"});
  std::vector<std::string> violations;
  ProgressBar bar("auditing");
  for (std::size_t i = 0; i < built.size(); ++i) {
    const Protocol& p = built[i].protocol;
    SeededRng rng(o.seed, i);  // the audit's own draws; seeded so a finding can be replayed
    const AuditResult r = audit_epsilon(p, options, rng);
    const bool violation = r.epsilon_lower > r.epsilon_claimed;
    auto finite = [](double v) {
      return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
    };
    out["results"].push_back({{"protocol", p.params().protocol},
                              {"id", p.id()},
                              {"epsilon_claimed", r.epsilon_claimed},
                              {"epsilon_point", finite(r.epsilon_point)},
                              {"epsilon_lower", finite(r.epsilon_lower)},
                              {"event",
                               {{"description", r.description},
                                {"kind", kind_name(r.event.kind)},
                                {"class", r.event.block},
                                {"position", r.event.position},
                                {"complement", r.event.complement}}},
                              {"input_revealing", r.input_revealing},
                              {"input_other", r.input_other},
                              {"hits_revealing", r.hits_revealing},
                              {"hits_other", r.hits_other},
                              {"violation", violation}});
    table.add({p.params().protocol, format_number(r.epsilon_claimed),
               format_number(r.epsilon_lower), format_number(r.epsilon_point), r.description,
               std::to_string(r.input_revealing) + " / " + std::to_string(r.input_other),
               std::to_string(r.hits_revealing) + " / " + std::to_string(r.hits_other),
               violation ? "VIOLATES the claimed epsilon" : "ok"});
    if (violation) violations.push_back(p.params().protocol + ": " + finding(r));
    bar.update(i + 1, built.size());
  }
  if (o.json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "audit: k=" << o.k << " eps=" << o.epsilon << ", " << o.trials
            << " reports for each of the inputs " << join(inputs) << ", " << 100 * o.confidence
            << "% confidence over the whole search\n"
            << "events: the claimed mechanism's revealing sets for " << o.values[0] << " and "
            << o.values[1]
            << ", every report position and class, and their complements"
               " (docs/attacks.md); the worst is shown\n\n";
  table.print(std::cout);
  if (!violations.empty()) std::cout << "\nWhat leaks:\n";
  for (const std::string& v : violations) std::cout << "  " << v << "\n";
}

}  // namespace

void add_audit_command(CLI::App& app) {
  auto o = std::make_shared<AuditCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "audit", "Empirical lower bound on each randomizer's epsilon, beside the claimed one");
  o->protocols.add_to(*cmd);
  cmd->add_option("--k", o->k, "Domain size")->required()->check(CLI::NonNegativeNumber);
  cmd->add_option("--eps", o->epsilon, "Claimed epsilon")->required();
  cmd->add_option("--trials", o->trials, "Reports drawn for each input")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--confidence", o->confidence, "Confidence of the lower bound")
      ->capture_default_str();
  cmd->add_option("--values", o->values, "The pair whose claimed revealing sets are tested")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--inputs", o->inputs,
                  "Inputs reports are drawn for: the pair, 0, k-1 and values spread over [0, k)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", o->seed, "Seed of the audit's draws")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", o->json, "One JSON object on stdout");
  cmd->callback([o] { run(*o); });
}

}  // namespace residue
