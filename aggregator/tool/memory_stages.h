// The tasks of a deployed two-stage memory as the offline tool reads them from a store
// (docs/memory.md, "Deployment: the two-stage shortlist"): `residue memory shortlist` reads
// stage one's tally, `residue memory build --data` a stage-two task's with its stage one's. The
// store keeps each task's domain id, artifact_domain_id(SHA-256, stage), so a task is checked
// against the artifact file given for it before anything is built from it.
//
//   ArtifactFile a = read_artifact_file("shortlist.artifact");
//   Task two = stage_task(read_task_tally(dir, "next"), a, MemoryStage::kShortlist);
#pragma once

#include <filesystem>
#include <string>

#include "residue/retrieval/task_artifact.h"
#include "tally_inputs.h"
#include "task.h"

namespace residue {

/// A memory artifact file: where it is, its pieces, and the SHA-256 of its bytes.
struct ArtifactFile {
  std::filesystem::path path;
  MemoryArtifact artifact;
  std::string sha256;
};

/// Throws Error naming the file when it cannot be read or parsed.
ArtifactFile read_artifact_file(const std::filesystem::path& path);
/// The version-1 file of the same pieces without the shortlist: what stage one was collected
/// over.
ArtifactFile without_shortlist(const ArtifactFile& file);

/// The task of `t`, which must be a memory task of `stage` over `file` (its domain id says so).
/// Throws Error naming the task, the stage and the file otherwise.
Task stage_task(const TaskTally& t, const ArtifactFile& file, MemoryStage stage);

}  // namespace residue
