// The public artifact of a memory or vocabulary task on a device: downloaded once per version,
// checked against the SHA-256 the task description publishes (and the task hash covers), kept
// in the state directory, and checked again whenever it is read, so that a truncated or
// tampered file is refused, never used (docs/client.md, "Memory and vocabulary tasks").
//
//   ArtifactRef ref = artifact_ref(published.at("artifact"));
//   std::shared_ptr<const std::string> bytes = cached_artifact(ref, state_dir / "artifact-next",
//                                                              download);
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace residue {

struct ArtifactRef {
  std::string sha256;  ///< 64 lower-case hex digits: the artifact's version
  uint64_t bytes = 0;
  std::string path;  ///< where the daemon serves it: /v1/tasks/<task>/artifact
};

/// The "artifact" object of a task description. Throws Error on a malformed one.
ArtifactRef artifact_ref(const nlohmann::json& artifact);

/// GETs a path from the daemon: the body, or throws Error saying why not.
using Download = std::function<std::string(const std::string& path)>;

/// The artifact's bytes: those of `file` when they match `ref`, else downloaded, checked and
/// written durably to `file` (mode 0600). Throws Error when the download does not match.
std::shared_ptr<const std::string> cached_artifact(const ArtifactRef& ref,
                                                   const std::filesystem::path& file,
                                                   const Download& download);

}  // namespace residue
