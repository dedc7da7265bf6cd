#include "memory_stages.h"

#include "residue/core/error.h"
#include "residue/core/sha256.h"
#include "verify.h"

namespace residue {

ArtifactFile read_artifact_file(const std::filesystem::path& path) {
  MemoryArtifact artifact = MemoryArtifact::read(path);
  // The format is canonical (a parsed artifact serializes to its bytes), so this is the file's.
  std::string sha = sha256_hex(artifact.serialize());
  return {path, std::move(artifact), std::move(sha)};
}

ArtifactFile without_shortlist(const ArtifactFile& file) {
  MemoryArtifact base = file.artifact.without_shortlist();
  std::string sha = sha256_hex(base.serialize());
  return {file.path.string() + " (without its shortlist)", std::move(base), std::move(sha)};
}

Task stage_task(const TaskTally& t, const ArtifactFile& file, MemoryStage stage) {
  const std::string expected = artifact_domain_id(file.sha256, stage);
  if (t.record.domain_id != expected) {
    throw Error("task \"" + t.record.name + "\" is not a stage = \"" +
                std::string(memory_stage_name(stage)) + "\" memory task over " +
                file.path.string() + " (its domain is \"" + t.record.domain_id +
                "\", such a task's is \"" + expected + "\").");
  }
  return task_from_record(t.record);
}

}  // namespace residue
