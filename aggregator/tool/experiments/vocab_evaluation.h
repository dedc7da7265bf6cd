// Evaluating dynamic vocabularies against what a simulation knows and a deployment does not:
// the units the clients' text really holds most often. Precision and recall of the admitted
// units against the true top U, the held-out test text's length reduction with the admitted
// units and with the true top units, and the sweep of docs/results.md behind
// `residue vocab eval`.
//
//   std::vector<uint64_t> occ = f.candidates.count_occurrences(domain_text(brown, f, false));
//   AdmissionScore s = score_admission(unit_ids(f.builder.admitted()), occ, 1000);
//   LengthReductions r = length_reductions(f, brown);
//   VocabSweep sweep = run_vocab_sweep(brown, {.epsilons = {2, 8}});
//
// Reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "residue/retrieval/corpus.h"
#include "residue/retrieval/tokenizer.h"
#include "residue/vocab/vocab_file.h"

namespace residue {

/// The sentences of the domain's client text (test = false) or held-out test text (true) in
/// the file's vocabulary, split as its params say.
std::vector<std::vector<uint32_t>> domain_text(const Corpus& corpus, const VocabFile& f, bool test);

/// The `count` units with the largest `occurrences` (ties: smaller id), only units that occur.
std::vector<uint32_t> true_top(std::span<const uint64_t> occurrences, std::size_t count);

/// Admitted units against the true top U of the clients' exact occurrence counts.
struct AdmissionScore {
  std::size_t true_top = 0;  ///< |T|: min(U, units that occur)
  std::size_t hits = 0;      ///< |A ∩ T|
  std::size_t absent = 0;    ///< admitted units that never occur in the clients' text
  double precision = 0, recall = 0;
};

AdmissionScore score_admission(std::span<const uint32_t> admitted,
                               std::span<const uint64_t> occurrences, std::size_t max_units);
nlohmann::json to_json(const AdmissionScore& score);

/// The held-out test text's length with the admitted units, and with the true top units of
/// the clients' text (as many as admitted, and U) for comparison.
struct LengthReductions {
  LengthReduction admitted;
  std::optional<LengthReduction> true_same, true_u;
};

LengthReductions length_reductions(const VocabFile& f, const Corpus& corpus);
nlohmann::json to_json(const LengthReductions& r);

/// Every (eps, n) is one simulated round of MSS reports over the candidates, every (z, U) an
/// admission over its estimates. Admission for a smaller U is a prefix of the walk for the
/// largest, and standard errors do not depend on z, so each (eps, n) estimates once and
/// computes each standard error once. No embeddings are needed for these numbers.
struct VocabSweepOptions {
  std::vector<double> epsilons = {1, 2, 4, 8};
  std::vector<uint64_t> ns = {1'000'000, 10'000'000};
  std::vector<std::size_t> max_units = {100, 1000};
  std::vector<double> zs = {0, 3};  ///< 0: Bonferroni
  uint64_t seed = 1;                ///< the simulated clients' draws and reports
  std::size_t candidates = 50'000;
  uint32_t vocab_words = 4096;
  uint64_t split_seed = 1;
};

struct VocabSweepRow {
  double epsilon = 0;
  uint64_t n = 0;
  double z_option = 0;  ///< as given (0: Bonferroni)
  double z = 0;         ///< as used
  std::size_t max_units = 0;
  std::size_t admitted = 0;
  std::size_t tested = 0;
  AdmissionScore score;
  double test_length_reduction = 0;
  double true_top_u_length_reduction = 0;
};

struct VocabSweep {
  VocabSweepOptions options;
  std::size_t candidates = 0;
  uint64_t client_occurrences = 0;
  std::size_t test_words = 0;
  std::vector<VocabSweepRow> rows;  ///< eps, then n, then z, then U, in the options' order
};

/// Called with a label at each step, and with (done, total) as the units of one admission
/// are tested.
using SweepProgress =
    std::function<void(std::string_view step, std::size_t done, std::size_t total)>;

/// Throws Error on invalid options: no U, a U of 0, a negative z.
void check_sweep_options(const VocabSweepOptions& options);
/// Throws Error on invalid options (check_sweep_options) before any work, or when an
/// estimator does not converge.
VocabSweep run_vocab_sweep(const Corpus& corpus, const VocabSweepOptions& options,
                           const SweepProgress& progress = {});
nlohmann::json to_json(const VocabSweep& sweep);

}  // namespace residue
