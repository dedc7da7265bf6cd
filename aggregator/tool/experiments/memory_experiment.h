// Building memories from a simulated population of clients (the evaluation; a task's tally from
// the daemon's store is residue/memory/memory_build.h). The build decodes the simulated reports
// into count tables (MemoryBuilder, TwoStagePlan), tunes every arm on the tuning split
// (memory_tuning.h) and returns a Memory.
//
// The simulation: n clients each report one position drawn uniformly from the client split's
// positions, so the true value counts are Multinomial(n, empirical distribution of the values
// cell * V' + token); n may exceed the number of positions (a population of many users writing
// like the client text). The non-private arm is those exact counts; the LDP arms decode the
// tally the same clients' MSS reports would give (sample_tally: no report is encoded, so
// n = 10^8 takes seconds). Arms:
//   base, uniform                       controls without data
//   unigram_ldp                         the same eps and n spent on a context-free unigram
//   unigram_nonprivate                  the exact unigram of the same reports
//   nonprivate                          the exact (cell, token) counts
//   ldp_clip, ldp_project               one joint report per client, clipped / Norm-Sub per cell
//   ldp_2stage_cells                    a share beta of the clients finds each cell's L
//                                       candidates (joint report), the others report over
//                                       C (L + 1) values (memory_two_stage.h)
//   ldp_2stage_shortlist                the same with one shortlist of L tokens for every
//                                       cell, found by a stage-one unigram report
//
//   Corpus brown = load_brown();                                       // brown.h
//   PublicModel pub = build_public_model(brown, {});
//   ProtocolCache protocols;
//   Memory m = simulate_memory(brown, pub, {.data_dir = "data/brown"},
//                              {.epsilon = 8, .reports = 1e8}, protocols);
//
// Not thread-safe (the cache); runs FAISS and the tuning workers (set_search_threads()).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "residue/memory/memory.h"
#include "residue/memory/memory_build.h"
#include "residue/memory/memory_setup.h"
#include "residue/memory/memory_two_stage.h"
#include "residue/protocols/protocol.h"
#include "residue/retrieval/corpus.h"

namespace residue {

/// The LDP arm `residue memory query` and the summaries use unless told otherwise.
inline constexpr std::string_view kDefaultLdpArm = "ldp_2stage_shortlist";

/// Protocols by (name, k, epsilon): MSS's moduli search takes seconds to tens of seconds at
/// k ~ 10^5, so each is built once and reused.
class ProtocolCache {
 public:
  const Protocol& get(const std::string& name, uint32_t k, double epsilon);
  /// Seconds spent building protocols (mostly MSS's moduli search), for the build's timings.
  double seconds() const { return seconds_; }

 private:
  std::map<std::tuple<std::string, uint32_t, double>, Protocol> protocols_;
  double seconds_ = 0;
};

/// Where the second stage's candidates come from.
enum class CandidateSource {
  /// Each cell's own top L tokens by a stage-one joint (cell, token) estimate over C (V + 1).
  kCells,
  /// One shortlist for every cell: the top L tokens of a stage-one unigram estimate over V + 1
  /// values (a far smaller domain, so a small share of the clients finds it reliably).
  kShortlist,
};

std::string_view candidate_source_name(CandidateSource source);

/// One two-stage variant: the share of clients in stage one (beta), the candidates (L), the
/// post-processing of stage two and where each cell's "other" mass goes.
struct TwoStageOptions {
  CandidateSource source = CandidateSource::kShortlist;
  double share = 0.3;
  /// L. 0 (shortlist only): chosen from the stage-one estimate by adaptive_shortlist_size
  /// with z = `significance`, the stage-two noise taken from Subset Selection's closed-form
  /// variance (MSS's is within its moduli's inflation bound, 15%, of it).
  uint32_t candidates = 0;
  double significance = 0.5;
  CellPostprocess stage_two = CellPostprocess::kProject;
  OtherMass other = OtherMass::kStageOne;
};

struct SimulationOptions {
  double epsilon = 8;
  uint64_t reports = 10'000'000;
  /// Seeds the population draw and every report's noise (with the split seed).
  uint64_t noise_seed = 1;
  std::string protocol = "mss";
  /// The arms ldp_2stage_cells and ldp_2stage_shortlist.
  TwoStageOptions cells_two_stage{CandidateSource::kCells, 0.2, 64, 1, CellPostprocess::kProject,
                                  OtherMass::kStageOne};
  TwoStageOptions shortlist_two_stage{
      CandidateSource::kShortlist, 0.3, 0, 0.5, CellPostprocess::kProject, OtherMass::kStageOne};
};

/// Untuned arms (counts only) of a simulated population whose clients' values have the
/// empirical counts `joint` (cells x tokens positions), and what the simulation chose
/// (protocol parameters) as JSON. Throws Error on an invalid option (epsilon, reports = 0, a
/// share outside (0, 1), candidates not below tokens).
std::vector<MemoryArm> simulate_arms(std::span<const uint64_t> joint, uint32_t cells,
                                     uint32_t tokens, const SimulationOptions& options,
                                     uint64_t split_seed, ProtocolCache& protocols,
                                     nlohmann::json& settings, const BuildProgress& progress = {});

/// Every arm of a simulated population, tuned, as a Memory (source "simulated").
Memory simulate_memory(const Corpus& corpus, const PublicModel& pub,
                       const MemoryBuildOptions& options, const SimulationOptions& simulation,
                       ProtocolCache& protocols, const BuildProgress& progress = {});

}  // namespace residue
