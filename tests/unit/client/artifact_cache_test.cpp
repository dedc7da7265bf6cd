// The device's copy of a task artifact (client/src/artifact_cache.h): only bytes that match
// the published size and SHA-256 are ever returned or kept.
#include "artifact_cache.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>

#include "residue/core/error.h"
#include "residue/core/sha256.h"
#include "support/temp_dir.h"

namespace residue {
namespace {

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

ArtifactRef ref_of(const std::string& bytes) {
  return {.sha256 = sha256_hex(bytes), .bytes = bytes.size(), .path = "/v1/tasks/t/artifact"};
}

TEST_CASE("a downloaded artifact is kept only when it matches the published digest", "[client]") {
  testing::TempDir dir;
  const std::filesystem::path file = dir / "artifact-t";
  const std::string bytes = "the public pieces";
  int downloads = 0;
  const Download good = [&](const std::string& path) {
    ++downloads;
    CHECK(path == "/v1/tasks/t/artifact");
    return bytes;
  };
  CHECK(*cached_artifact(ref_of(bytes), file, good) == bytes);
  CHECK(file_text(file) == bytes);
  CHECK(*cached_artifact(ref_of(bytes), file, good) == bytes);
  CHECK(downloads == 1);  // the second time from the file

  // A server (or a network) that hands out other bytes than it published is refused, and the
  // kept copy stays as it was.
  const std::string other = "the public pieces, changed";
  const Download wrong = [&](const std::string&) { return bytes; };
  CHECK_THROWS_WITH(
      cached_artifact(ref_of(other), file, wrong),
      Catch::Contains("is not the published one") && Catch::Contains(sha256_hex(other)));
  CHECK(file_text(file) == bytes);
}

TEST_CASE("a task's artifact reference is checked before anything is fetched", "[client]") {
  const nlohmann::json good = {
      {"sha256", std::string(64, 'a')}, {"bytes", 10}, {"path", "/v1/tasks/t/artifact"}};
  CHECK(artifact_ref(good).bytes == 10);
  nlohmann::json bad_digest = good;
  bad_digest["sha256"] = std::string(64, 'A');
  CHECK_THROWS_WITH(artifact_ref(bad_digest), Catch::Contains("64 lower-case hex digits"));
  nlohmann::json elsewhere = good;
  elsewhere["path"] = "/v1/tasks/../../metrics";
  CHECK_THROWS_WITH(artifact_ref(elsewhere), Catch::Contains("not under /v1/tasks/"));
  nlohmann::json missing = good;
  missing.erase("bytes");
  CHECK_THROWS_AS(artifact_ref(missing), nlohmann::json::exception);
}

}  // namespace
}  // namespace residue
