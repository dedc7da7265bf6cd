#include "artifact.h"

#include <openssl/sha.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "residue/core/error.h"
#include "residue/core/hex.h"

namespace residue {

std::shared_ptr<const Artifact> load_artifact(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error("artifact \"" + path.string() + "\": cannot read: " + std::strerror(errno) + ".");
  }
  auto artifact = std::make_shared<Artifact>();
  artifact->bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error("artifact \"" + path.string() + "\": cannot read.");
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(artifact->bytes.data()), artifact->bytes.size(),
         digest);
  artifact->sha256 = to_hex(digest);
  return artifact;
}

}  // namespace residue
