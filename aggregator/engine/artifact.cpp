#include "artifact.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <span>

#include "residue/core/error.h"
#include "residue/core/sha256.h"
#include "residue/retrieval/task_artifact.h"

namespace residue {
namespace {

template <typename T>
std::shared_ptr<const T> parse_or_throw(const Artifact& a, const std::filesystem::path& path,
                                        const char* what) {
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(a.bytes.data()),
                                       a.bytes.size());
  ParseResult<T> parsed = T::parse(bytes);
  if (!parsed.ok()) {
    throw Error("artifact \"" + path.string() + "\" is not a sound " + what + " artifact: " +
                parsed.error().message + " at byte " + std::to_string(parsed.error().offset) +
                " (`residue " + what + " prepare` writes one).");
  }
  return std::make_shared<const T>(std::move(parsed).value());
}

}  // namespace

uint64_t Artifact::domain(MemoryStage stage) const {
  if (memory) return memory_stage_domain(*memory, stage);
  return vocab ? vocab->candidates().size() : 0;
}

std::shared_ptr<const Artifact> load_artifact(const std::filesystem::path& path, TaskKind kind) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error("artifact \"" + path.string() + "\": cannot read: " + std::strerror(errno) + ".");
  }
  auto artifact = std::make_shared<Artifact>();
  artifact->bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error("artifact \"" + path.string() + "\": cannot read.");
  artifact->sha256 = sha256_hex(artifact->bytes);
  if (kind == TaskKind::kMemory) {
    artifact->memory = parse_or_throw<MemoryArtifact>(*artifact, path, "memory");
  } else if (kind == TaskKind::kVocab) {
    artifact->vocab = parse_or_throw<VocabArtifact>(*artifact, path, "vocab");
  } else {
    throw Error("artifact \"" + path.string() + "\": frequency tasks have no artifact.");
  }
  return artifact;
}

}  // namespace residue
