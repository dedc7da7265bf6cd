// Building a memory or vocab task from its tally: what residued does on its schedule and on
// POST /v1/tasks/{task}/build (docs/operators.md, "Builds"). The public pieces are trained from
// the configured corpus exactly as `residue memory prepare` / `residue vocab prepare` train them
// and must be the task's artifact, byte for byte: the memory is then read with the cells its
// devices computed, and a build equals `residue memory build --data DIR --task NAME` (or `vocab
// build`) run on the same store with the same sizes.
//
//   auto pub = memory_public(task, *config.build);        // once: seconds of k-means on Brown
//   MemoryModel m = build_memory(task, *pub, tally, progress);
//   NextTokens next = next_tokens(m.memory, pub->model.lm, "the results", 10);
//
// Reentrant; runs FAISS and tuning workers (set_search_threads()).
#pragma once

#include <memory>
#include <vector>

#include "config.h"
#include "residue/memory/memory_build.h"
#include "residue/protocols/tally.h"
#include "residue/retrieval/corpus.h"
#include "residue/vocab/vocab_file.h"
#include "task.h"

namespace residue {

/// A memory task's public pieces and the options of its builds.
struct MemoryPublic {
  Corpus corpus;
  PublicModel model;
  MemoryBuildOptions options;
};

/// Trains the public pieces of memory task `task` (which has an artifact) from config.corpus
/// with the artifact's sizes. Throws Error naming the task and the corpus when the corpus cannot
/// be read, or when the pieces are not the artifact's (both SHA-256s; a stage-two artifact's
/// without its shortlist).
std::shared_ptr<const MemoryPublic> memory_public(const Task& task, const BuildConfig& config);

/// The memory of `tally` (Memory's source "store"). Throws Error when it cannot be built (no
/// reports yet, a decode that fails).
Memory build_memory(const Task& task, const MemoryPublic& pub, const Tally& tally,
                    const BuildProgress& progress = {});

/// The memory of stage-two task `two` (stage = "shortlist") from its tally and that of its
/// stage-one task `one` (memory_from_two_stage_tallies, as `residue memory build --data DIR
/// --task TWO --stage-one ONE --artifact FILE` makes it). Throws Error as build_memory.
Memory build_two_stage_memory(const Task& two, const Tally& two_tally, const Task& one,
                              const Tally& one_tally, const MemoryPublic& pub,
                              const BuildProgress& progress = {});

/// A vocab task's public pieces: the file with nothing admitted, serialized (each build starts
/// from a copy).
struct VocabPublic {
  std::vector<uint8_t> empty_file;
};

/// As memory_public, for vocab task `task`.
std::shared_ptr<const VocabPublic> vocab_public(const Task& task, const BuildConfig& config);

/// One admission round on `tally` (RoundSource "store"), the index synced.
VocabFile build_vocab(const Task& task, const VocabPublic& pub, const Tally& tally,
                      const BuildProgress& progress = {});

}  // namespace residue
