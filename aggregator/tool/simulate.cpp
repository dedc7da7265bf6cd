// `residue simulate`: many simulated clients per trial, every protocol on the same data,
// scored against the truth and the closed-form theory.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "commands.h"
#include "data.h"
#include "output.h"
#include "protocol_options.h"
#include "simulation.h"

namespace residue {
namespace {

struct SimulateOptions {
  ProtocolOptions protocols;
  uint32_t k = 0;
  double epsilon = 0;
  PopulationOptions population;
  uint32_t top = 0;
  bool json = false;
};

std::string label(const Distribution& data, uint32_t v) {
  return data.domain() ? data.domain()->value_at(v) : std::to_string(v);
}

// The top values of the last trial by true count: true and estimated counts per protocol.
nlohmann::json top_values(const SimulateOptions& o, const Distribution& data,
                          const std::vector<ProtocolResult>& results) {
  const std::vector<double>& truth = results.front().last_truth;
  std::vector<uint32_t> order(truth.size());
  std::iota(order.begin(), order.end(), 0u);
  const std::size_t shown = std::min<std::size_t>(o.top, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(shown), order.end(),
                    [&](uint32_t a, uint32_t b) { return truth[a] > truth[b]; });
  order.resize(shown);
  nlohmann::json rows = nlohmann::json::array();
  for (uint32_t v : order) {
    rows.push_back({{"value", label(data, v)},
                    {"index", v},
                    {"true_count", truth[v] * static_cast<double>(o.population.n)}});
  }
  for (const ProtocolResult& r : results) {
    const std::vector<double> se = r.protocol.standard_errors(r.last_tally, r.last_estimate, order);
    for (std::size_t i = 0; i < order.size(); ++i) {
      rows[i]["estimates"][r.protocol.params().protocol] = {
          {"count", r.last_estimate.count(order[i])},
          {"stderr", se[i] * static_cast<double>(o.population.n)}};
    }
  }
  return rows;
}

nlohmann::json to_json(const SimulateOptions& o, const Distribution& data,
                       const std::vector<BuiltProtocol>& built,
                       const std::vector<ProtocolResult>& results) {
  nlohmann::json out = {{"k", o.k},
                        {"epsilon", o.epsilon},
                        {"n", o.population.n},
                        {"data", o.population.data},
                        {"trials", o.population.trials},
                        {"seed", o.population.seed},
                        {"results", nlohmann::json::array()}};
  if (!data.note().empty()) out["data_note"] = data.note();
  for (std::size_t i = 0; i < results.size(); ++i) {
    const ProtocolResult& r = results[i];
    nlohmann::json row = result_json(r);
    if (const auto& choice = built[i].moduli_choice) {
      row["moduli"] = r.protocol.params().moduli;
      row["predicted_inflation"] = choice->chosen.inflation;
      row["inflation_exact"] = choice->chosen.inflation_exact;
    }
    out["results"].push_back(std::move(row));
  }
  if (o.top > 0) out["top"] = top_values(o, data, results);
  return out;
}

void print_human(const SimulateOptions& o, const Distribution& data,
                 const std::vector<BuiltProtocol>& built,
                 const std::vector<ProtocolResult>& results) {
  std::cout << "simulate: k=" << o.k << " eps=" << o.epsilon << " n=" << o.population.n
            << " data=" << o.population.data << " trials=" << o.population.trials
            << " seed=" << o.population.seed << "\n";
  if (!data.note().empty()) std::cout << "data: " << data.note() << "\n";
  std::cout << "\n";
  Table t({"protocol", "mse", "mse_theory", "mse/theory", "bits_mean", "bits_max", "entropy",
           "encode_ns", "tally_ms", "decode_ms"});
  for (const ProtocolResult& r : results) {
    t.add({r.protocol.params().protocol, format_number(r.mse), format_number(r.mse_theory),
           format_number(r.mse / r.mse_theory, 3), format_number(r.bits_mean),
           std::to_string(r.bits_max), format_number(r.entropy_bits), format_number(r.encode_ns),
           format_number(r.tally_ms), format_number(r.decode_ms)});
  }
  t.print(std::cout);
  std::cout << "\noverall error, root mean squared error per value in counts (n x sqrt(mse)):";
  for (const ProtocolResult& r : results) {
    std::cout << ' ' << r.protocol.params().protocol << ' '
              << format_number(static_cast<double>(o.population.n) * std::sqrt(r.mse));
  }
  std::cout << "\n";
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (const auto& choice = built[i].moduli_choice) {
      const ProtocolParams& p = results[i].protocol.params();
      std::cout << "\nmss moduli (l=" << p.moduli.size() << "):";
      for (uint32_t m : p.moduli) std::cout << ' ' << m;
      std::cout << "\nmss predicted MSE inflation over ss: "
                << format_number(choice->chosen.inflation)
                << (choice->chosen.inflation_exact ? " (exact)" : " (estimated)")
                << "; solver iterations: " << results[i].solver_iterations << "\n";
    }
  }
  if (o.top == 0) return;
  const nlohmann::json rows = top_values(o, data, results);
  std::cout << "\ntop " << rows.size()
            << " values of the last trial (counts; estimate +- one standard error)\n";
  std::vector<std::string> header{"rank", "value", "true"};
  for (const ProtocolResult& r : results) header.push_back(r.protocol.params().protocol);
  Table top(header);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::vector<std::string> row{std::to_string(i + 1), rows[i]["value"].get<std::string>(),
                                 format_number(rows[i]["true_count"].get<double>(), 6)};
    for (const ProtocolResult& r : results) {
      const auto& e = rows[i]["estimates"][r.protocol.params().protocol];
      row.push_back(format_number(e["count"].get<double>(), 5) + " +- " +
                    format_number(e["stderr"].get<double>(), 3));
    }
    top.add(row);
  }
  top.print(std::cout);
}

}  // namespace

void add_simulate_command(CLI::App& app) {
  auto o = std::make_shared<SimulateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "simulate", "Simulate clients: accuracy, bits, speed of protocols against theory");
  o->protocols.add_to(*cmd);
  cmd->add_option("--k", o->k, "Domain size")->required()->check(CLI::NonNegativeNumber);
  cmd->add_option("--eps", o->epsilon, "Privacy budget epsilon per report")->required();
  o->population.add_to(*cmd);
  cmd->add_option("--top", o->top, "Also show the N most frequent values of the last trial")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", o->json, "One JSON object on stdout");
  cmd->callback([o] {
    const Distribution data = load_distribution(o->population.data, o->k);
    std::vector<BuiltProtocol> built;
    {
      ProgressBar bar("choosing protocol parameters");
      bar.update(0, 1);
      built = build_protocols(o->protocols, o->k, o->epsilon);
    }
    std::vector<Protocol> protocols;
    for (const BuiltProtocol& b : built) protocols.push_back(b.protocol);
    std::vector<ProtocolResult> results;
    {
      ProgressBar bar("simulating");
      results =
          run_simulation(o->population.config(o->k, o->epsilon), data, protocols,
                         [&bar](std::size_t done, std::size_t total) { bar.update(done, total); });
    }
    if (o->json) {
      std::cout << to_json(*o, data, built, results).dump(2) << "\n";
    } else {
      print_human(*o, data, built, results);
    }
  });
}

}  // namespace residue
