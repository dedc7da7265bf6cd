// Building a memory from a task's tally (the daemon's store), and the steps every build shares
// with the simulated builds of the experiments (aggregator/tool/experiments/memory_experiment.h):
// the facts a memory records, its arms without data, its arms of one joint estimate, and tuning
// every arm on the tuning split (memory_tuning.h).
//
//   Corpus corpus = Corpus::load(dir, "learned");
//   MemoryBuildOptions options{.data_dir = dir};
//   PublicModel pub = build_public_model(corpus, options.public_options);
//   Memory m = memory_from_tally(corpus, pub, options, task.protocol, tally, "memory");
//   Memory two = memory_from_two_stage_tallies(corpus, pub, options, shortlist,
//                                              {"tokens", p1, tally1}, {"next", p2, tally2});
//
// Reentrant; runs FAISS and the tuning workers (set_search_threads()).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "residue/memory/memory.h"
#include "residue/memory/memory_builder.h"
#include "residue/memory/memory_setup.h"
#include "residue/memory/memory_tuning.h"
#include "residue/memory/memory_two_stage.h"
#include "residue/protocols/protocol.h"
#include "residue/protocols/tally.h"
#include "residue/retrieval/corpus.h"

namespace residue {

/// Called at each step of a build with a short label, the steps done and the steps in all.
using BuildProgress = std::function<void(std::string_view step, int done, int total)>;

struct MemoryBuildOptions {
  std::string data_dir;  ///< the corpus directory, recorded in the memory (where eval reloads it)
  uint64_t split_seed = 1;
  PublicOptions public_options;  ///< recorded: the pieces it describes are rebuilt
  TuningGrid grid = TuningGrid::defaults();
  unsigned threads = 0;  ///< tuning workers; 0: one per core
};

/// Estimate::count of every value of `tally`'s estimate.
std::vector<double> estimated_counts(const Protocol& protocol, const Tally& tally);

/// An arm with its counts and no hyper-parameters yet.
MemoryArm make_arm(std::string name, ArmKind kind, std::string description,
                   std::vector<double> counts = {});
/// The arms without data every memory has: base (the LM alone) and uniform (a memory that
/// knows nothing).
std::vector<MemoryArm> control_arms();
/// ldp_clip and ldp_project from one joint (cell, token) estimate of estimated counts;
/// `source` completes their descriptions ("cell memory<source>, negatives clipped").
std::vector<MemoryArm> joint_arms(const MemoryBuilder& builder, std::span<const double> estimate,
                                  std::string_view source);

/// Throws Error unless `pub` has the words, cells and dimension of options.public_options.
void check_public_model(const PublicModel& pub, const MemoryBuildOptions& options);
/// The public facts a build records so that eval and query can check and rebuild them: the
/// corpus directory and its token counts, the split seed, the key options, the public settings.
MemoryInfo build_info(const Corpus& corpus, const PublicModel& pub,
                      const MemoryBuildOptions& options);
/// Tunes every arm on the positions of split.tuning over options.grid.
void tune_arms(std::vector<MemoryArm>& arms, const PublicModel& pub,
               const MemoryBuildOptions& options, const DomainSplit& split);

/// The memory of a task's tally (source "store"): base, uniform, ldp_clip and ldp_project
/// (default). There is no non-private arm: nobody has the clients' values. Throws Error unless
/// the protocol's k is cells x tokens of `pub`.
Memory memory_from_tally(const Corpus& corpus, const PublicModel& pub,
                         const MemoryBuildOptions& options, const Protocol& protocol,
                         const Tally& tally, const std::string& task,
                         const BuildProgress& progress = {});

/// One task of a deployed two-stage memory, as a build reads it.
struct StageTally {
  std::string task;
  const Protocol& protocol;
  const Tally& tally;
};

/// The memory of the two-stage shortlist protocol deployed as two tasks (source "store"):
/// stage one (k = tokens) reported the next token alone, stage two (k = cells x (L + 1))
/// reported cell * (L + 1) + the token's index in `shortlist`, or L. Arms base, uniform and
/// ldp_2stage_shortlist (default): stage two's estimate Norm-Sub per cell, each cell's "other"
/// mass spread by stage one's unigram estimate (assemble_shortlist), exactly as the
/// simulation's arm of that name. Throws Error when a k does not fit `pub` and the shortlist,
/// or a stage has no reports.
Memory memory_from_two_stage_tallies(const Corpus& corpus, const PublicModel& pub,
                                     const MemoryBuildOptions& options,
                                     std::span<const uint32_t> shortlist,
                                     const StageTally& stage_one, const StageTally& stage_two,
                                     const BuildProgress& progress = {});

}  // namespace residue
