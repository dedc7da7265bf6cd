// Fuzz target for MemoryArtifact::parse and VocabArtifact::parse, the bytes a device
// downloads. The first byte picks the kind (bit 0: memory or vocab) and whether the rest is a
// whole file or only its body (bit 1), which gets the magic line and a valid SHA-256 here so
// the fuzzer reaches the sections behind the checksum; bit 2 makes a memory body's magic that
// of version 2 (with a shortlist). A parsed artifact must serialize to the bytes it came from,
// and memory_value (each stage's value) / pick_unit must run on it.
#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "residue/random/seeded_rng.h"
#include "residue/retrieval/task_artifact.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

std::vector<uint8_t> sealed(std::string_view magic, std::span<const uint8_t> body) {
  std::vector<uint8_t> out(magic.begin(), magic.end());
  out.insert(out.end(), body.begin(), body.end());
  out.resize(out.size() + SHA256_DIGEST_LENGTH);
  SHA256(out.data(), out.size() - SHA256_DIGEST_LENGTH,
         out.data() + out.size() - SHA256_DIGEST_LENGTH);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool memory = (data[0] & 1) == 0;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  const std::string_view magic = !memory              ? residue::kVocabArtifactMagic
                                 : (data[0] & 4) == 0 ? residue::kMemoryArtifactMagic
                                                      : residue::kShortlistArtifactMagic;
  const std::vector<uint8_t> bytes =
      (data[0] & 2) == 0 ? std::vector<uint8_t>(rest.begin(), rest.end()) : sealed(magic, rest);
  if (memory) {
    const residue::ParseResult<residue::MemoryArtifact> a = residue::MemoryArtifact::parse(bytes);
    if (!a.ok()) {
      check(a.error().offset <= bytes.size() && !a.error().message.empty());
      return 0;
    }
    check(a.value().serialize() == bytes);
    const std::vector<std::string> context = {"the", "<unk>", "of"};
    const uint32_t v = residue::memory_value(a.value(), context, "show");
    check(v < a.value().domain());
    const bool shortlist = !a.value().shortlist().empty();
    const residue::MemoryStage stage =
        shortlist ? residue::MemoryStage::kShortlist : residue::MemoryStage::kTokens;
    check(residue::memory_stage_value(a.value(), stage, context, "show") <
          residue::memory_stage_domain(a.value(), stage));
  } else {
    const residue::ParseResult<residue::VocabArtifact> a = residue::VocabArtifact::parse(bytes);
    if (!a.ok()) {
      check(a.error().offset <= bytes.size() && !a.error().message.empty());
      return 0;
    }
    check(a.value().serialize() == bytes);
    residue::SeededRng rng(1);
    std::string text;
    for (const std::string& w : a.value().vocab().words()) text += w + " ";
    const std::optional<uint32_t> unit = residue::pick_unit(a.value(), text, rng);
    check(!unit || *unit < a.value().candidates().size());
  }
  return 0;
}
