// `residue vocab build | update | search | tokenize | candidates | prepare | eval | bench`: dynamic
// vocabularies (docs/vocab.md). build picks candidate units from the public corpus, learns how to
// embed them, and admits those whose private estimates are significant (simulated clients, or a
// task of the daemon's store); update runs a later round on an existing file; search and tokenize
// use the admitted units; candidates writes the task's dictionary, prepare the device's task
// artifact; eval sweeps eps, n, z and U for precision/recall against the true top units; bench
// measures the index. The measurements are the experiments' (experiments/vocab_evaluation.h,
// index_bench.h); this file runs and prints them.
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "commands.h"
#include "experiments/brown.h"
#include "experiments/index_bench.h"
#include "experiments/unit_reports.h"
#include "experiments/vocab_evaluation.h"
#include "output.h"
#include "residue/core/error.h"
#include "residue/core/stopwatch.h"
#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"
#include "residue/retrieval/task_artifact.h"
#include "residue/search/threads.h"
#include "residue/vocab/vocab_file.h"
#include "residue/vocab/vocab_setup.h"
#include "tally_inputs.h"
#include "verify.h"

namespace residue {
namespace {

/// A bar for one phase of work that has no finer progress to show.
void phase(std::unique_ptr<ProgressBar>& bar, const std::string& label) {
  bar = std::make_unique<ProgressBar>("vocab: " + label);
  bar->update(0, 1);
}

// --- where a round's estimates come from -----------------------------------------------------

/// --eps E --n N [--seed S] (simulated clients) or --data DIR --task NAME (the daemon's store).
struct SourceOptions {
  std::optional<double> epsilon;
  std::optional<uint64_t> n;
  uint64_t seed = 1;
  std::string data, task;

  void add_to(CLI::App& cmd) {
    cmd.add_option("--eps", epsilon, "Simulated clients: the privacy budget of each report");
    cmd.add_option("--n", n, "Simulated clients: how many report (may exceed the text's units)")
        ->check(CLI::PositiveNumber);
    cmd.add_option("--seed", seed, "Simulated clients: seed of their draws and reports")
        ->capture_default_str();
    cmd.add_option("--data", data,
                   "Or: a store holding the task: the daemon's data directory, "
                   "postgres:<conninfo>, or an exported tally file");
    cmd.add_option("--task", task, "Or: the task (mss with k = the number of candidates)");
  }
  bool from_store() const { return !data.empty() || !task.empty(); }
  void check() const {
    if (from_store()) {
      if (data.empty() || task.empty()) throw Error("give both --data DIR and --task NAME.");
      if (epsilon || n)
        throw Error("--eps and --n simulate clients; a task from --data has its own.");
    } else if (!epsilon || !n) {
      throw Error("give --eps E --n N (simulated clients) or --data DIR --task NAME (a store).");
    }
  }
};

/// A task's protocol and tally, read from the daemon's store and checked against the
/// candidates it must count.
struct StoreRound {
  Protocol protocol;
  Tally tally;
};

StoreRound read_store_round(const SourceOptions& s, std::size_t candidates) {
  TaskTally stored = read_task_tally(s.data, s.task);
  const Task task = task_from_record(stored.record);
  const ProtocolParams& p = task.protocol.params();
  if (p.protocol != "mss" || p.k != candidates) {
    throw Error("--task: \"" + s.task + "\" is " + p.protocol + " with k = " + std::to_string(p.k) +
                "; a vocabulary task must be mss with k = " + std::to_string(candidates) +
                " (the candidate units; `residue vocab candidates` writes its dictionary).");
  }
  if (stored.tally.total_reports() == 0) {
    throw Error("--task: \"" + s.task + "\" has no reports yet.");
  }
  return {task.protocol, std::move(stored.tally)};
}

/// Runs one round on `f` (simulated or from the store) and syncs its index. Returns the
/// clients' occurrence counts for simulated rounds (empty otherwise).
std::vector<uint64_t> run_round(VocabFile& f, const SourceOptions& s, const Corpus* corpus) {
  std::unique_ptr<ProgressBar> bar;
  std::vector<uint64_t> occurrences;
  std::optional<StoreRound> round;
  RoundSource source;
  if (s.from_store()) {
    round.emplace(read_store_round(s, f.candidates.size()));
    source = {.kind = "store",
              .description = "data=" + s.data + " task=" + s.task,
              .epsilon = round->protocol.params().epsilon,
              .reports = round->tally.total_reports()};
  } else {
    occurrences = f.candidates.count_occurrences(domain_text(*corpus, f, false));
    phase(bar, "choosing MSS moduli for k = " + std::to_string(f.candidates.size()));
    const Protocol mss =
        make_protocol(complete_params({.protocol = "mss",
                                       .k = static_cast<uint32_t>(f.candidates.size()),
                                       .epsilon = *s.epsilon}));
    phase(bar, "simulating " + std::to_string(*s.n) + " clients");
    SeededRng rng(s.seed);
    SimulatedReports reports = simulate_unit_reports(mss, occurrences, *s.n, rng);
    round.emplace(StoreRound{mss, std::move(reports.tally)});
    std::ostringstream d;
    d << "eps=" << *s.epsilon << " n=" << *s.n << " seed=" << s.seed;
    source = {.kind = "simulated", .description = d.str(), .epsilon = *s.epsilon, .reports = *s.n};
  }
  bar = std::make_unique<ProgressBar>("vocab: estimating, testing and embedding units");
  add_tally_round(f, round->protocol, round->tally, source,
                  [&](std::size_t done, std::size_t total) { bar->update(done, total); });
  return occurrences;
}

/// The admitted units against the true top U of a simulated round (`occurrences`, from
/// run_round); nothing for a round from the store, whose clients' text nobody knows.
std::optional<AdmissionScore> simulated_score(const VocabFile& f,
                                              std::span<const uint64_t> occurrences) {
  if (occurrences.empty()) return std::nullopt;
  return score_admission(unit_ids(f.builder.admitted()), occurrences, f.params.admission.max_units);
}

nlohmann::json units_json(const VocabFile& f, std::span<const uint32_t> units) {
  nlohmann::json out = nlohmann::json::array();
  for (uint32_t u : units) out.push_back({{"id", u}, {"text", f.candidates.text(u, f.vocab)}});
  return out;
}

std::string units_text(const VocabFile& f, std::span<const uint32_t> units, std::size_t limit) {
  std::string out;
  for (std::size_t i = 0; i < units.size() && i < limit; ++i) {
    out += (i == 0 ? "" : ", ") + f.candidates.text(units[i], f.vocab);
  }
  if (units.size() > limit) out += ", ... (" + std::to_string(units.size() - limit) + " more)";
  return out.empty() ? "-" : out;
}

nlohmann::json round_summary(const VocabFile& f, const RoundLog& r) {
  nlohmann::json out = to_json(r);  // with the units as text instead of ids
  out["added"] = units_json(f, r.added);
  out["removed"] = units_json(f, r.removed);
  return out;
}

nlohmann::json fits_json(const VocabFile& f) {
  nlohmann::json out = nlohmann::json::array();
  for (const MapFit& m : f.embedder.fits()) {
    out.push_back({{"length", m.length},
                   {"units", m.units},
                   {"held_out", m.held_out},
                   {"ridge", m.ridge},
                   {"heldout_cosine_map", m.heldout_cosine_map},
                   {"heldout_cosine_mean", m.heldout_cosine_mean},
                   {"train_cosine_map", m.train_cosine_map},
                   {"serves", m.linear ? "map" : "mean"}});
  }
  return out;
}

void print_round(const VocabFile& f, const RoundLog& r) {
  std::cout << "round " << r.round << " (" << r.source.kind << ": " << r.source.description << ", "
            << r.source.reports << " reports): z = " << format_number(r.z, 4)
            << ", U = " << r.max_units << ", " << r.tested << " units tested, " << r.admitted
            << " admitted\n  added (" << r.added.size() << "): " << units_text(f, r.added, 20)
            << "\n  removed (" << r.removed.size() << "): " << units_text(f, r.removed, 20) << "\n";
}

void print_top(const VocabFile& f, std::size_t limit) {
  const RoundLog& last = f.builder.log().back();
  Table t({"rank", "unit", "id", "est. frequency", "est. count", "stderr (count)", "public count"});
  for (std::size_t i = 0; i < f.builder.admitted().size() && i < limit; ++i) {
    const UnitEstimate& e = f.builder.admitted()[i];
    const auto reports = static_cast<double>(last.source.reports);
    t.add({std::to_string(i + 1), f.candidates.text(e.unit, f.vocab), std::to_string(e.unit),
           format_number(e.frequency), format_number(e.frequency * reports, 5),
           format_number(e.standard_error * reports, 3),
           std::to_string(f.candidates.public_count(e.unit))});
  }
  t.print(std::cout);
}

void print_score(const AdmissionScore& e, std::size_t admitted) {
  std::cout << "against the true top " << e.true_top << " units of the clients' text: precision "
            << format_number(e.precision, 3) << ", recall " << format_number(e.recall, 3) << " ("
            << e.hits << " of " << admitted << " admitted are in it; " << e.absent
            << " admitted units never occur)\n";
}

void print_reductions(const LengthReductions& r, std::size_t admitted, std::size_t max_units) {
  std::cout << "held-out test text: " << r.admitted.words << " words -> " << r.admitted.tokens
            << " tokens with the " << admitted
            << " admitted units: " << format_number(100 * r.admitted.reduction(), 3) << "% shorter";
  std::vector<std::string> truth;
  if (r.true_same) {
    truth.push_back("true top " + std::to_string(admitted) + ": " +
                    format_number(100 * r.true_same->reduction(), 3) + "%");
  }
  if (r.true_u && max_units != admitted) {
    truth.push_back("true top " + std::to_string(max_units) + ": " +
                    format_number(100 * r.true_u->reduction(), 3) + "%");
  }
  for (std::size_t i = 0; i < truth.size(); ++i) {
    std::cout << (i == 0 ? " (" : ", ") << truth[i] << (i + 1 == truth.size() ? ")" : "");
  }
  std::cout << "\n";
}

// --- build -----------------------------------------------------------------------------------

struct BuildOptions {
  SourceOptions source;
  std::size_t candidates = 50'000;
  AdmissionOptions admission;
  uint32_t vocab_words = 4096, dimension = 64;
  std::size_t public_units = 2048;
  uint64_t split_seed = 1;
  std::string data_dir = std::string(kBrownDir);
  std::string out;
  bool json = false;
};

void build(const BuildOptions& o) {
  o.source.check();
  (void)admission_z(o.admission, o.candidates);  // invalid z / U fail before any work
  if (o.vocab_words == 0) throw Error("--vocab-words must be at least 1.");
  const Clock::time_point start = Clock::now();
  set_search_threads(1);
  std::unique_ptr<ProgressBar> bar;
  phase(bar, "loading the corpus");
  const Corpus corpus = load_brown(o.data_dir);
  VocabParams params;
  params.corpus = o.data_dir;
  params.vocab_words = o.vocab_words;
  params.candidates.max_units = o.candidates;
  params.split_seed = o.split_seed;
  params.embedding.public_units = o.public_units;
  params.embedding.embedding.dimension = o.dimension;
  params.admission = o.admission;
  VocabFile f =
      new_vocab_file(corpus, params, [&](std::string_view step) { phase(bar, std::string(step)); });
  bar.reset();
  const double public_seconds = seconds_since(start);
  const std::vector<uint64_t> occurrences = run_round(f, o.source, &corpus);
  f.write(o.out);
  const std::optional<AdmissionScore> e = simulated_score(f, occurrences);
  const LengthReductions r = length_reductions(f, corpus);
  bar.reset();
  const double seconds = seconds_since(start);
  const RoundLog& round = f.builder.log().back();
  if (o.json) {
    nlohmann::json out = {
        {"out", o.out},
        {"candidates", f.candidates.size()},
        {"vocab_words", o.vocab_words},
        {"split_seed", o.split_seed},
        {"round", round_summary(f, round)},
        {"fits", fits_json(f)},
        {"length_reduction", to_json(r)},
        {"index", {{"entries", f.index.size()}, {"structure", to_string(f.index.active_kind())}}},
        {"seconds", {{"public", public_seconds}, {"total", seconds}}}};
    if (e) {
      out["evaluation"] = to_json(*e);
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "vocabulary " << o.out << ": " << f.candidates.size()
            << " candidate units (V = " << o.vocab_words << " words), built in "
            << format_number(seconds, 3) << " s\n\n";
  print_round(f, round);
  std::cout << "\n";
  print_top(f, 15);
  std::cout << "\n";
  if (e) print_score(*e, f.builder.admitted().size());
  print_reductions(r, f.builder.admitted().size(), o.admission.max_units);
  std::cout << "embeddings (held-out mean cosine to the learned vectors):";
  for (const MapFit& m : f.embedder.fits()) {
    std::cout << " length " << m.length << ": map " << format_number(m.heldout_cosine_map, 3)
              << ", mean of words " << format_number(m.heldout_cosine_mean, 3) << " (" << m.units
              << " units, serves " << (m.linear ? "map" : "mean") << ");";
  }
  std::cout << "\n";
}

// --- update ----------------------------------------------------------------------------------

struct UpdateOptions {
  std::string vocab, out, data_dir;
  SourceOptions source;
  std::optional<double> z;
  std::optional<std::size_t> max_units;
  bool json = false;
};

void update(const UpdateOptions& o) {
  o.source.check();
  set_search_threads(1);
  VocabFile f = VocabFile::read(o.vocab);
  AdmissionOptions admission = f.params.admission;
  if (o.z) admission.z = *o.z;
  if (o.max_units) admission.max_units = *o.max_units;
  (void)admission_z(admission, f.candidates.size());
  const std::string dir = o.data_dir.empty() ? f.params.corpus : o.data_dir;
  std::optional<Corpus> corpus;
  if (!o.source.from_store()) corpus.emplace(load_brown(dir));
  f.params.admission = admission;
  const std::vector<uint64_t> occurrences = run_round(f, o.source, corpus ? &*corpus : nullptr);
  f.write(o.out);
  const RoundLog& round = f.builder.log().back();
  const std::optional<AdmissionScore> e = simulated_score(f, occurrences);
  if (o.json) {
    nlohmann::json out = {
        {"out", o.out},
        {"round", round_summary(f, round)},
        {"rounds", f.builder.log().size()},
        {"index", {{"entries", f.index.size()}, {"structure", to_string(f.index.active_kind())}}}};
    if (e) {
      out["evaluation"] = to_json(*e);
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "vocabulary " << o.out << " (from " << o.vocab << "):\n";
  for (const RoundLog& r : f.builder.log()) print_round(f, r);
  std::cout << "\n";
  print_top(f, 15);
  if (e) {
    std::cout << "\n";
    print_score(*e, f.builder.admitted().size());
  }
}

// --- search ----------------------------------------------------------------------------------

struct SearchOptions {
  std::string vocab, text;
  std::size_t top = 10;
  bool json = false;
};

void search(const SearchOptions& o) {
  set_search_threads(1);
  const VocabFile f = VocabFile::read(o.vocab);
  const UnitSearch found = search_units(f, o.text, o.top);
  const std::vector<VocabHit>& hits = found.hits;
  const std::string& how = found.query;
  if (o.json) {
    std::cout << to_json(found, f).dump(2) << "\n";
    return;
  }
  std::cout << "\"" << o.text << "\" (" << how << "): nearest of " << f.index.size()
            << " units by cosine\n\n";
  Table t({"rank", "unit", "id", "cosine"});
  for (std::size_t i = 0; i < hits.size(); ++i) {
    t.add({std::to_string(i + 1), f.candidates.text(static_cast<uint32_t>(hits[i].id), f.vocab),
           std::to_string(hits[i].id), format_number(hits[i].score, 4)});
  }
  t.print(std::cout);
}

// --- tokenize --------------------------------------------------------------------------------

struct TokenizeOptions {
  std::string vocab, text, data_dir;
  bool json = false;
};

void tokenize(const TokenizeOptions& o) {
  const VocabFile f = VocabFile::read(o.vocab);
  const Tokenizer tok = f.tokenizer();
  if (!o.text.empty()) {
    const std::vector<std::string> words = text_tokens(o.text);
    const std::vector<uint32_t> ids = f.vocab.ids(words);
    const std::vector<Token> tokens = tok.tokenize(ids);
    nlohmann::json rows = nlohmann::json::array();
    std::string shown;
    std::size_t pos = 0;  // the first word of the next token: words outside V keep their text
    for (const Token& t : tokens) {
      std::string text;
      if (t.is_unit) {
        text = f.candidates.text(static_cast<uint32_t>(t.id), f.vocab);
        pos += tok.words_of(t.id).size();
      } else {
        text = words[pos++];
      }
      rows.push_back({{"unit", t.is_unit}, {"id", t.id}, {"text", text}});
      shown += (shown.empty() ? "" : " ") + (t.is_unit ? "[" + text + "]" : text);
    }
    if (o.json) {
      std::cout << nlohmann::json{{"words", ids.size()}, {"tokens", rows}}.dump(2) << "\n";
    } else {
      std::cout << shown << "\n" << ids.size() << " words -> " << tokens.size() << " tokens\n";
    }
    return;
  }
  const std::string dir = o.data_dir.empty() ? f.params.corpus : o.data_dir;
  const Corpus corpus = load_brown(dir);
  const LengthReductions r = length_reductions(f, corpus);
  if (o.json) {
    std::cout << nlohmann::json{{"vocab", o.vocab},
                                {"admitted", f.builder.admitted().size()},
                                {"split_seed", f.params.split_seed},
                                {"length_reduction", to_json(r)}}
                     .dump(2)
              << "\n";
    return;
  }
  print_reductions(r, f.builder.admitted().size(), f.params.admission.max_units);
  std::cout << "(" << r.admitted.sequences
            << " sentences of the held-out test documents, split seed " << f.params.split_seed
            << "; " << r.admitted.unit_tokens << " unit tokens)\n";
}

// --- candidates ------------------------------------------------------------------------------

struct CandidatesOptions {
  std::size_t candidates = 50'000;
  uint32_t vocab_words = 4096;
  std::string data_dir = std::string(kBrownDir), out;
  bool json = false;
};

// The public vocabulary and candidate units, as `vocab build` extracts them.
VocabArtifact public_units(const CandidatesOptions& o) {
  const Corpus corpus = load_brown(o.data_dir);
  Vocabulary vocab = Vocabulary::most_frequent(tokens_of(corpus.general()), o.vocab_words);
  CandidateUnits c = CandidateUnits::extract(sentence_ids(corpus.general(), vocab), vocab,
                                             {.max_units = o.candidates});
  return VocabArtifact(std::move(vocab), std::move(c));
}

void write_candidates(const CandidatesOptions& o) {
  const VocabArtifact units = public_units(o);
  const Vocabulary& vocab = units.vocab();
  const CandidateUnits& c = units.candidates();
  std::ofstream out(o.out);
  if (!out) throw Error("--out: cannot open \"" + o.out + "\" for writing.");
  for (uint32_t u = 0; u < c.size(); ++u) out << c.text(u, vocab) << "\n";
  if (!out.flush()) throw Error("--out: writing \"" + o.out + "\" failed.");
  if (o.json) {
    std::cout << nlohmann::json{{"out", o.out}, {"candidates", c.size()}}.dump(2) << "\n";
  } else {
    std::cout << c.size() << " candidate units written to " << o.out
              << " (line i = unit i: the dictionary of an mss task with k = " << c.size() << ")\n";
  }
}

void prepare(const CandidatesOptions& o) {
  const VocabArtifact units = public_units(o);
  units.write(o.out);
  if (o.json) {
    std::cout << nlohmann::json{{"out", o.out}, {"candidates", units.candidates().size()}}.dump(2)
              << "\n";
  } else {
    std::cout << "vocab artifact " << o.out << ": " << units.candidates().size()
              << " candidate units, V = " << o.vocab_words
              << " (the vocab task: mss with k = " << units.candidates().size() << ")\n";
  }
}

// --- eval ------------------------------------------------------------------------------------

struct EvalOptions {
  VocabSweepOptions sweep;
  std::string data_dir = std::string(kBrownDir);
  bool json = false;
};

void eval(const EvalOptions& o) {
  check_sweep_options(o.sweep);  // before the corpus is read
  const Clock::time_point start = Clock::now();
  std::unique_ptr<ProgressBar> bar;
  phase(bar, "loading the corpus");
  const Corpus corpus = load_brown(o.data_dir);
  std::string label;
  const VocabSweep sweep = run_vocab_sweep(
      corpus, o.sweep, [&](std::string_view step, std::size_t done, std::size_t total) {
        if (step != label) {
          label = std::string(step);
          bar = std::make_unique<ProgressBar>("vocab eval: " + label);
        }
        bar->update(done, total);
      });
  bar.reset();
  const double seconds = seconds_since(start);
  if (o.json) {
    nlohmann::json out = to_json(sweep);
    out["seconds"] = seconds;
    std::cout << out.dump(2) << "\n";
    return;
  }
  Table t({"eps", "n", "z", "U", "admitted", "tested", "precision", "recall", "never occur",
           "test length -%", "true top-U -%"});
  for (const VocabSweepRow& r : sweep.rows) {
    t.add({format_number(r.epsilon, 3), std::to_string(r.n),
           (r.z_option == 0 ? "Bonf. " : "") + format_number(r.z, 3), std::to_string(r.max_units),
           std::to_string(r.admitted), std::to_string(r.tested),
           format_number(r.score.precision, 3), format_number(r.score.recall, 3),
           std::to_string(r.score.absent), format_number(100 * r.test_length_reduction, 3),
           format_number(100 * r.true_top_u_length_reduction, 3)});
  }
  std::cout << "units admitted against the true top U of the clients' text (" << sweep.candidates
            << " candidates, " << sweep.client_occurrences
            << " occurrences in the client split; seed " << o.sweep.seed << ", split seed "
            << o.sweep.split_seed << "), and the held-out test text's length reduction\n\n";
  t.print(std::cout);
  std::cout << "\n" << format_number(seconds, 3) << " s\n";
}

// --- bench -----------------------------------------------------------------------------------

struct BenchOptions {
  IndexBenchOptions index;
  std::string metric = "ip";  // what a vocabulary file's index uses
  bool no_hnsw = false, no_ivf = false, json = false;
};

void bench(BenchOptions o) {
  o.index.metric = parse_vocab_metric(o.metric);
  o.index.hnsw = !o.no_hnsw;
  o.index.ivf = !o.no_ivf;
  const IndexBenchResult r = run_index_bench(o.index, [&](std::string_view step) {
    if (!o.json) std::cerr << "  " << step << "\n";
  });
  if (o.json) {
    std::cout << index_bench_json(r).dump(2) << "\n";
    return;
  }
  std::cout << "index of " << o.index.entries << " x " << o.index.dim << " (" << o.metric << ", "
            << r.clusters << " clusters), " << o.index.queries
            << " single queries on one thread, recall@" << o.index.top << " against exact\n\n";
  Table t({"index", "setting", "build s", "MB", "p50 ms", "p99 ms", "recall"});
  for (const IndexBenchRow& row : r.rows) {
    t.add({row.kind, row.setting.empty() ? "-" : row.setting, format_number(row.build_seconds, 3),
           format_number(static_cast<double>(row.index_bytes) / 1e6, 4),
           format_number(row.p50_ms, 3), format_number(row.p99_ms, 3),
           format_number(row.recall, 4)});
  }
  t.print(std::cout);
}

}  // namespace

void add_vocab_command(CLI::App& app) {
  CLI::App* vocab = app.add_subcommand("vocab", "Dynamic vocabularies of multi-word units");
  vocab->require_subcommand(1);

  auto b = std::make_shared<BuildOptions>();
  CLI::App* build_cmd = vocab->add_subcommand(
      "build", "Admit candidate units from private estimates and write a vocabulary file");
  b->source.add_to(*build_cmd);
  build_cmd->add_option("--candidates", b->candidates, "M: candidate units (the MSS k)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  build_cmd->add_option("--max-units", b->admission.max_units, "U: most units admitted")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  build_cmd
      ->add_option("--z", b->admission.z,
                   "Significance in standard errors; 0: Bonferroni over the candidates")
      ->capture_default_str();
  build_cmd->add_option("--vocab-words", b->vocab_words, "V: public vocabulary words")
      ->capture_default_str();
  build_cmd
      ->add_option("--public-units", b->public_units,
                   "T: frequent public units learned as tokens to fit the maps")
      ->capture_default_str();
  build_cmd->add_option("--dimension", b->dimension, "Embedding dimension")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  build_cmd->add_option("--split-seed", b->split_seed, "Seed of the domain's client/test split")
      ->capture_default_str();
  build_cmd->add_option("--data-dir", b->data_dir, "Directory of the Brown sentences.tsv")
      ->capture_default_str();
  build_cmd->add_option("--out", b->out, "The vocabulary file to write")->required();
  build_cmd->add_flag("--json", b->json, "One JSON object on stdout");
  build_cmd->callback([b] { build(*b); });

  auto u = std::make_shared<UpdateOptions>();
  CLI::App* update_cmd = vocab->add_subcommand(
      "update", "A later round: admit and remove units by new estimates, log the changes");
  update_cmd->add_option("--vocab", u->vocab, "The vocabulary file to start from")->required();
  u->source.add_to(*update_cmd);
  update_cmd->add_option("--max-units", u->max_units, "U (default: the file's)")
      ->check(CLI::PositiveNumber);
  update_cmd->add_option("--z", u->z, "z (default: the file's; 0: Bonferroni)");
  update_cmd->add_option("--data-dir", u->data_dir, "Brown directory (default: the file's)");
  update_cmd->add_option("--out", u->out, "The vocabulary file to write")->required();
  update_cmd->add_flag("--json", u->json, "One JSON object on stdout");
  update_cmd->callback([u] { update(*u); });

  auto s = std::make_shared<SearchOptions>();
  CLI::App* search_cmd =
      vocab->add_subcommand("search", "The admitted units nearest to a text's embedding");
  search_cmd->add_option("--vocab", s->vocab, "The vocabulary file")->required();
  search_cmd->add_option("--text", s->text, "Words to embed, e.g. \"new york\"")->required();
  search_cmd->add_option("--top", s->top, "Units to show")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  search_cmd->add_flag("--json", s->json, "One JSON object on stdout");
  search_cmd->callback([s] { search(*s); });

  auto t = std::make_shared<TokenizeOptions>();
  CLI::App* tokenize_cmd = vocab->add_subcommand(
      "tokenize", "Merge a text's words into admitted units (default: the held-out test text)");
  tokenize_cmd->add_option("--vocab", t->vocab, "The vocabulary file")->required();
  tokenize_cmd->add_option("--text", t->text, "A text to tokenize");
  tokenize_cmd->add_option("--data-dir", t->data_dir, "Brown directory (default: the file's)");
  tokenize_cmd->add_flag("--json", t->json, "One JSON object on stdout");
  tokenize_cmd->callback([t] { tokenize(*t); });

  // candidates and prepare write the same public units: the dictionary, or the artifact.
  auto c = std::make_shared<CandidatesOptions>();
  const auto add_units_command = [&](const char* name, const char* help, const char* out,
                                     void (*run)(const CandidatesOptions&)) {
    CLI::App* cmd = vocab->add_subcommand(name, help);
    cmd->add_option("--candidates", c->candidates, "M")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--vocab-words", c->vocab_words, "V")->capture_default_str();
    cmd->add_option("--data-dir", c->data_dir, "Directory of the Brown sentences.tsv")
        ->capture_default_str();
    cmd->add_option("--out", c->out, out)->required();
    cmd->add_flag("--json", c->json, "One JSON object on stdout");
    cmd->callback([c, run] { run(*c); });
  };
  add_units_command("candidates",
                    "Write the candidate units, one a line: the dictionary of the mss task",
                    "The dictionary file to write", write_candidates);
  add_units_command("prepare",
                    "Write the task artifact a device needs: vocabulary and candidate units",
                    "The artifact file to write", prepare);

  auto ev = std::make_shared<EvalOptions>();
  CLI::App* eval_cmd = vocab->add_subcommand(
      "eval", "Precision/recall of the admitted units against the true top U, over a grid");
  eval_cmd->add_option("--eps", ev->sweep.epsilons, "Privacy budgets")
      ->capture_default_str()
      ->delimiter(',');
  eval_cmd->add_option("--n", ev->sweep.ns, "Client counts")->capture_default_str()->delimiter(',');
  eval_cmd->add_option("--max-units", ev->sweep.max_units, "Values of U")
      ->capture_default_str()
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  eval_cmd->add_option("--z", ev->sweep.zs, "Values of z (0: Bonferroni)")
      ->capture_default_str()
      ->delimiter(',');
  eval_cmd->add_option("--seed", ev->sweep.seed, "Seed of the simulated clients")
      ->capture_default_str();
  eval_cmd->add_option("--candidates", ev->sweep.candidates, "M")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  eval_cmd->add_option("--vocab-words", ev->sweep.vocab_words, "V")->capture_default_str();
  eval_cmd->add_option("--split-seed", ev->sweep.split_seed, "Seed of the domain split")
      ->capture_default_str();
  eval_cmd->add_option("--data-dir", ev->data_dir, "Directory of the Brown sentences.tsv")
      ->capture_default_str();
  eval_cmd->add_flag("--json", ev->json, "One JSON object on stdout");
  eval_cmd->callback([ev] { eval(*ev); });

  auto be = std::make_shared<BenchOptions>();
  CLI::App* bench_cmd = vocab->add_subcommand(
      "bench", "Index structures on synthetic vectors: build, size, latency, recall@10");
  bench_cmd->add_option("--entries", be->index.entries, "Vectors in the index")
      ->capture_default_str();
  bench_cmd->add_option("--dim", be->index.dim, "Dimension")->capture_default_str();
  bench_cmd->add_option("--queries", be->index.queries, "Single queries timed")
      ->capture_default_str();
  bench_cmd->add_option("--metric", be->metric, "l2 | ip")->capture_default_str();
  bench_cmd->add_option("--seed", be->index.seed, "Seed of the synthetic data")
      ->capture_default_str();
  bench_cmd
      ->add_option("--threads", be->index.build_threads,
                   "Threads for building and ground truth (0: all cores)")
      ->capture_default_str();
  bench_cmd->add_flag("--no-hnsw", be->no_hnsw, "Skip HNSW (minutes to build at 10^6)");
  bench_cmd->add_flag("--no-ivf", be->no_ivf, "Skip IVF");
  bench_cmd->add_flag("--json", be->json, "One JSON object on stdout");
  bench_cmd->callback([be] { bench(*be); });
}

}  // namespace residue
