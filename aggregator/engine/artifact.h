// The public pieces of a memory or vocab task, as its devices download them (GET
// /v1/tasks/{task}/artifact): the bytes as they are, and parsed, so that a malformed file, or one
// of the other kind, stops the daemon at start-up rather than every device later. Their SHA-256 is
// their version and part of the task's identity: the parameter hash changes with them and a store
// refuses a changed artifact under its data.
//
//   std::shared_ptr<const Artifact> a = load_artifact("memory.artifact", TaskKind::kMemory);
//   task_hash(params, a->domain_id(MemoryStage::kJoint));
//   uint32_t k = a->domain();
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "config.h"

namespace residue {

// Declared only: task_artifact.h brings Eigen, which must not meet httplib's <resolv.h> (its
// _res macro) in the many files that include this one after httplib.h.
class MemoryArtifact;
class VocabArtifact;

struct Artifact {
  std::string bytes;
  /// Lower-case hex SHA-256 of the bytes.
  std::string sha256;
  /// Exactly one is set: the one of the task's kind (residue/retrieval/task_artifact.h).
  std::shared_ptr<const MemoryArtifact> memory;
  std::shared_ptr<const VocabArtifact> vocab;

  /// The Domain id of a task over it: artifact_domain_id(sha256, stage) (a vocab task's stage
  /// is kJoint: "artifact:" and the SHA-256).
  std::string domain_id(MemoryStage stage = MemoryStage::kJoint) const {
    return artifact_domain_id(sha256, stage);
  }
  /// The values its devices report: memory_stage_domain() (memory), the candidate units
  /// (vocab). Throws Error when a memory artifact does not fit the stage.
  uint64_t domain(MemoryStage stage = MemoryStage::kJoint) const;
};

/// Reads `path` whole and parses it as the artifact of a `kind` task (memory or vocab). Shared:
/// the daemon serves the bytes without copying them per request. Throws Error naming the file
/// (and the byte offset, when malformed).
std::shared_ptr<const Artifact> load_artifact(const std::filesystem::path& path, TaskKind kind);

}  // namespace residue
