#include "artifact_cache.h"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "durable_file.h"
#include "residue/core/error.h"
#include "residue/core/sha256.h"

namespace residue {
namespace {

bool matches(const ArtifactRef& ref, const std::string& bytes) {
  return bytes.size() == ref.bytes && sha256_hex(bytes) == ref.sha256;
}

}  // namespace

ArtifactRef artifact_ref(const nlohmann::json& artifact) {
  ArtifactRef ref{.sha256 = artifact.at("sha256").get<std::string>(),
                  .bytes = artifact.at("bytes").get<uint64_t>(),
                  .path = artifact.at("path").get<std::string>()};
  if (ref.sha256.size() != 64 ||
      ref.sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    throw Error("the artifact's sha256 \"" + ref.sha256 + "\" is not 64 lower-case hex digits.");
  }
  // The path is the daemon's, but it must not lead the client anywhere else.
  if (!ref.path.starts_with("/v1/tasks/") || ref.path.find("..") != std::string::npos) {
    throw Error("the artifact's path \"" + ref.path + "\" is not under /v1/tasks/.");
  }
  return ref;
}

std::shared_ptr<const std::string> cached_artifact(const ArtifactRef& ref,
                                                   const std::filesystem::path& file,
                                                   const Download& download) {
  if (std::optional<std::vector<uint8_t>> stored = read_file(file)) {
    auto bytes = std::make_shared<const std::string>(stored->begin(), stored->end());
    if (matches(ref, *bytes)) return bytes;
  }
  auto bytes = std::make_shared<const std::string>(download(ref.path));
  if (!matches(ref, *bytes)) {
    throw Error("the artifact downloaded from " + ref.path + " (" + std::to_string(bytes->size()) +
                " bytes, SHA-256 " + sha256_hex(*bytes) + ") is not the published one (" +
                std::to_string(ref.bytes) + " bytes, SHA-256 " + ref.sha256 + ").");
  }
  write_durable_file(file,
                     std::span(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()));
  return bytes;
}

}  // namespace residue
