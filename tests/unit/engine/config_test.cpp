// Task kinds in residued's configuration (issue 14): a memory or vocab task names an artifact
// and no dictionary, a frequency task no artifact; the artifact's SHA-256 is part of the task's
// identity. Every error names the task and the field.
#include "config.h"

#include <openssl/sha.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "residue/core/error.h"
#include "residue/core/hex.h"
#include "residue/protocols/params.h"
#include "support/temp_dir.h"
#include "task.h"

namespace residue {
namespace {

constexpr const char* kToken =
    "[[tokens]]\nname = \"app\"\n"
    "token_sha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"\n";

// A configuration of one task whose table holds `task_lines`, written to `dir`.
std::filesystem::path write_config(const testing::TempDir& dir, const std::string& task_lines) {
  const std::filesystem::path path = dir / "residued.toml";
  std::ofstream(path) << kToken << "\n[[tasks]]\nname = \"next\"\nepsilon = 2\n" << task_lines;
  return path;
}

std::string load_error(const testing::TempDir& dir, const std::string& task_lines) {
  try {
    load_config(write_config(dir, task_lines));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("a task is a frequency task unless its kind says otherwise", "[engine]") {
  testing::TempDir dir;
  const DaemonConfig c = load_config(write_config(dir, "k = 64\n"));
  CHECK(c.tasks.at(0).kind == TaskKind::kFrequency);
  CHECK_FALSE(c.tasks.at(0).artifact);
  const Task task = make_task(c.tasks.at(0), std::nullopt);
  CHECK(task.domain_id.empty());
  CHECK(task.artifact == nullptr);
}

TEST_CASE("a memory or vocab task's artifact is resolved beside the file and read whole",
          "[engine]") {
  testing::TempDir dir;
  const std::string bytes("pieces\0of a memory", 18);
  std::ofstream(dir / "next.artifact", std::ios::binary) << bytes;
  for (const auto& [name, kind] :
       {std::pair{"memory", TaskKind::kMemory}, std::pair{"vocab", TaskKind::kVocab}}) {
    const DaemonConfig c = load_config(write_config(
        dir, std::string("kind = \"") + name + "\"\nartifact = \"next.artifact\"\nk = 64\n"));
    REQUIRE(c.tasks.at(0).kind == kind);
    CHECK(c.tasks.at(0).artifact == dir / "next.artifact");
    const Task task = make_task(c.tasks.at(0), std::nullopt);
    REQUIRE(task.artifact != nullptr);
    CHECK(task.artifact->bytes == bytes);
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
    CHECK(task.artifact->sha256 == to_hex(digest));
    CHECK(task.domain_id == "artifact:" + to_hex(digest));
    CHECK(task.hash == task_hash(task.protocol.params(), task.domain_id));
    CHECK(task.kind == kind);
  }
}

TEST_CASE("the task hash changes with the artifact's bytes", "[engine]") {
  testing::TempDir dir;
  const std::filesystem::path config =
      write_config(dir, "kind = \"memory\"\nartifact = \"a.bin\"\nk = 64\n");
  std::ofstream(dir / "a.bin") << "one";
  const Task one = make_task(load_config(config).tasks.at(0), std::nullopt);
  std::ofstream(dir / "a.bin", std::ios::trunc) << "two";
  const Task two = make_task(load_config(config).tasks.at(0), std::nullopt);
  CHECK(one.protocol.params() == two.protocol.params());
  CHECK(one.hash != two.hash);
}

TEST_CASE("task kinds and their files are validated, naming the task and the field", "[engine]") {
  testing::TempDir dir;
  std::ofstream(dir / "words.txt") << "the\nof\n";
  CHECK_THAT(load_error(dir, "kind = \"graph\"\nk = 64\n"),
             Catch::Contains("tasks[0] (next): kind must be \"frequency\", \"memory\" or "
                             "\"vocab\", but is \"graph\""));
  CHECK_THAT(load_error(dir, "kind = \"memory\"\nk = 64\n"),
             Catch::Contains("tasks[0] (next): artifact is missing"));
  CHECK_THAT(load_error(dir, "artifact = \"a.bin\"\nk = 64\n"),
             Catch::Contains("tasks[0] (next): artifact is for memory and vocab tasks, not a "
                             "frequency task"));
  CHECK_THAT(
      load_error(dir, "kind = \"vocab\"\nartifact = \"a.bin\"\ndictionary = \"words.txt\"\n"),
      Catch::Contains("tasks[0] (next): dictionary is for frequency tasks, not a vocab task"));
  CHECK_THAT(load_error(dir, "kind = 3\nk = 64\n"),
             Catch::Contains("tasks[0] (next): kind has the wrong type"));
}

TEST_CASE("an unreadable artifact stops the task naming the task and the file", "[engine]") {
  testing::TempDir dir;
  const DaemonConfig c =
      load_config(write_config(dir, "kind = \"memory\"\nartifact = \"missing.bin\"\nk = 64\n"));
  CHECK_THROWS_WITH(make_task(c.tasks.at(0), std::nullopt),
                    Catch::Contains("task next: artifact \"" + (dir / "missing.bin").string() +
                                    "\": cannot read: No such file or directory"));
}

}  // namespace
}  // namespace residue
