// Task: a named collection on the server: its kind, its validated protocol, the parameter hash
// clients echo, its domain (a dictionary of values, an artifact, or a size), and the codec its
// batches use.
// Immutable once built; shared between the daemon's threads.
//
//   Task t = make_task(config.tasks[0], stored_params_or_nullopt);
//   parse_batch(t.codec, body, reports);
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "artifact.h"
#include "config.h"
#include "residue/core/domain.h"
#include "residue/protocols/protocol.h"
#include "residue/wire/batch.h"
#include "residue/wire/report_codec.h"

namespace residue {

struct Task {
  std::string name;
  Protocol protocol;
  /// Domain::id() of its dictionary, Artifact::domain_id() of its artifact; "" for a task of
  /// bare indices.
  std::string domain_id;
  /// task_hash(params, domain_id): what clients echo in every batch.
  ParamsHash hash{};
  /// The dictionary itself, where known (the daemon; offline tools given --dictionary).
  std::optional<Domain> domain;
  ReportCodec codec;
  TaskKind kind = TaskKind::kFrequency;
  /// A memory or vocab task's public pieces (the daemon; null elsewhere).
  std::shared_ptr<const Artifact> artifact;
  /// A memory task's report (the daemon; kJoint elsewhere), and for stage two the name of its
  /// stage-one task.
  MemoryStage stage = MemoryStage::kJoint;
  std::string stage_one;
};

/// The task of `params` (complete, as make_protocol takes them) over the domain `domain_id`.
/// `dictionary`, when given, must have that id (or the id must be "", as in a store written
/// before dictionaries were recorded: the dictionary is then taken on the caller's word);
/// otherwise Error naming both ids.
Task task_from_params(std::string name, const ProtocolParams& params, std::string domain_id,
                      std::optional<Domain> dictionary = std::nullopt);

/// Builds a configured task: reads its dictionary or artifact, then completes its parameters (MSS
/// moduli) unless `stored` holds the parameters the store already has for it and they agree with
/// the configuration (protocol, k, epsilon, and the moduli when configured): those are reused, so a
/// newer moduli search never orphans stored reports. Throws Error naming the task and field.
Task make_task(const TaskConfig& config, const std::optional<ProtocolParams>& stored);

/// Checks what make_task cannot see task by task: each stage-two task's artifact must hold the
/// public pieces (vocabulary, embeddings, key options, codebook) of its stage-one task's, byte
/// for byte, or its shortlist's ids would be another vocabulary's. `tasks` are the daemon's
/// (with artifacts), their stage_one links checked by load_config. Throws Error naming both.
void check_stage_artifacts(const std::vector<Task>& tasks);

/// Reads a dictionary file: one value per line, no empty line, no repeats. Throws Error
/// naming the file and line.
Domain load_dictionary(const std::filesystem::path& path);

}  // namespace residue
