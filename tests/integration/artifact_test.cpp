// Task kinds (issue 14): residued publishes a memory or vocab task's kind and artifact, serves
// the artifact's bytes versioned by their SHA-256, counts the artifact in the task hash, and
// refuses to start when the artifact changed under stored data. Frequency tasks are as before.
#include <catch2/catch.hpp>

#include "daemon_fixture.h"
#include "residue/client/client.h"
#include "residue/core/error.h"
#include "residue/random/seeded_rng.h"

namespace residue::integration {
namespace {

TaskSpec memory_task(const std::filesystem::path& artifact) {
  return TaskSpec{.name = "next",
                  .protocol = "grr",
                  .k = 64,
                  .extra_toml = "kind = \"memory\"\nartifact = " + toml_string(artifact.string())};
}

TEST_CASE("a memory task publishes its kind and artifact, and the download hashes to it",
          "[integration]") {
  TempDir dir;
  std::string bytes(100000, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131 % 251);
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
  REQUIRE(daemon.stop() == 0);
}

TEST_CASE("a device downloads a memory task's artifact once, checks it, and its reports count",
          "[integration]") {
  TempDir dir;
  std::string bytes(50000, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 37 % 253);
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
    for (uint32_t i = 0; i < 20; ++i) REQUIRE(client->record_index(i % 64) == Status::kOk);
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

TEST_CASE("residued refuses to start when a task's artifact changed under its data",
          "[integration]") {
  TempDir dir;
  const std::filesystem::path file = dir / "next.artifact";
  write_text(file, "codebook v1");
  DaemonProcess daemon(dir, {.tasks = {memory_task(file)}});
  daemon.start();
  {
    auto http = daemon.client();
    const TaskClient next(*http, "next");
    SeededRng rng(15);  // tests only: not private
    REQUIRE(post_batch(*http, "next", next.batch(20, rng))->status == 200);
  }
  REQUIRE(daemon.stop() == 0);

  write_text(file, "codebook v2");
  REQUIRE_FALSE(daemon.try_start());
  CHECK(daemon.exit_code() == 1);
  const std::string err = daemon.stderr_text();
  INFO(err);
  CHECK_THAT(err, Catch::Contains("artifact of task \"next\" changed") &&
                      Catch::Contains("artifact:" + sha256_hex("codebook v1")) &&
                      Catch::Contains("artifact:" + sha256_hex("codebook v2")));

  // Back to the artifact the data was reported under: it starts, and nothing was lost.
  write_text(file, "codebook v1");
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

}  // namespace
}  // namespace residue::integration
