// Task kinds in residued's configuration (issue 14): a memory or vocab task names an artifact
// and no dictionary, a frequency task no artifact; the artifact's SHA-256 is part of the task's
// identity. Every error names the task and the field.
#include "config.h"

#include <openssl/sha.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <tuple>

#include "residue/core/error.h"
#include "residue/core/hex.h"
#include "residue/protocols/params.h"
#include "residue/retrieval/task_artifact.h"
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

// Small sound artifacts: a memory task of 2 cells x 3 tokens, a vocab task of 2 units.
std::vector<uint8_t> memory_artifact_bytes(float scale = 1) {
  std::vector<float> vectors = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
  for (float& v : vectors) v *= scale;
  return MemoryArtifact(Vocabulary({"a", "b"}), KeyEncoder(WordEmbeddings(4, 2, vectors), {}),
                        Codebook(2, {0.f, 0.f, 1.f, 1.f}))
      .serialize();
}

std::vector<uint8_t> vocab_artifact_bytes() {
  return VocabArtifact(Vocabulary({"new", "york"}), CandidateUnits({{0, 1}, {1, 0}}, {3, 2}))
      .serialize();
}

void write_bytes(const std::filesystem::path& file, const std::vector<uint8_t>& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

TEST_CASE("a memory or vocab task's artifact is resolved beside the file, read whole and parsed",
          "[engine]") {
  testing::TempDir dir;
  for (const auto& [name, kind, bytes, k] :
       {std::tuple{"memory", TaskKind::kMemory, memory_artifact_bytes(), 6},
        std::tuple{"vocab", TaskKind::kVocab, vocab_artifact_bytes(), 2}}) {
    write_bytes(dir / "next.artifact", bytes);
    const DaemonConfig c = load_config(
        write_config(dir, std::string("protocol = \"grr\"\nkind = \"") + name +
                              "\"\nartifact = \"next.artifact\"\nk = " + std::to_string(k) + "\n"));
    REQUIRE(c.tasks.at(0).kind == kind);
    CHECK(c.tasks.at(0).artifact == dir / "next.artifact");
    const Task task = make_task(c.tasks.at(0), std::nullopt);
    REQUIRE(task.artifact != nullptr);
    CHECK(task.artifact->bytes == std::string(bytes.begin(), bytes.end()));
    CHECK((task.artifact->memory != nullptr) == (kind == TaskKind::kMemory));
    CHECK((task.artifact->vocab != nullptr) == (kind == TaskKind::kVocab));
    CHECK(task.artifact->domain() == static_cast<uint64_t>(k));
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(bytes.data(), bytes.size(), digest);
    CHECK(task.artifact->sha256 == to_hex(digest));
    CHECK(task.domain_id == "artifact:" + to_hex(digest));
    CHECK(task.hash == task_hash(task.protocol.params(), task.domain_id));
    CHECK(task.kind == kind);
  }
}

TEST_CASE("the task hash changes with the artifact's bytes", "[engine]") {
  testing::TempDir dir;
  const std::filesystem::path config =
      write_config(dir, "protocol = \"grr\"\nkind = \"memory\"\nartifact = \"a.bin\"\nk = 6\n");
  write_bytes(dir / "a.bin", memory_artifact_bytes(1));
  const Task one = make_task(load_config(config).tasks.at(0), std::nullopt);
  write_bytes(dir / "a.bin", memory_artifact_bytes(2));
  const Task two = make_task(load_config(config).tasks.at(0), std::nullopt);
  CHECK(one.protocol.params() == two.protocol.params());
  CHECK(one.hash != two.hash);
}

// The pieces of memory_artifact_bytes(scale) with a shortlist of `shortlist` of its 3 tokens.
std::vector<uint8_t> shortlist_artifact_bytes(std::vector<uint32_t> shortlist, float scale = 1) {
  const std::vector<uint8_t> bytes = memory_artifact_bytes(scale);
  const MemoryArtifact a = MemoryArtifact::parse(bytes).value();
  return MemoryArtifact(a.vocab(), a.encoder(), a.codebook(), std::move(shortlist)).serialize();
}

// Stage two ("next", over s.bin, `next_lines`) and stage one ("tokens", over a.bin, k = 3).
std::string two_stage_lines(const std::string& next_lines) {
  return "protocol = \"grr\"\nkind = \"memory\"\nartifact = \"s.bin\"\n" + next_lines +
         "\n[[tasks]]\nname = \"tokens\"\nepsilon = 2\nprotocol = \"grr\"\nkind = \"memory\"\n"
         "stage = \"tokens\"\nartifact = \"a.bin\"\nk = 3\n";
}

TEST_CASE("a two-stage memory's tasks: stages, their values, domain ids and shared pieces",
          "[engine]") {
  testing::TempDir dir;
  write_bytes(dir / "a.bin", memory_artifact_bytes());
  write_bytes(dir / "s.bin", shortlist_artifact_bytes({2, 0}));
  const DaemonConfig c = load_config(
      write_config(dir, two_stage_lines("stage = \"shortlist\"\nstage_one = \"tokens\"\nk = 6\n")));
  REQUIRE(c.tasks.size() == 2);
  CHECK(c.tasks[0].stage == MemoryStage::kShortlist);
  CHECK(c.tasks[0].stage_one == "tokens");
  CHECK(c.tasks[1].stage == MemoryStage::kTokens);
  std::vector<Task> tasks = {make_task(c.tasks[0], std::nullopt),
                             make_task(c.tasks[1], std::nullopt)};
  CHECK(tasks[0].domain_id == "artifact:" + tasks[0].artifact->sha256 + "/shortlist");
  CHECK(tasks[1].domain_id == "artifact:" + tasks[1].artifact->sha256 + "/tokens");
  CHECK(tasks[1].stage == MemoryStage::kTokens);
  CHECK_NOTHROW(check_stage_artifacts(tasks));

  // A joint task over the same artifact keeps the id it had before stages (and its hash).
  const Task joint =
      make_task(load_config(write_config(dir,
                                         "protocol = \"grr\"\nkind = \"memory\"\nartifact = "
                                         "\"a.bin\"\nk = 6\n"))
                    .tasks.at(0),
                std::nullopt);
  CHECK(joint.domain_id == "artifact:" + tasks[1].artifact->sha256);

  // A shortlist over other pieces than stage one's.
  write_bytes(dir / "s.bin", shortlist_artifact_bytes({2, 0}, 2));
  tasks[0] = make_task(c.tasks[0], std::nullopt);
  CHECK_THROWS_WITH(check_stage_artifacts(tasks),
                    Catch::Contains("task next: its artifact's public pieces") &&
                        Catch::Contains("are not those of its stage_one task tokens"));
}

TEST_CASE("a two-stage memory's configuration errors name the task and the field", "[engine]") {
  testing::TempDir dir;
  write_bytes(dir / "a.bin", memory_artifact_bytes());
  write_bytes(dir / "s.bin", shortlist_artifact_bytes({2, 0}));
  CHECK_THAT(load_error(dir, two_stage_lines("stage = \"shortlist\"\nk = 6\n")),
             Catch::Contains("tasks[0] (next): stage_one is missing"));
  CHECK_THAT(load_error(dir, two_stage_lines("stage = \"shortlist\"\nstage_one = \"nope\"\nk = 6")),
             Catch::Contains("tasks[0] (next): stage_one = \"nope\" is not a task of this file"));
  CHECK_THAT(load_error(dir,
                        "kind = \"memory\"\nartifact = \"a.bin\"\nk = 6\nstage = \"shortlist\""
                        "\nstage_one = \"next\"\n"),
             Catch::Contains("stage_one = \"next\" is not a stage-one task"));
  CHECK_THAT(load_error(dir, two_stage_lines("stage = \"unigram\"\nk = 6\n")),
             Catch::Contains("tasks[0] (next): stage must be \"joint\", \"tokens\" or "
                             "\"shortlist\", but is \"unigram\""));
  CHECK_THAT(load_error(dir, two_stage_lines("stage_one = \"tokens\"\nk = 6\n")),
             Catch::Contains("stage_one is for stage = \"shortlist\" tasks"));
  CHECK_THAT(load_error(dir, "kind = \"vocab\"\nartifact = \"a.bin\"\nk = 6\nstage = \"tokens\"\n"),
             Catch::Contains("tasks[0] (next): stage is for memory tasks"));
  CHECK_THAT(load_error(dir,
                        "kind = \"memory\"\nartifact = \"a.bin\"\nk = 3\nstage = \"tokens\"\n"
                        "corpus = \"brown\"\n"),
             Catch::Contains("a stage = \"tokens\" task is not built"));

  // What only the artifacts tell: k, and an artifact of the wrong form for the stage.
  const DaemonConfig wrong_k = load_config(
      write_config(dir, two_stage_lines("stage = \"shortlist\"\nstage_one = \"tokens\"\nk = 8\n")));
  CHECK_THROWS_WITH(make_task(wrong_k.tasks.at(0), std::nullopt),
                    Catch::Contains("task next: k is 8 but the artifact") &&
                        Catch::Contains("has 6 values (cells x (shortlist + other))"));
  const DaemonConfig joint_over_shortlist = load_config(
      write_config(dir, "protocol = \"grr\"\nkind = \"memory\"\nartifact = \"s.bin\"\nk = 6\n"));
  CHECK_THROWS_WITH(
      make_task(joint_over_shortlist.tasks.at(0), std::nullopt),
      Catch::Contains("a \"joint\" memory task needs an artifact without a shortlist"));
  const DaemonConfig shortlist_over_joint = load_config(write_config(
      dir,
      "protocol = \"grr\"\nkind = \"memory\"\nartifact = \"a.bin\"\nk = 6\nstage = "
      "\"shortlist\"\nstage_one = \"tokens\"\n[[tasks]]\nname = \"tokens\"\nepsilon = 2\n"
      "kind = \"memory\"\nstage = \"tokens\"\nartifact = \"a.bin\"\nk = 3\n"));
  CHECK_THROWS_WITH(make_task(shortlist_over_joint.tasks.at(0), std::nullopt),
                    Catch::Contains("needs an artifact with a shortlist"));
}

TEST_CASE("a memory or vocab task is built when it names a corpus, and the build keys are checked",
          "[engine]") {
  testing::TempDir dir;
  const DaemonConfig none =
      load_config(write_config(dir, "kind = \"memory\"\nartifact = \"a.bin\"\nk = 6\n"));
  CHECK_FALSE(none.tasks.at(0).build);
  const DaemonConfig memory = load_config(write_config(
      dir,
      "kind = \"memory\"\nartifact = \"a.bin\"\nk = 6\ncorpus = \"brown\"\nbuild_every = "
      "600\nbuild_threads = 2\n"));
  REQUIRE(memory.tasks.at(0).build);
  CHECK(memory.tasks.at(0).build->corpus == dir / "brown");
  CHECK(memory.tasks.at(0).build->every_seconds == 600);
  CHECK(memory.tasks.at(0).build->threads == 2);
  CHECK(memory.tasks.at(0).build->corpus_domain == "learned");
  const DaemonConfig vocab = load_config(write_config(
      dir,
      "kind = \"vocab\"\nartifact = \"a.bin\"\nk = 6\ncorpus = \"/data/brown\"\nmax_units = "
      "50\nz = 3\ndimension = 32\n"));
  REQUIRE(vocab.tasks.at(0).build);
  CHECK(vocab.tasks.at(0).build->max_units == 50);
  CHECK(vocab.tasks.at(0).build->z == 3);
  CHECK(vocab.tasks.at(0).build->dimension == 32);
  CHECK(vocab.tasks.at(0).build->every_seconds == 3600);

  CHECK_THAT(load_error(dir, "k = 64\ncorpus = \"brown\"\n"),
             Catch::Contains("tasks[0] (next): corpus is for memory and vocab tasks"));
  CHECK_THAT(load_error(dir, "kind = \"memory\"\nartifact = \"a.bin\"\nk = 6\nbuild_every = 60\n"),
             Catch::Contains("tasks[0] (next): build_every needs corpus"));
  CHECK_THAT(load_error(dir,
                        "kind = \"memory\"\nartifact = \"a.bin\"\nk = 6\ncorpus = \"b\"\n"
                        "max_units = 5\n"),
             Catch::Contains("tasks[0] (next): max_units is for vocab tasks"));
  CHECK_THAT(load_error(dir,
                        "kind = \"vocab\"\nartifact = \"a.bin\"\nk = 6\ncorpus = \"b\"\n"
                        "build_threads = 0\n"),
             Catch::Contains("tasks[0] (next): build_threads must be at least 1, but is 0"));
  CHECK_THAT(load_error(dir,
                        "kind = \"vocab\"\nartifact = \"a.bin\"\nk = 6\ncorpus = \"b\"\n"
                        "z = -1\n"),
             Catch::Contains("tasks[0] (next): z must not be negative"));
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
