// `residue compare`: every protocol on the same sampled data, at several epsilons; results
// as CSV and JSON, and SVG charts of error, report size, decode time and attack rate.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.h"
#include "data.h"
#include "output.h"
#include "protocol_options.h"
#include "residue/core/error.h"
#include "simulation.h"
#include "svg_plot.h"

namespace residue {
namespace {

struct CompareOptions {
  ProtocolOptions protocols;
  uint32_t k = 0;
  std::vector<double> epsilons;
  PopulationOptions population;
  std::string out;
  bool json = false;
};

// One row per (protocol, epsilon); the CSV columns, in order.
const std::vector<std::string> kColumns = {
    "protocol",  "epsilon",     "mse",       "mse_theory",  "mse_ci95",
    "mse_clip",  "mse_normsub", "bits_mean", "bits_max",    "entropy_bits",
    "encode_ns", "tally_ms",    "decode_ms", "attack_rate", "attack_rate_theory"};

nlohmann::json row_of(const ProtocolResult& r, double epsilon) {
  nlohmann::json row = result_json(r);
  row["epsilon"] = epsilon;
  row["mse_ci95"] = 1.96 * r.mse_stderr;
  return row;
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw Error("--out: cannot write \"" + path.string() + "\".");
}

void write_charts(const std::filesystem::path& dir, const nlohmann::json& rows,
                  const CompareOptions& o) {
  struct Chart {
    const char* file;
    const char* field;
    ChartSpec spec;
  };
  const std::string setting = " (k=" + std::to_string(o.k) +
                              ", n=" + std::to_string(o.population.n) + ", " + o.population.data +
                              ", " + std::to_string(o.population.trials) + " trials)";
  const std::vector<Chart> charts = {
      {"mse.svg", "mse", {"Mean squared error" + setting, "epsilon", "MSE, frequency scale", true}},
      {"bits.svg", "bits_mean", {"Report size" + setting, "epsilon", "bits per report", true}},
      {"decode.svg", "decode_ms", {"Server decode time" + setting, "epsilon", "decode ms", true}},
      {"attack.svg",
       "attack_rate",
       {"Single-report reconstruction attack" + setting, "epsilon", "success rate", true}},
  };
  for (const Chart& c : charts) {
    std::map<std::string, ChartSeries> by_protocol;
    std::vector<std::string> order;
    for (const auto& row : rows) {
      const std::string name = row["protocol"];
      if (!by_protocol.count(name)) order.push_back(name);
      ChartSeries& s = by_protocol[name];
      s.name = name;
      s.x.push_back(row["epsilon"]);
      s.y.push_back(row[c.field].get<double>());
    }
    std::vector<ChartSeries> series;
    for (const std::string& name : order) series.push_back(by_protocol[name]);
    write_file(dir / c.file, render_line_chart(c.spec, series));
  }
}

void run(const CompareOptions& o) {
  if (o.epsilons.empty()) throw Error("--eps needs at least one value.");
  if (o.out.empty()) throw Error("--out needs a directory.");
  const Distribution data = load_distribution(o.population.data, o.k);
  const std::filesystem::path dir(o.out);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error("--out: cannot create \"" + o.out + "\": " + ec.message() + ".");

  nlohmann::json rows = nlohmann::json::array();
  ProgressBar bar("comparing");
  std::size_t done = 0;
  for (double eps : o.epsilons) {
    std::vector<Protocol> protocols;
    for (const BuiltProtocol& b : build_protocols(o.protocols, o.k, eps))
      protocols.push_back(b.protocol);
    const std::size_t total = o.epsilons.size() * protocols.size() * o.population.trials;
    // Same seed for every epsilon: trial t samples the same population throughout.
    const std::vector<ProtocolResult> results =
        run_simulation(o.population.config(o.k, eps), data, protocols,
                       [&](std::size_t d, std::size_t) { bar.update(done + d, total); });
    done += protocols.size() * o.population.trials;
    for (const ProtocolResult& r : results) rows.push_back(row_of(r, eps));
  }

  std::ostringstream csv;
  for (std::size_t c = 0; c < kColumns.size(); ++c) csv << (c ? "," : "") << kColumns[c];
  csv << "\n";
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < kColumns.size(); ++c) {
      const auto& v = row[kColumns[c]];
      csv << (c ? "," : "") << (v.is_string() ? v.get<std::string>() : v.dump());
    }
    csv << "\n";
  }
  const nlohmann::json out = {{"k", o.k},
                              {"n", o.population.n},
                              {"data", o.population.data},
                              {"trials", o.population.trials},
                              {"seed", o.population.seed},
                              {"epsilons", o.epsilons},
                              {"results", rows}};
  write_file(dir / "results.csv", csv.str());
  write_file(dir / "results.json", out.dump(2) + "\n");
  write_charts(dir, rows, o);

  if (o.json) {
    std::cout << out.dump(2) << "\n";
    return;
  }
  Table t({"protocol", "eps", "mse", "mse/theory", "mse normsub", "bits", "encode_ns", "decode_ms",
           "attack", "attack theory"});
  for (const auto& row : rows) {
    t.add({row["protocol"], format_number(row["epsilon"], 3), format_number(row["mse"]),
           format_number(row["mse"].get<double>() / row["mse_theory"].get<double>(), 3),
           format_number(row["mse_normsub"]), format_number(row["bits_mean"]),
           format_number(row["encode_ns"]), format_number(row["decode_ms"]),
           format_number(row["attack_rate"]), format_number(row["attack_rate_theory"])});
  }
  t.print(std::cout);
  std::cout << "\nwrote " << (dir / "results.csv").string() << ", results.json, mse.svg, bits.svg,"
            << " decode.svg, attack.svg\n";
}

}  // namespace

void add_compare_command(CLI::App& app) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Every protocol on the same data: accuracy, bits, speed, attack rate; CSV, JSON, SVG");
  o->protocols.names = {"all"};
  o->protocols.add_to(*cmd, "--protocols");
  cmd->add_option("--k", o->k, "Domain size")->required()->check(CLI::NonNegativeNumber);
  cmd->add_option("--eps", o->epsilons, "Privacy budgets, comma-separated")
      ->required()
      ->delimiter(',');
  o->population.add_to(*cmd);
  cmd->add_option("--out", o->out, "Directory for results.csv, results.json and the SVG charts")
      ->required();
  cmd->add_flag("--json", o->json, "Also print the JSON on stdout");
  cmd->callback([o] { run(*o); });
}

}  // namespace residue
