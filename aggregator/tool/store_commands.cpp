// `residue decode` and `residue verify`: the daemon's store read offline (a SQLite data
// directory, or a PostgreSQL store with every shard), through the same engine the daemon uses
// (estimates, verification), so what they print is what it serves.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "estimates.h"
#include "output.h"
#include "residue/core/error.h"
#include "tally_inputs.h"
#include "verify.h"

namespace residue {
namespace {

/// --data DIR or --postgres CONNINFO, exactly one.
struct StoreOption {
  std::string data, postgres;

  void add_to(CLI::App& cmd) {
    CLI::Option* d = cmd.add_option("--data", data, "The daemon's data directory (SQLite)");
    CLI::Option* p = cmd.add_option("--postgres", postgres,
                                    "Or: the libpq connection string of a PostgreSQL store");
    d->excludes(p);
  }
  /// What open_input_store and read_task_tally take.
  std::string input() const {
    if (data.empty() == postgres.empty()) throw Error("give --data DIR or --postgres CONNINFO.");
    if (data.empty()) return "postgres:" + postgres;
    if (!std::filesystem::is_directory(data)) {
      throw Error("--data: \"" + data + "\" is not a directory (the daemon's data_dir).");
    }
    return data;
  }
};

struct DecodeOptions {
  StoreOption store;
  std::string task, dictionary, postprocess = "none";
  std::size_t top = 20;
  bool json = false;
};

void decode(const DecodeOptions& o) {
  std::optional<Domain> dictionary;
  if (!o.dictionary.empty()) dictionary = load_dictionary(o.dictionary);
  const TaskEstimates e = estimate_input(o.store.input(), o.task, std::move(dictionary), o.top,
                                         parse_postprocess(o.postprocess));
  if (o.json) {
    std::cout << to_json(e).dump(2) << "\n";
    return;
  }
  const nlohmann::json last = iso8601_or_null(e.last_batch);
  std::cout << "task " << e.task << " (" << e.protocol_id << ", k=" << e.k << "): " << e.reports
            << " reports in " << e.batches << " batches, last "
            << (last.is_null() ? "never" : last.get<std::string>()) << "\n\n";
  Table t({"rank", "value", "frequency", "count", "stderr (count)"});
  for (std::size_t i = 0; i < e.top.size(); ++i) {
    const ValueEstimate& v = e.top[i];
    t.add({std::to_string(i + 1), v.value ? *v.value : std::to_string(v.index),
           format_number(v.frequency), format_number(v.count, 6),
           format_number(v.stderr_frequency * static_cast<double>(e.reports), 3)});
  }
  t.print(std::cout);
}

int verify(const StoreOption& data, bool json) {
  const std::unique_ptr<Store> store = open_input_store(data.input());
  const std::vector<TaskVerification> results = verify_store(*store);
  bool clean = true;
  nlohmann::json out = nlohmann::json::array();
  for (const TaskVerification& v : results) {
    clean = clean && v.problems.empty();
    out.push_back({{"task", v.task},
                   {"batches", v.batches},
                   {"reports", v.reports},
                   {"problems", v.problems}});
    if (!json) {
      std::cout << v.task << ": " << v.batches << " batches, " << v.reports << " reports: "
                << (v.problems.empty() ? "tally matches the raw batches" : "PROBLEMS") << "\n";
      for (const std::string& p : v.problems) std::cout << "  " << p << "\n";
    }
  }
  if (json) std::cout << nlohmann::json{{"clean", clean}, {"tasks", out}}.dump(2) << "\n";
  return clean ? 0 : 1;
}

}  // namespace

void add_store_commands(CLI::App& app) {
  auto d = std::make_shared<DecodeOptions>();
  CLI::App* decode_cmd =
      app.add_subcommand("decode", "Estimates of a task from the daemon's data directory");
  d->store.add_to(*decode_cmd);
  decode_cmd->add_option("--task", d->task, "Task name")->required();
  decode_cmd->add_option("--top", d->top, "Values to show")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  decode_cmd->add_option("--postprocess", d->postprocess, "none | clip | normsub")
      ->capture_default_str();
  decode_cmd->add_option("--dictionary", d->dictionary,
                         "The task's dictionary file, to show values");
  decode_cmd->add_flag("--json", d->json, "One JSON object on stdout");
  decode_cmd->callback([d] { decode(*d); });

  auto data = std::make_shared<StoreOption>();
  auto json = std::make_shared<bool>(false);
  CLI::App* verify_cmd = app.add_subcommand(
      "verify", "Recompute every tally from the stored raw batches and report any difference");
  data->add_to(*verify_cmd);
  verify_cmd->add_flag("--json", *json, "One JSON object on stdout");
  verify_cmd->callback([data, json] {
    if (verify(*data, *json) != 0) throw Error("verify: the store does not match its raw batches.");
  });
}

}  // namespace residue
