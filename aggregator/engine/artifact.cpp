#include "artifact.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "residue/core/error.h"
#include "residue/core/sha256.h"

namespace residue {

std::shared_ptr<const Artifact> load_artifact(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error("artifact \"" + path.string() + "\": cannot read: " + std::strerror(errno) + ".");
  }
  auto artifact = std::make_shared<Artifact>();
  artifact->bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error("artifact \"" + path.string() + "\": cannot read.");
  artifact->sha256 = sha256_hex(artifact->bytes);
  return artifact;
}

}  // namespace residue
