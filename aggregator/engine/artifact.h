// The public pieces of a memory or vocab task, as its devices download them (GET
// /v1/tasks/{task}/artifact). Opaque bytes here; their SHA-256 is their version and part of
// the task's identity, so the parameter hash changes with them and a store refuses a changed
// artifact under its data.
//
//   std::shared_ptr<const Artifact> a = load_artifact("memory.artifact");
//   task_hash(params, a->domain_id());
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace residue {

struct Artifact {
  std::string bytes;
  /// Lower-case hex SHA-256 of the bytes.
  std::string sha256;

  /// The task's Domain id: "artifact:" and the SHA-256.
  std::string domain_id() const { return "artifact:" + sha256; }
};

/// Reads `path` whole. Shared: the daemon serves the bytes without copying them per request.
/// Throws Error naming the file on a read failure.
std::shared_ptr<const Artifact> load_artifact(const std::filesystem::path& path);

}  // namespace residue
