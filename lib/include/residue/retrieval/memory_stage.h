// Which report a memory task collects: the one-stage joint value, or one of the two tasks that
// deploy the two-stage shortlist protocol (docs/memory.md, "Deployment: the two-stage
// shortlist"). Light on purpose (no Eigen): the daemon's configuration and the client's task
// description name the stage without the artifact's pieces.
//
//   std::optional<MemoryStage> s = parse_memory_stage(published.value("stage", "joint"));
//   task_hash(params, artifact_domain_id(sha256, *s));
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace residue {

enum class MemoryStage {
  kJoint,      ///< one stage: cell x token values (an artifact without a shortlist)
  kTokens,     ///< the two-stage protocol's stage one: the next word's token id alone
  kShortlist,  ///< its stage two: cell x (shortlist index or "other") (an artifact with one)
};

/// "joint", "tokens", "shortlist".
std::string_view memory_stage_name(MemoryStage stage);
/// The stage of that name; nullopt for any other.
std::optional<MemoryStage> parse_memory_stage(std::string_view name);
/// The Domain id of a task over the artifact of SHA-256 `sha256` (lower-case hex): "artifact:"
/// and the hash, then "/" and the stage unless it is joint, so that a joint task (and a vocab
/// task, which has no stage) keeps the id it had before stages and its stored data its hash.
/// Devices echo the task hash over it: the stage is part of the task.
std::string artifact_domain_id(std::string_view sha256, MemoryStage stage = MemoryStage::kJoint);
/// The stage of an artifact_domain_id(): kJoint for an id without one (or not an artifact's).
MemoryStage memory_stage_of_domain_id(std::string_view id);

}  // namespace residue
