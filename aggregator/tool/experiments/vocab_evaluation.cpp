#include "experiments/vocab_evaluation.h"

#include <algorithm>
#include <map>
#include <memory>
#include <numeric>
#include <string>

#include "experiments/unit_reports.h"
#include "residue/core/error.h"
#include "residue/core/format_double.h"
#include "residue/protocols/registry.h"
#include "residue/random/seeded_rng.h"
#include "residue/vocab/vocab_builder.h"

namespace residue {
namespace {

nlohmann::json length_json(const LengthReduction& r) {
  return {{"sequences", r.sequences},
          {"words", r.words},
          {"tokens", r.tokens},
          {"unit_tokens", r.unit_tokens},
          {"reduction", r.reduction()}};
}

/// `compute` with each unit's standard error remembered: the sweep asks for the same units at
/// every z.
StderrFunction memoized(StderrFunction compute) {
  auto known = std::make_shared<std::map<uint32_t, double>>();
  return [compute = std::move(compute), known](std::span<const uint32_t> units) {
    std::vector<uint32_t> missing;
    for (uint32_t u : units) {
      if (!known->count(u)) missing.push_back(u);
    }
    if (!missing.empty()) {
      const std::vector<double> se = compute(missing);
      for (std::size_t i = 0; i < missing.size(); ++i) (*known)[missing[i]] = se[i];
    }
    std::vector<double> out;
    for (uint32_t u : units) out.push_back(known->at(u));
    return out;
  };
}

}  // namespace

std::vector<std::vector<uint32_t>> domain_text(const Corpus& corpus, const VocabFile& f,
                                               bool test) {
  const DomainSplit split = corpus.split_domain(f.params.split_seed);
  return sentence_ids(test ? split.test : split.client, f.vocab);
}

std::vector<uint32_t> true_top(std::span<const uint64_t> occurrences, std::size_t count) {
  std::vector<uint32_t> order;
  for (uint32_t u = 0; u < occurrences.size(); ++u) {
    if (occurrences[u] > 0) order.push_back(u);
  }
  count = std::min(count, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count), order.end(),
                    [&](uint32_t a, uint32_t b) {
                      return occurrences[a] != occurrences[b] ? occurrences[a] > occurrences[b]
                                                              : a < b;
                    });
  order.resize(count);
  return order;
}

AdmissionScore score_admission(std::span<const uint32_t> admitted,
                               std::span<const uint64_t> occurrences, std::size_t max_units) {
  std::vector<uint32_t> top = true_top(occurrences, max_units);
  std::sort(top.begin(), top.end());
  AdmissionScore s{.true_top = top.size()};
  for (uint32_t unit : admitted) {
    if (std::binary_search(top.begin(), top.end(), unit)) ++s.hits;
    if (occurrences[unit] == 0) ++s.absent;
  }
  s.precision =
      admitted.empty() ? 0 : static_cast<double>(s.hits) / static_cast<double>(admitted.size());
  s.recall = top.empty() ? 0 : static_cast<double>(s.hits) / static_cast<double>(top.size());
  return s;
}

nlohmann::json to_json(const AdmissionScore& s) {
  return {{"true_top", s.true_top},
          {"hits", s.hits},
          {"absent", s.absent},
          {"precision", s.precision},
          {"recall", s.recall}};
}

LengthReductions length_reductions(const VocabFile& f, const Corpus& corpus) {
  const std::vector<std::vector<uint32_t>> test = domain_text(corpus, f, true);
  const std::vector<uint64_t> occ = f.candidates.count_occurrences(domain_text(corpus, f, false));
  const auto reduction_of = [&](std::span<const uint32_t> units) {
    return measure_length_reduction(f.candidates.tokenizer(units), test);
  };
  return {.admitted = measure_length_reduction(f.tokenizer(), test),
          .true_same = reduction_of(true_top(occ, f.builder.admitted().size())),
          .true_u = reduction_of(true_top(occ, f.params.admission.max_units))};
}

nlohmann::json to_json(const LengthReductions& r) {
  nlohmann::json out = {{"admitted", length_json(r.admitted)}};
  if (r.true_same) out["true_top_same_count"] = length_json(*r.true_same);
  if (r.true_u) out["true_top_u"] = length_json(*r.true_u);
  return out;
}

void check_sweep_options(const VocabSweepOptions& o) {
  if (o.max_units.empty()) throw Error("vocab sweep: give at least one U.");
  for (std::size_t u : o.max_units) {
    for (double z : o.zs) (void)admission_z({.z = z, .max_units = u}, o.candidates);
  }
}

VocabSweep run_vocab_sweep(const Corpus& corpus, const VocabSweepOptions& o,
                           const SweepProgress& progress) {
  check_sweep_options(o);
  const std::size_t largest_u = *std::max_element(o.max_units.begin(), o.max_units.end());
  const auto step = [&](const std::string& label) {
    if (progress) progress(label, 0, 1);
  };
  step("counting candidate units");
  const Vocabulary vocab = Vocabulary::most_frequent(tokens_of(corpus.general()), o.vocab_words);
  const CandidateUnits candidates = CandidateUnits::extract(sentence_ids(corpus.general(), vocab),
                                                            vocab, {.max_units = o.candidates});
  const DomainSplit split = corpus.split_domain(o.split_seed);
  const std::vector<uint64_t> occurrences =
      candidates.count_occurrences(sentence_ids(split.client, vocab));
  const std::vector<std::vector<uint32_t>> test = sentence_ids(split.test, vocab);
  const auto reduction_of = [&](std::span<const uint32_t> units) {
    return measure_length_reduction(candidates.tokenizer(units), test).reduction();
  };
  std::map<std::size_t, double> true_reduction;
  for (std::size_t u : o.max_units) true_reduction[u] = reduction_of(true_top(occurrences, u));

  VocabSweep out{
      .options = o,
      .candidates = candidates.size(),
      .client_occurrences = std::accumulate(occurrences.begin(), occurrences.end(), uint64_t{0}),
      .test_words = measure_length_reduction(Tokenizer({}), test).words,
      .rows = {}};
  for (double eps : o.epsilons) {
    const std::string at_eps = "eps = " + format_double(eps);
    step(at_eps + ": choosing MSS moduli");
    const Protocol mss = make_protocol(complete_params(
        {.protocol = "mss", .k = static_cast<uint32_t>(candidates.size()), .epsilon = eps}));
    for (uint64_t n : o.ns) {
      const std::string at = at_eps + ", n = " + std::to_string(n);
      step(at + ": simulating and estimating");
      SeededRng rng(o.seed);
      const SimulatedReports reports = simulate_unit_reports(mss, occurrences, n, rng);
      const Estimate estimate = mss.estimator().estimate(reports.tally);
      if (!estimate.solver_converged) throw Error(at + ": the estimator did not converge.");
      const StderrFunction stderr_of =
          memoized(protocol_standard_errors(mss, reports.tally, estimate));
      for (double z : o.zs) {
        const std::string label = at + ", z = " + format_double(z) + ": testing units";
        const Admission a =
            admit_units(estimate.frequencies, stderr_of, {.z = z, .max_units = largest_u},
                        [&](std::size_t done, std::size_t total) {
                          if (progress) progress(label, done, total);
                        });
        const std::vector<uint32_t> ranked = unit_ids(a.admitted);
        for (std::size_t u : o.max_units) {
          const std::span<const uint32_t> admitted =
              std::span(ranked).first(std::min(u, ranked.size()));
          out.rows.push_back({.epsilon = eps,
                              .n = n,
                              .z_option = z,
                              .z = a.z,
                              .max_units = u,
                              .admitted = admitted.size(),
                              .tested = a.tested,
                              .score = score_admission(admitted, occurrences, u),
                              .test_length_reduction = reduction_of(admitted),
                              .true_top_u_length_reduction = true_reduction[u]});
        }
      }
    }
  }
  return out;
}

nlohmann::json to_json(const VocabSweep& sweep) {
  nlohmann::json rows = nlohmann::json::array();
  for (const VocabSweepRow& r : sweep.rows) {
    nlohmann::json row = to_json(r.score);
    row.update({{"epsilon", r.epsilon},
                {"n", r.n},
                {"z", r.z},
                {"z_option", r.z_option},
                {"max_units", r.max_units},
                {"admitted", r.admitted},
                {"tested", r.tested},
                {"test_length_reduction", r.test_length_reduction},
                {"true_top_u_length_reduction", r.true_top_u_length_reduction}});
    rows.push_back(std::move(row));
  }
  return {{"candidates", sweep.candidates},
          {"vocab_words", sweep.options.vocab_words},
          {"split_seed", sweep.options.split_seed},
          {"seed", sweep.options.seed},
          {"client_occurrences", sweep.client_occurrences},
          {"test_words", sweep.test_words},
          {"rows", rows}};
}

}  // namespace residue
