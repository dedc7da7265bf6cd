// `residue memory build | eval | query`: private retrieval memories (docs/memory.md); prepare is
// in memory_prepare.cpp. build simulates a population of clients reporting (cell, next token) under
// LDP, or decodes a task from the daemon's store, and writes a memory file; eval scores its arms on
// the test split; query prints the next-token distribution after a context.
#include "residue/memory/memory.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "commands.h"
#include "experiments/brown.h"
#include "experiments/memory_experiment.h"
#include "memory_stages.h"
#include "output.h"
#include "public_model_flags.h"
#include "residue/core/error.h"
#include "residue/core/stopwatch.h"
#include "residue/memory/memory_build.h"
#include "residue/memory/memory_evaluation.h"
#include "residue/memory/memory_query.h"
#include "residue/memory/memory_setup.h"
#include "residue/search/threads.h"
#include "tally_inputs.h"
#include "verify.h"

namespace residue {
namespace {

/// A progress bar per step of a build, on stderr when it is a terminal.
class StepProgress {
 public:
  void operator()(std::string_view step, int done, int total) {
    if (step != label_) {
      bar_.reset();
      label_ = std::string(step);
      bar_ = std::make_unique<ProgressBar>("memory build: " + label_);
    }
    bar_->update(static_cast<std::size_t>(done), static_cast<std::size_t>(total));
  }

 private:
  std::string label_;
  std::unique_ptr<ProgressBar> bar_;
};

std::string format_hyper(const MemoryArm& a) {
  std::ostringstream s;
  switch (a.kind) {
    case ArmKind::kBase:
      return "-";
    case ArmKind::kUniform:
      s << "lambda=" << a.hyper.lambda;
      break;
    case ArmKind::kUnigram:
      s << "alpha=" << format_number(a.hyper.alpha, 2) << " lambda=" << a.hyper.lambda;
      break;
    case ArmKind::kCells:
      s << "K=" << a.hyper.neighbours << " T=" << a.hyper.temperature
        << " alpha=" << format_number(a.hyper.alpha, 2) << " lambda=" << a.hyper.lambda;
      break;
  }
  return s.str();
}

// --- build ---------------------------------------------------------------------------------

struct BuildOptions : PublicModelFlags {
  // Simulated clients.
  std::optional<double> epsilon;
  std::optional<uint64_t> n;
  uint64_t seed = 1;
  double cells_share = 0.2, shortlist_share = 0.3;
  uint32_t cells_candidates = 64, shortlist_candidates = 0;
  double shortlist_significance = 0.5;
  std::string other_mass = "stage1";
  std::string stage_two = "project";
  // Or a task of the daemon's store; a stage-two task also reads its stage one and its artifact.
  std::string data, task, stage_one, artifact;
  // The public pieces (PublicModelFlags) and the split.
  uint64_t split_seed = 1;
  int threads = 0;
  std::string out;
  bool json = false;
};

nlohmann::json build_summary(const Memory& m, const std::string& out, double seconds) {
  nlohmann::json arms = nlohmann::json::array();
  for (const MemoryArm& a : m.arms()) {
    arms.push_back({{"name", a.name},
                    {"kind", arm_kind_name(a.kind)},
                    {"neighbours", a.hyper.neighbours},
                    {"temperature", a.hyper.temperature},
                    {"alpha", a.hyper.alpha},
                    {"lambda", a.hyper.lambda},
                    {"tuning_perplexity", a.tuning_perplexity}});
  }
  return {{"out", out},
          {"source", m.info().source},
          {"epsilon", m.info().epsilon},
          {"reports", m.info().reports},
          {"cells", m.cells()},
          {"vocab_words", m.tokens() - 1},
          {"split_seed", m.info().split_seed},
          {"default_arm", m.info().default_arm},
          {"settings", m.info().settings},
          {"arms", arms},
          {"seconds", seconds}};
}

// A stage-two task, its stage one and the pieces they were collected over, checked against
// each other (memory_stages.h).
struct StoredStage {
  Task task;
  Tally tally;
};
struct TwoStageInputs {
  StoredStage one, two;
  MemoryArtifact base;  // the pieces without the shortlist
  std::vector<uint32_t> shortlist;
};

TwoStageInputs read_two_stage(const BuildOptions& o, TaskTally& stored) {
  if (o.stage_one.empty() || o.artifact.empty()) {
    throw Error("--task: \"" + o.task +
                "\" is a stage-two (stage = \"shortlist\") task: give --stage-one TASK and "
                "--artifact FILE (its shortlist artifact).");
  }
  const ArtifactFile artifact = read_artifact_file(o.artifact);
  const ArtifactFile base = without_shortlist(artifact);
  Task two = stage_task(stored, artifact, MemoryStage::kShortlist);
  TaskTally one_stored = read_task_tally(o.data, o.stage_one);
  Task one = stage_task(one_stored, base, MemoryStage::kTokens);
  const std::span<const uint32_t> shortlist = artifact.artifact.shortlist();
  return {{std::move(one), std::move(one_stored.tally)},
          {std::move(two), std::move(stored.tally)},
          base.artifact,
          {shortlist.begin(), shortlist.end()}};
}

void build(const BuildOptions& o) {
  const bool from_store = !o.data.empty() || !o.task.empty();
  if (from_store) {
    if (o.data.empty() || o.task.empty()) throw Error("give both --data DIR and --task NAME.");
    if (o.epsilon || o.n) {
      throw Error("--eps and --n simulate clients; a task from --data has its own.");
    }
  } else if (!o.epsilon || !o.n) {
    throw Error("give --eps E --n N (simulated clients) or --data DIR --task NAME (a store).");
  }
  o.check();
  const Clock::time_point start = Clock::now();
  set_search_threads(o.threads);

  // Open the store first: a wrong task should fail before seconds of training.
  std::optional<Task> task;
  std::optional<Tally> tally;
  std::optional<TwoStageInputs> two_stage;
  if (from_store) {
    TaskTally stored = read_task_tally(o.data, o.task);
    const MemoryStage stage = memory_stage_of_domain_id(stored.record.domain_id);
    if (stage == MemoryStage::kShortlist) {
      two_stage.emplace(read_two_stage(o, stored));
    } else {
      if (stage == MemoryStage::kTokens) {
        throw Error("--task: \"" + o.task +
                    "\" is a stage-one (stage = \"tokens\") task: `residue memory shortlist` "
                    "reads it; build its stage-two task.");
      }
      if (!o.stage_one.empty() || !o.artifact.empty()) {
        throw Error(
            "--stage-one and --artifact are for a stage-two (stage = \"shortlist\") "
            "task; \"" +
            o.task + "\" is not one.");
      }
      task = task_from_record(stored.record);
      const ProtocolParams& p = task->protocol.params();
      const uint64_t k = uint64_t{o.cells} * (o.vocab + 1);
      if (p.protocol != "mss" || p.k != k) {
        throw Error(
            "--task: \"" + o.task + "\" is " + p.protocol + " with k = " + std::to_string(p.k) +
            "; a memory task must be mss with k = cells x (vocab + 1) = " + std::to_string(k) +
            " (--cells " + std::to_string(o.cells) + " --vocab " + std::to_string(o.vocab) + ").");
      }
      tally.emplace(std::move(stored.tally));
    }
  }

  const Corpus corpus = load_brown(o.data_dir);
  MemoryBuildOptions options;
  options.data_dir = o.data_dir;
  options.split_seed = o.split_seed;
  options.public_options.vocab_words = o.vocab;
  options.public_options.cells = o.cells;
  options.public_options.dimension = o.dimension;
  options.threads = o.threads > 0 ? static_cast<unsigned>(o.threads) : 0;
  PublicModel pub = [&] {
    ProgressBar bar("memory build: public vocabulary, LM, embeddings, codebook");
    bar.update(0, 1);
    return build_public_model(corpus, options.public_options);
  }();
  const double public_seconds = seconds_since(start);

  StepProgress progress;
  std::optional<Memory> memory;
  if (two_stage) {
    // The cells devices computed are the artifact's: the flags must rebuild its pieces.
    if (MemoryArtifact(pub.vocab, pub.encoder, pub.codebook).serialize() !=
        two_stage->base.serialize()) {
      throw Error("--cells, --vocab, --dimension and --data-dir do not make the public pieces of " +
                  o.artifact + ": give the flags it was prepared with.");
    }
    memory.emplace(memory_from_two_stage_tallies(
        corpus, pub, options, two_stage->shortlist,
        {o.stage_one, two_stage->one.task.protocol, two_stage->one.tally},
        {o.task, two_stage->two.task.protocol, two_stage->two.tally}, std::ref(progress)));
  } else if (from_store) {
    memory.emplace(memory_from_tally(corpus, pub, options, task->protocol, *tally, o.task,
                                     std::ref(progress)));
  } else {
    SimulationOptions sim;
    sim.epsilon = *o.epsilon;
    sim.reports = *o.n;
    sim.noise_seed = o.seed;
    for (TwoStageOptions* t : {&sim.cells_two_stage, &sim.shortlist_two_stage}) {
      t->other = parse_other_mass(o.other_mass);
      t->stage_two = parse_cell_postprocess(o.stage_two);
    }
    sim.cells_two_stage.share = o.cells_share;
    sim.cells_two_stage.candidates = o.cells_candidates;
    sim.shortlist_two_stage.share = o.shortlist_share;
    sim.shortlist_two_stage.candidates = o.shortlist_candidates;
    sim.shortlist_two_stage.significance = o.shortlist_significance;
    ProtocolCache protocols;
    memory.emplace(simulate_memory(corpus, pub, options, sim, protocols, std::ref(progress)));
  }
  // Record the public build time with the rest.
  MemoryInfo info = memory->info();
  info.settings["seconds"]["public"] = public_seconds;
  info.settings["seconds"]["total"] = seconds_since(start);
  const Memory built(std::move(info), memory->words(), memory->embeddings(), memory->codebook(),
                     memory->arms());
  memory.reset();
  built.write(o.out);
  const double seconds = seconds_since(start);

  if (o.json) {
    std::cout << build_summary(built, o.out, seconds).dump(2) << "\n";
    return;
  }
  const MemoryInfo& i = built.info();
  std::cout << "memory " << o.out << ": " << i.source << ", eps=" << i.epsilon << " n=" << i.reports
            << ", C=" << built.cells() << " V=" << built.tokens() - 1 << " d=" << built.dimension()
            << ", split seed " << i.split_seed << ", built in " << format_number(seconds, 3)
            << " s\n\n";
  Table t({"arm", "hyper-parameters (tuning split)", "tuning ppl"});
  for (const MemoryArm& a : built.arms()) {
    t.add({a.name, format_hyper(a), format_number(a.tuning_perplexity, 5)});
  }
  t.print(std::cout);
  std::cout << "\ndefault arm: " << i.default_arm
            << "; test perplexities: residue memory eval --memory " << o.out << "\n";
}

// --- eval ----------------------------------------------------------------------------------

struct EvalOptions {
  std::string memory, data_dir;
  int threads = 0;
  bool json = false;
};

void eval(const EvalOptions& o) {
  set_search_threads(o.threads);
  const Memory memory = Memory::read(o.memory);
  const std::string dir = o.data_dir.empty() ? memory.info().data_dir : o.data_dir;
  const Corpus corpus = load_brown(dir);
  const Clock::time_point lm_start = Clock::now();
  const KneserNey lm = memory_base_lm(memory, corpus);
  const double lm_seconds = seconds_since(lm_start);
  MemoryEvaluation e;
  {
    ProgressBar bar("memory eval: scoring the test split");
    bar.update(0, 1);
    e = evaluate_memory(memory, corpus, lm);
  }
  const MemoryInfo& i = memory.info();
  const bool nonprivate = memory.has_arm("nonprivate");
  const std::string no_nonprivate =
      "no non-private arm: the memory was built from a store, and nobody holds the clients' "
      "values";
  if (o.json) {
    nlohmann::json out = e.to_json();
    out["memory"] = o.memory;
    out["source"] = i.source;
    out["epsilon"] = i.epsilon;
    out["reports"] = i.reports;
    out["cells"] = memory.cells();
    out["vocab_words"] = memory.tokens() - 1;
    out["dimension"] = memory.dimension();
    out["split_seed"] = i.split_seed;
    out["default_arm"] = i.default_arm;
    out["settings"] = i.settings;
    out["timings"]["lm_train_seconds"] = lm_seconds;
    if (!nonprivate) out["note"] = no_nonprivate;
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "memory " << o.memory << ": " << i.source << ", eps=" << i.epsilon
            << " n=" << i.reports << ", C=" << memory.cells() << " V=" << memory.tokens() - 1
            << ", split seed " << i.split_seed << "; " << e.test_positions << " test positions\n\n";
  const double base = e.arms.empty() ? 0 : e.arm("base").test.perplexity;
  Table t({"arm", "hyper-parameters", "tuning ppl", "test ppl", "test ppl w/o unk", "vs base"});
  for (std::size_t a = 0; a < e.arms.size(); ++a) {
    const ArmEvaluation& r = e.arms[a];
    t.add({r.name, format_hyper(memory.arms()[a]), format_number(r.tuning_perplexity, 5),
           format_number(r.test.perplexity, 5), format_number(r.test.perplexity_known, 5),
           format_number(100 * (r.test.perplexity / base - 1), 3) + "%"});
  }
  t.print(std::cout);
  std::cout << "\n";
  if (!nonprivate) std::cout << no_nonprivate << ".\n";
  if (!e.best_control.empty()) std::cout << "best control: " << e.best_control << "\n";
  for (const auto& [name, gap] : e.gap_closed) {
    std::cout << "gap closed by " << name << ": " << format_number(gap, 3) << "\n";
  }
  std::cout << "timings: LM " << format_number(lm_seconds, 3) << " s, scoring "
            << format_number(e.scoring_seconds, 3) << " s, query "
            << format_number(e.query_microseconds, 3) << " us, batched search "
            << format_number(e.batched_search_microseconds, 3) << " us/key\n";
}

// --- query ---------------------------------------------------------------------------------

struct QueryOptions {
  std::string memory, context, arm, data_dir;
  std::size_t top = 10;
  bool json = false;
};

void query(const QueryOptions& o) {
  set_search_threads(1);
  const Memory memory = Memory::read(o.memory);
  const std::string dir = o.data_dir.empty() ? memory.info().data_dir : o.data_dir;
  const KneserNey lm = memory_base_lm(memory, load_brown(dir));
  const NextTokens next = next_tokens(memory, lm, o.context, o.top, o.arm);
  const Vocabulary vocab = memory.vocabulary();
  if (o.json) {
    std::cout << to_json(next, vocab).dump(2) << "\n";
    return;
  }
  std::cout << "context: <s>";
  for (uint32_t id : next.context) std::cout << ' ' << vocab.word(id);
  std::cout << "\narm " << next.arm << " (" << format_hyper(memory.arm(next.arm))
            << "); nearest cells:";
  for (std::size_t i = 0; i < next.cells.size(); ++i) {
    std::cout << ' ' << next.cells[i] << " (d=" << format_number(next.distances[i], 3) << ")";
  }
  std::cout << "\n\n";
  Table t({"rank", "token", "p", "p_mem", "p_LM"});
  for (std::size_t r = 0; r < next.top.size(); ++r) {
    const NextToken& n = next.top[r];
    t.add({std::to_string(r + 1), std::string(vocab.word(n.token)), format_number(n.p, 4),
           format_number(n.p_mem, 4), format_number(n.p_lm, 4)});
  }
  t.print(std::cout);
}

}  // namespace

void add_memory_command(CLI::App& app) {
  CLI::App* memory = app.add_subcommand(
      "memory",
      "Private retrieval memories: prepare a device's artifact, build from LDP reports, "
      "evaluate, query");
  memory->require_subcommand(1);

  auto b = std::make_shared<BuildOptions>();
  CLI::App* build_cmd = memory->add_subcommand(
      "build", "Build a memory file from simulated clients (--eps --n) or a store task");
  build_cmd->add_option("--eps", b->epsilon, "Simulated clients: epsilon per report");
  build_cmd->add_option("--n", b->n, "Simulated clients: number of reports (may exceed the text)");
  build_cmd->add_option("--seed", b->seed, "Simulated clients: seed of the population and noise")
      ->capture_default_str();
  build_cmd
      ->add_option("--cells-share", b->cells_share,
                   "ldp_2stage_cells: share of clients that find each cell's candidates")
      ->capture_default_str();
  build_cmd
      ->add_option("--cells-candidates", b->cells_candidates,
                   "ldp_2stage_cells: candidates per cell (L)")
      ->capture_default_str();
  build_cmd
      ->add_option("--shortlist-share", b->shortlist_share,
                   "ldp_2stage_shortlist: share of clients that find the shortlist")
      ->capture_default_str();
  build_cmd
      ->add_option("--shortlist-size", b->shortlist_candidates,
                   "ldp_2stage_shortlist: shortlist tokens (L); 0: adaptive")
      ->capture_default_str();
  build_cmd
      ->add_option("--shortlist-significance", b->shortlist_significance,
                   "ldp_2stage_shortlist, adaptive: keep tokens whose expected count per cell "
                   "exceeds this many noise standard deviations")
      ->capture_default_str();
  build_cmd
      ->add_option("--other-mass", b->other_mass,
                   "Two-stage arms: where a cell's other mass goes: drop | uniform | stage1")
      ->capture_default_str();
  build_cmd->add_option("--stage-two", b->stage_two, "Two-stage arms: clip | project")
      ->capture_default_str();
  build_cmd->add_option("--data", b->data,
                        "Or: a store holding the task: the daemon's data directory, "
                        "postgres:<conninfo>, or an exported tally file");
  build_cmd->add_option("--task", b->task, "  with the task (mss, k = cells x (vocab + 1))");
  build_cmd->add_option("--stage-one", b->stage_one,
                        "  a stage-two task (stage = \"shortlist\"): its stage-one task");
  build_cmd->add_option("--artifact", b->artifact,
                        "  a stage-two task: its artifact (the shortlist)");
  b->add_to(*build_cmd);
  build_cmd->add_option("--split-seed", b->split_seed, "Seed of the client/tuning/test split")
      ->capture_default_str();
  build_cmd->add_option("--threads", b->threads, "FAISS and tuning threads (0: all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  build_cmd->add_option("--out", b->out, "The memory file to write")->required();
  build_cmd->add_flag("--json", b->json, "One JSON object on stdout");
  build_cmd->callback([b] { build(*b); });

  auto e = std::make_shared<EvalOptions>();
  CLI::App* eval_cmd =
      memory->add_subcommand("eval", "Test perplexity of every arm of a memory file");
  eval_cmd->add_option("--memory", e->memory, "The memory file")->required();
  eval_cmd->add_option("--data-dir", e->data_dir,
                       "The corpus (default: the one it was built from)");
  eval_cmd->add_option("--threads", e->threads, "FAISS threads (0: all cores)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  eval_cmd->add_flag("--json", e->json, "One JSON object on stdout");
  eval_cmd->callback([e] { eval(*e); });

  auto q = std::make_shared<QueryOptions>();
  CLI::App* query_cmd =
      memory->add_subcommand("query", "The next-token distribution after a context");
  query_cmd->add_option("--memory", q->memory, "The memory file")->required();
  query_cmd->add_option("--context", q->context, "Words that start a sentence")->required();
  query_cmd->add_option("--top", q->top, "Tokens to show")->capture_default_str();
  query_cmd->add_option("--arm", q->arm, "The arm (default: the memory's default arm)");
  query_cmd->add_option("--data-dir", q->data_dir,
                        "The corpus (default: the one it was built from)");
  query_cmd->add_flag("--json", q->json, "One JSON object on stdout");
  query_cmd->callback([q] { query(*q); });

  add_memory_prepare_command(*memory);
  add_memory_shortlist_command(*memory);
}

}  // namespace residue
