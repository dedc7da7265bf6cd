// Integration tests of the client SDK (issue 5, "Tests"): residue::Client against the real
// residued on loopback. What a device records is counted exactly once, whatever the network
// does in between: a daemon that is down keeps the reports queued on the device, and an app
// that restarts finds them again.
#include "residue/client/client.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "daemon_fixture.h"

namespace residue::integration {
namespace {

const std::vector<std::string> kWords = {"the", "of", "and", "to", "a", "in", "is", "you"};

// A dictionary task "words" over kWords, its values file in `dir`.
DaemonSpec words_task(const TempDir& dir) {
  std::ofstream out(dir / "words.txt");
  for (const std::string& w : kWords) out << w << "\n";
  DaemonSpec spec;
  spec.tasks = {TaskSpec{.name = "words", .dictionary = dir / "words.txt", .epsilon = 2.0}};
  return spec;
}

ClientOptions options(const DaemonProcess& daemon, const TempDir& dir) {
  return {.url = daemon.url(),
          .token = kToken,
          .task = "words",
          .state_dir = dir / "device",
          .batch_size = 7,  // several batches per flush, the last one partial
          .max_attempts = 2,
          .backoff = std::chrono::milliseconds(10)};
}

TEST_CASE("a client's recorded values are counted by the daemon, in batches", "[integration]") {
  TempDir dir;
  DaemonProcess daemon(dir, words_task(dir));
  daemon.start();
  std::unique_ptr<Client> client = Client::open(options(daemon, dir));
  for (int i = 0; i < 50; ++i) REQUIRE(client->record(kWords[i % kWords.size()]) == Status::kOk);
  CHECK(client->record("zebra") == Status::kUnknownValue);
  CHECK(client->last_error().find("not in the dictionary") != std::string::npos);
  CHECK(client->queued_reports() == 50);

  const FlushResult r = client->flush();
  INFO(r.message);
  REQUIRE(r.status == Status::kOk);
  CHECK(r.uploaded_reports == 50);
  CHECK(r.remaining_reports == 0);
  CHECK(client->queued_reports() == 0);
  require_counted(daemon, "words", 8, 50);  // ceil(50 / 7) batches

  // Nothing left: a second flush uploads nothing and changes nothing.
  CHECK(client->flush().uploaded_reports == 0);
  require_counted(daemon, "words", 8, 50);
  REQUIRE(daemon.stop() == 0);
}

TEST_CASE("reports recorded while the daemon is down wait on the device and count once",
          "[integration]") {
  TempDir dir;
  DaemonProcess daemon(dir, words_task(dir));
  daemon.start();
  {
    std::unique_ptr<Client> client = Client::open(options(daemon, dir));
    for (int i = 0; i < 20; ++i)
      REQUIRE(client->record_index(static_cast<uint32_t>(i % 8)) == Status::kOk);
    REQUIRE(client->flush().status == Status::kOk);
    require_counted(daemon, "words", 3, 20);

    REQUIRE(daemon.stop() == 0);
    for (int i = 0; i < 30; ++i) REQUIRE(client->record(kWords[i % kWords.size()]) == Status::kOk);
    const FlushResult failed = client->flush();
    CHECK(failed.status == Status::kNetwork);
    CHECK(failed.uploaded_reports == 0);
    CHECK(failed.remaining_reports == 30);
    CHECK(client->last_error().find("cannot reach") != std::string::npos);
  }  // the app exits with 30 reports queued

  daemon.start();  // same data directory, another port
  std::unique_ptr<Client> client = Client::open(options(daemon, dir));
  CHECK(client->queued_reports() == 30);
  const FlushResult r = client->flush();
  INFO(r.message);
  REQUIRE(r.status == Status::kOk);
  CHECK(r.uploaded_reports == 30);
  CHECK(r.remaining_reports == 0);
  require_counted(daemon, "words", 3 + 5, 50);
  REQUIRE(daemon.stop() == 0);
}

TEST_CASE("a client refuses a task whose epsilon is above the app's bound", "[integration]") {
  TempDir dir;
  DaemonProcess daemon(dir, words_task(dir));
  daemon.start();
  ClientOptions o = options(daemon, dir);
  o.max_epsilon = 1.0;
  REQUIRE_THROWS_WITH(Client::open(o), Catch::Contains("above this app's bound"));
  REQUIRE(daemon.stop() == 0);
}

}  // namespace
}  // namespace residue::integration
