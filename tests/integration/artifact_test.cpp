// Task kinds (issue 14): residued publishes a memory or vocab task's kind and artifact, serves
// the artifact's bytes versioned by their SHA-256, counts the artifact in the task hash, and
// refuses to start when the artifact changed under stored data. Frequency tasks are as before.
// Eigen (through task_artifact.h) must come before httplib.h, whose <resolv.h> defines _res,
// a parameter name in Eigen's headers.
// clang-format off
#include "residue/retrieval/task_artifact.h"
#include "c_client.h"
// clang-format on

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <map>

#include "residue/client/client.h"
#include "residue/core/error.h"
#include "residue/core/sha256.h"
#include "residue/random/seeded_rng.h"

namespace residue::integration {
namespace {

// Small public pieces: 8 tokens (7 words and <unk>), <s>, dimension 5, 6 cells: k = 48.
MemoryArtifact small_memory_artifact(uint64_t seed = 5) {
  SeededRng rng(seed);  // tests only: not private
  const auto floats = [&](std::size_t n) {
    std::vector<float> out(n);
    for (float& x : out) x = static_cast<float>(2 * rng.uniform01() - 1);
    return out;
  };
  Vocabulary vocab({"the", "results", "of", "show", "new", "york", "city"});
  WordEmbeddings e(vocab.size() + 1, 5, floats((vocab.size() + 1) * 5));
  return MemoryArtifact(std::move(vocab), KeyEncoder(std::move(e), {.window = 2, .decay = 0.5f}),
                        Codebook(5, floats(6 * 5)));
}

TaskSpec memory_task(const std::filesystem::path& artifact) {
  return TaskSpec{.name = "next",
                  .protocol = "grr",
                  .k = 48,
                  .extra_toml = "kind = \"memory\"\nartifact = " + toml_string(artifact.string())};
}

TEST_CASE("a memory task publishes its kind and artifact, and the download hashes to it",
          "[integration]") {
  TempDir dir;
  const std::vector<uint8_t> serialized = small_memory_artifact().serialize();
  const std::string bytes(serialized.begin(), serialized.end());
  write_text(dir / "next.artifact", bytes);
  DaemonSpec spec;
  spec.tokens.push_back(TokenSpec{.name = "device", .token = "device-token", .roles = {}});
  spec.tasks = {TaskSpec{}, memory_task(dir / "next.artifact")};
  DaemonProcess daemon(dir, spec);
  daemon.start();
  auto http = daemon.client();

  const JsonReply next = get_json(*http, "/v1/tasks/next");
  REQUIRE(next.status == 200);
  CHECK(next.body.at("kind") == "memory");
  CHECK(next.body.at("domain").at("kind") == "artifact");
  const nlohmann::json& artifact = next.body.at("artifact");
  CHECK(artifact.at("sha256") == sha256_hex(bytes));
  CHECK(artifact.at("bytes") == bytes.size());
  CHECK(artifact.at("path") == "/v1/tasks/next/artifact");
  // The hash devices echo covers the artifact.
  const ProtocolParams params = params_from_json(next.body.at("params"));
  CHECK(next.body.at("params_hash") == to_hex(task_hash(params, "artifact:" + sha256_hex(bytes))));

  // A device's token (report only) downloads it, as it reads parameters.
  auto device = daemon.client("device-token");
  const httplib::Result download = device->Get("/v1/tasks/next/artifact");
  REQUIRE(download);
  REQUIRE(download->status == 200);
  CHECK(download->get_header_value("Content-Type") == "application/octet-stream");
  CHECK(download->get_header_value("ETag") == "\"" + sha256_hex(bytes) + "\"");
  CHECK(sha256_hex(download->body) == artifact.at("sha256"));
  // A device that has this version already is told so, without the bytes.
  const httplib::Result again =
      device->Get("/v1/tasks/next/artifact", {{"If-None-Match", "\"" + sha256_hex(bytes) + "\""}});
  REQUIRE(again);
  CHECK(again->status == 304);
  CHECK(again->body.empty());
  CHECK(daemon.client("")->Get("/v1/tasks/next/artifact")->status == 401);
  CHECK(get_json(*http, "/v1/tasks/nope/artifact").status == 404);

  // A frequency task says so, and has nothing to download.
  const JsonReply words = get_json(*http, "/v1/tasks/words");
  REQUIRE(words.status == 200);
  CHECK(words.body.at("kind") == "frequency");
  CHECK_FALSE(words.body.contains("artifact"));
  const JsonReply none = get_json(*http, "/v1/tasks/words/artifact");
  CHECK(none.status == 404);
  CHECK_THAT(none.body.at("error").get<std::string>(), Catch::Contains("no artifact"));

  // Batches encoded under the published hash are counted.
  const TaskClient client(*device, "next");
  SeededRng rng(14);  // tests only: not private
  REQUIRE(post_batch(*device, "next", client.batch(30, rng))->status == 200);
  require_counted(daemon, "next", 1, 30);

  // A report for a cell that does not exist (value 48: cell 6 of a 6-cell codebook) is refused
  // with its offset, and its whole batch counts nothing. The codec will not write one, so a
  // written batch is changed (docs/wire_format.md): report 1 is payload bits 6-11 (6 bits a
  // report, from byte 48), set to 48, and the checksum after the payload made anew.
  std::vector<Report> reports(3);
  for (Report& r : reports) r.items = {5};
  std::vector<uint8_t> forged = encode_batch(ReportCodec(client.protocol().shape()),
                                             random_batch_id(rng), client.hash(), reports);
  for (int bit = 0; bit < 6; ++bit) {
    const int at = 48 * 8 + 6 + bit;
    uint8_t& byte = forged[static_cast<std::size_t>(at / 8)];
    byte = static_cast<uint8_t>((byte & ~(1u << (at % 8))) | ((48u >> bit & 1u) << (at % 8)));
  }
  const Sha256Digest digest = sha256(std::span<const uint8_t>(forged.data(), 51));
  std::copy(digest.begin(), digest.begin() + 16, forged.begin() + 51);
  const httplib::Result refused = post_batch(*device, "next", forged);
  REQUIRE(refused);
  CHECK(refused->status == 400);
  INFO(refused->body);
  CHECK_THAT(refused->body, Catch::Contains("report 1 of 3: position 48 is outside [0, 48)"));
  require_counted(daemon, "next", 1, 30);
  REQUIRE(daemon.stop() == 0);
}

TEST_CASE("a device downloads a memory task's artifact once, checks it, and its reports count",
          "[integration]") {
  TempDir dir;
  const std::vector<uint8_t> serialized = small_memory_artifact().serialize();
  const std::string bytes(serialized.begin(), serialized.end());
  write_text(dir / "next.artifact", bytes);
  DaemonSpec spec;
  spec.tasks = {memory_task(dir / "next.artifact")};
  DaemonProcess daemon(dir, spec);
  daemon.start();
  const ClientOptions options{
      .url = daemon.url(), .token = kToken, .task = "next", .state_dir = dir / "device"};
  const std::filesystem::path cached = dir / "device" / "artifact-next";
  {
    std::unique_ptr<Client> client = Client::open(options);
    CHECK(read_text(cached) == bytes);
    for (uint32_t i = 0; i < 20; ++i) REQUIRE(client->record_index(i % 48) == Status::kOk);
    REQUIRE(client->flush().status == Status::kOk);
  }
  require_counted(daemon, "next", 1, 20);

  // A cached copy that no longer matches the published digest is never used: the client
  // fetches the artifact again.
  std::string tampered = bytes;
  tampered[123] = static_cast<char>(tampered[123] ^ 1);
  write_text(cached, tampered);
  Client::open(options);
  CHECK(read_text(cached) == bytes);

  // Without the daemon, a tampered copy stops the client rather than being used.
  REQUIRE(daemon.stop() == 0);
  write_text(cached, tampered);
  CHECK_THROWS_WITH(Client::open(options),
                    Catch::Contains("task \"next\"") && Catch::Contains("/v1/tasks/next/artifact"));
}

// The daemon's estimated count of each value with one.
std::map<uint32_t, double> estimated_counts(const DaemonProcess& daemon, const std::string& task) {
  auto http = daemon.client();
  const JsonReply r = get_json(*http, "/v1/tasks/" + task + "/estimates?top=48");
  REQUIRE(r.status == 200);
  std::map<uint32_t, double> counts;
  for (const nlohmann::json& row : r.body.at("top")) {
    if (row.at("count").get<double>() > 0.5) {
      counts[row.at("index").get<uint32_t>()] = row.at("count").get<double>();
    }
  }
  return counts;
}

TEST_CASE(
    "devices record contexts of a memory task through the SDK and the C ABI, and the "
    "daemon counts the values the devices computed",
    "[integration]") {
  TempDir dir;
  const MemoryArtifact artifact = small_memory_artifact();
  artifact.write(dir / "next.artifact");
  DaemonSpec spec;
  // GRR at epsilon 30 keeps a report's value with probability 1 - 47 e^-30 (about 1e-11 per
  // report): the estimates are the true counts, so they show what the devices computed.
  spec.tasks = {TaskSpec{.name = "next",
                         .protocol = "grr",
                         .k = artifact.domain(),
                         .epsilon = 30,
                         .extra_toml = "kind = \"memory\"\nartifact = " +
                                       toml_string((dir / "next.artifact").string())}};
  DaemonProcess daemon(dir, spec);
  daemon.start();

  const std::vector<std::string> show_of = {"the", "results", "of"};
  const std::vector<std::string> york = {"new"};
  std::map<uint32_t, double> expected;
  {
    const ClientOptions options{.url = daemon.url(),
                                .token = kToken,
                                .task = "next",
                                .state_dir = dir / "cpp",
                                .max_epsilon = 30};
    std::unique_ptr<Client> client = Client::open(options);
    for (int i = 0; i < 7; ++i) REQUIRE(client->record_context(show_of, "show") == Status::kOk);
    REQUIRE(client->record_sentence_start("the") == Status::kOk);
    expected[memory_value(artifact, show_of, "show")] += 7;
    expected[memory_value(artifact, {}, "the")] += 1;
    // Bad input records nothing.
    CHECK(client->record_context(show_of, "") == Status::kInvalid);
    CHECK(client->record_context({}, "the") == Status::kInvalid);
    CHECK_THAT(client->last_error(), Catch::Contains("the context is empty"));
    CHECK(client->record_sentence_start("") == Status::kInvalid);
    CHECK(client->record_context(std::vector<std::string>{"the", ""}, "show") == Status::kInvalid);
    CHECK(client->record_text("new york") == Status::kInvalid);
    CHECK_THAT(client->last_error(), Catch::Contains("not a vocab task"));
    CHECK(client->queued_reports() == 8);
    REQUIRE(client->flush().status == Status::kOk);
  }
  {
    residue_client_t* c = open_c_client(daemon, dir / "c", "next");
    const char* words[] = {"new"};
    for (int i = 0; i < 5; ++i) REQUIRE(residue_client_record_context(c, words, 1, "york") == 0);
    expected[memory_value(artifact, york, "york")] += 5;
    CHECK(residue_client_record_context(c, nullptr, 1, "york") == RESIDUE_E_INVALID);
    CHECK(residue_client_record_context(c, words, 0, "york") == RESIDUE_E_INVALID);
    CHECK(residue_client_record_sentence_start(c, "") == RESIDUE_E_INVALID);
    CHECK(residue_client_record_context(c, words, 1, "") == RESIDUE_E_INVALID);
    uint64_t uploaded = 0;
    REQUIRE(residue_client_flush(c, &uploaded, nullptr) == RESIDUE_OK);
    CHECK(uploaded == 5);
    residue_client_destroy(c);
  }
  require_counted(daemon, "next", 2, 13);
  const std::map<uint32_t, double> counts = estimated_counts(daemon, "next");
  REQUIRE(counts.size() == expected.size());
  for (const auto& [value, count] : expected) {
    INFO("value " << value);
    REQUIRE(counts.count(value) == 1);
    CHECK(counts.at(value) == Approx(count).margin(1e-6));
  }
  REQUIRE(daemon.stop() == 0);
}

TEST_CASE("a device records one candidate unit of a text for a vocab task", "[integration]") {
  TempDir dir;
  // new york, york city, new york city, the results.
  const VocabArtifact artifact(Vocabulary({"the", "results", "of", "show", "new", "york", "city"}),
                               CandidateUnits({{4, 5}, {5, 6}, {4, 5, 6}, {0, 1}}, {9, 7, 5, 3}));
  artifact.write(dir / "units.artifact");
  DaemonSpec spec;
  spec.tasks = {TaskSpec{.name = "units",
                         .protocol = "grr",
                         .k = 4,
                         .epsilon = 30,
                         .extra_toml = "kind = \"vocab\"\nartifact = " +
                                       toml_string((dir / "units.artifact").string())}};
  DaemonProcess daemon(dir, spec);
  daemon.start();
  residue_client_t* c = open_c_client(daemon, dir / "c", "units");
  // "the results" holds one unit; "of show" none.
  for (int i = 0; i < 6; ++i) REQUIRE(residue_client_record_text(c, "The results.") == RESIDUE_OK);
  CHECK(residue_client_record_text(c, "of show") == RESIDUE_E_UNKNOWN_VALUE);
  const char* words[] = {"new"};
  CHECK(residue_client_record_context(c, words, 1, "york") == RESIDUE_E_INVALID);
  REQUIRE(residue_client_flush(c, nullptr, nullptr) == RESIDUE_OK);
  residue_client_destroy(c);
  require_counted(daemon, "units", 1, 6);
  const std::map<uint32_t, double> counts = estimated_counts(daemon, "units");
  REQUIRE(counts.size() == 1);
  CHECK(counts.begin()->first == 3);
  CHECK(counts.begin()->second == Approx(6).margin(1e-6));
  REQUIRE(daemon.stop() == 0);
}

TEST_CASE("residued refuses to start when a task's artifact changed under its data",
          "[integration]") {
  TempDir dir;
  const std::filesystem::path file = dir / "next.artifact";
  const std::vector<uint8_t> v1 = small_memory_artifact(5).serialize();
  const std::vector<uint8_t> v2 = small_memory_artifact(6).serialize();
  const auto text = [](const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); };
  write_text(file, text(v1));
  DaemonProcess daemon(dir, {.tasks = {memory_task(file)}});
  daemon.start();
  {
    auto http = daemon.client();
    const TaskClient next(*http, "next");
    SeededRng rng(15);  // tests only: not private
    REQUIRE(post_batch(*http, "next", next.batch(20, rng))->status == 200);
  }
  REQUIRE(daemon.stop() == 0);

  write_text(file, text(v2));
  REQUIRE_FALSE(daemon.try_start());
  CHECK(daemon.exit_code() == 1);
  const std::string err = daemon.stderr_text();
  INFO(err);
  CHECK_THAT(err, Catch::Contains("artifact of task \"next\" changed") &&
                      Catch::Contains("artifact:" + sha256_hex(text(v1))) &&
                      Catch::Contains("artifact:" + sha256_hex(text(v2))));

  // Back to the artifact the data was reported under: it starts, and nothing was lost.
  write_text(file, text(v1));
  daemon.start();
  require_counted(daemon, "next", 1, 20);
  REQUIRE(daemon.stop() == 0);
}

TEST_CASE("residued refuses to start on an unreadable artifact, naming the task and the file",
          "[integration]") {
  TempDir dir;
  DaemonProcess daemon(dir, {.tasks = {memory_task(dir / "missing.artifact")}});
  REQUIRE_FALSE(daemon.try_start());
  CHECK(daemon.exit_code() == 1);
  CHECK_THAT(daemon.stderr_text(),
             Catch::Contains("task next: artifact \"" + (dir / "missing.artifact").string() +
                             "\": cannot read"));
}

TEST_CASE("residued refuses to start on an artifact that does not parse or does not fit k",
          "[integration]") {
  TempDir dir;
  const std::filesystem::path file = dir / "next.artifact";
  const std::vector<uint8_t> serialized = small_memory_artifact().serialize();
  std::string bytes(serialized.begin(), serialized.end());
  {
    // One bit flipped: the checksum no longer matches.
    std::string corrupt = bytes;
    corrupt[40] = static_cast<char>(corrupt[40] ^ 1);
    write_text(file, corrupt);
    DaemonProcess daemon(dir, {.tasks = {memory_task(file)}});
    REQUIRE_FALSE(daemon.try_start());
    CHECK(daemon.exit_code() == 1);
    CHECK_THAT(daemon.stderr_text(), Catch::Contains("task next: artifact \"" + file.string() +
                                                     "\" is not a sound memory artifact") &&
                                         Catch::Contains("at byte"));
  }
  {
    // A vocab artifact where a memory one belongs.
    VocabArtifact(Vocabulary({"new", "york"}), CandidateUnits({{0, 1}}, {3})).write(file);
    DaemonProcess daemon(dir, {.tasks = {memory_task(file)}});
    REQUIRE_FALSE(daemon.try_start());
    CHECK_THAT(daemon.stderr_text(), Catch::Contains("is not a sound memory artifact"));
  }
  {
    // A sound artifact whose devices report 48 values, on a task of 64.
    write_text(file, bytes);
    TaskSpec task = memory_task(file);
    task.k = 64;
    DaemonProcess daemon(dir, {.tasks = {task}});
    REQUIRE_FALSE(daemon.try_start());
    CHECK_THAT(daemon.stderr_text(),
               Catch::Contains("k is 64 but the artifact") && Catch::Contains("has 48 values"));
  }
}

}  // namespace
}  // namespace residue::integration
