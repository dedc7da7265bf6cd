// Client, without a daemon (a cached task description in the state directory, an upload url
// nothing listens on): refusals that record nothing, the on-device budget, memoized reports,
// private state files, and flushes that fail without losing anything.
#include "residue/client/client.h"

#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/wire/report_codec.h"
#include "support/client_fixture.h"

namespace residue {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;
using Catch::Matchers::Contains;

const std::string kTask = "words";
// A dictionary value distinctive enough that finding it in a file cannot be chance.
const std::string kSecretValue = "zebra-crossing-at-midnight";

// SS over 256 values at epsilon 1: subsets of about 69 of 256 positions, so two independent
// reports coincide with probability far below 1e-50 and "different" checks cannot flake.
ProtocolParams words_params(double epsilon = 1.0) {
  return complete_params({.protocol = "ss", .k = 256, .epsilon = epsilon});
}

// "w" + i, built by appending: GCC 12 warns falsely (-Wrestrict) on "w" + std::to_string(i).
std::string word(int i) {
  std::string out = "w";
  out += std::to_string(i);
  return out;
}

std::vector<std::string> words() {
  std::vector<std::string> out;
  for (int i = 0; i < 256; ++i) out.push_back(word(i));
  out[77] = kSecretValue;
  return out;
}

// A state directory holding the cached "words" task (dictionary of 256).
fs::path words_state(const testing::TempDir& dir, const std::string& name = "state") {
  const fs::path state = dir.path() / name;
  testing::write_cached_task(state, kTask, words_params(), words());
  return state;
}

unsigned mode_of(const fs::path& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

Bytes secret_of(uint8_t fill) {
  return Bytes(32, fill);
}

TEST_CASE("client opens from a cached task and queues well-formed reports", "[client]") {
  testing::TempDir dir;
  const fs::path state = words_state(dir);
  auto client = Client::open(testing::offline_options(state, kTask));
  CHECK(client->queued_reports() == 0);
  CHECK(client->budget_left() == UINT64_MAX);
  CHECK(client->record("w3") == Status::kOk);
  CHECK(client->record_index(255) == Status::kOk);
  CHECK(client->queued_reports() == 2);
  client.reset();

  const std::vector<Bytes> queued = testing::queued_reports(state, kTask);
  REQUIRE(queued.size() == 2);
  const ReportCodec codec(make_protocol(words_params()).shape());
  for (const Bytes& bytes : queued) CHECK(codec.from_bytes(bytes).ok());
  // Reopening finds them again.
  CHECK(Client::open(testing::offline_options(state, kTask))->queued_reports() == 2);
}

TEST_CASE("client state directory and its secrets are private", "[client][privacy]") {
  testing::TempDir dir;
  const fs::path state = words_state(dir);
  fs::permissions(state, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
  ClientOptions o = testing::offline_options(state, kTask);
  o.budget_reports = 5;
  auto client = Client::open(o);
  REQUIRE(client->record("w1") == Status::kOk);
  CHECK(mode_of(state) == 0700);
  CHECK(mode_of(state / "device.secret") == 0600);
  CHECK(mode_of(state / "queue.key") == 0600);
  CHECK(fs::file_size(state / "device.secret") == 32);
  CHECK(fs::file_size(state / "queue.key") == 32);
  CHECK(mode_of(testing::queue_path(state, kTask)) == 0600);
  CHECK(mode_of(state / ("budget-" + kTask)) == 0600);
}

TEST_CASE("client refuses values outside the task and records nothing", "[client]") {
  testing::TempDir dir;
  const fs::path state = words_state(dir);
  ClientOptions o = testing::offline_options(state, kTask);
  o.budget_reports = 10;
  o.budget_period = std::chrono::hours(1);
  auto client = Client::open(o);
  CHECK(client->record("not-a-word") == Status::kUnknownValue);
  CHECK_THAT(client->last_error(), Contains("dictionary") && Contains(kTask));
  CHECK(client->record("") == Status::kUnknownValue);
  CHECK(client->record("W1") == Status::kUnknownValue);  // dictionaries are exact
  CHECK(client->record_index(256) == Status::kInvalid);
  CHECK_THAT(client->last_error(), Contains("256"));
  CHECK(client->record_index(UINT32_MAX) == Status::kInvalid);
  CHECK(client->queued_reports() == 0);
  CHECK(client->budget_left() == 10);  // refusals spend no budget
  client.reset();
  CHECK(testing::queued_reports(state, kTask).empty());

  // A task without a dictionary takes indices only.
  const fs::path sized = dir.path() / "sized";
  testing::write_cached_task(sized, kTask, words_params());
  auto by_index = Client::open(testing::offline_options(sized, kTask));
  CHECK(by_index->record("w1") == Status::kInvalid);
  CHECK(by_index->record_index(255) == Status::kOk);
  CHECK(by_index->queued_reports() == 1);
}

TEST_CASE("client budget allows R reports per period, refuses the next, and survives reopening",
          "[client][budget]") {
  testing::TempDir dir;
  const fs::path state = words_state(dir);
  ClientOptions o = testing::offline_options(state, kTask);
  o.budget_reports = 3;
  o.budget_period = std::chrono::hours(1);
  for (Memoize memoize : {Memoize::kOff, Memoize::kPermanent}) {
    INFO("memoize " << static_cast<int>(memoize));
    o.memoize = memoize;
    const fs::path s = dir.path() / ("state-" + std::to_string(static_cast<int>(memoize)));
    fs::copy(state, s);
    o.state_dir = s;
    {
      auto client = Client::open(o);
      CHECK(client->budget_left() == 3);
      for (uint64_t left : {2u, 1u, 0u}) {
        REQUIRE(client->record("w9") == Status::kOk);
        CHECK(client->budget_left() == left);
      }
      CHECK(client->record("w9") == Status::kOverBudget);
      CHECK_THAT(client->last_error(), Contains("budget"));
      CHECK(client->record_index(4) == Status::kOverBudget);
      CHECK(client->queued_reports() == 3);
      CHECK(client->budget_left() == 0);
    }
    {
      auto client = Client::open(o);
      CHECK(client->budget_left() == 0);
      CHECK(client->record("w9") == Status::kOverBudget);
      CHECK(client->queued_reports() == 3);
    }
    CHECK(testing::queued_reports(s, kTask).size() == 3);
  }
}

TEST_CASE("client budget is renewed when a new period starts", "[client][budget]") {
  testing::TempDir dir;
  ClientOptions o = testing::offline_options(words_state(dir), kTask);
  o.budget_reports = 2;
  o.budget_period = std::chrono::seconds(1);
  auto client = Client::open(o);
  // Periods are counted in whole seconds from the first report: start early in a second, so
  // that the three records below (a few fsyncs each) fall into one period.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::system_clock::now().time_since_epoch() % std::chrono::seconds(1) >
         std::chrono::milliseconds(700)) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(client->record("w1") == Status::kOk);
  REQUIRE(client->record("w2") == Status::kOk);
  REQUIRE(client->record("w3") == Status::kOverBudget);
  while (client->budget_left() != 2) {
    REQUIRE(std::chrono::steady_clock::now() < deadline + std::chrono::seconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(client->record("w3") == Status::kOk);
  CHECK(client->budget_left() == 1);
  CHECK(client->queued_reports() == 3);
}

TEST_CASE("client refuses a task whose epsilon exceeds the app's bound", "[client][privacy]") {
  testing::TempDir dir;
  const fs::path state = dir.path() / "state";
  testing::write_cached_task(state, kTask, words_params(2.0), words());
  ClientOptions o = testing::offline_options(state, kTask);
  o.max_epsilon = 1.5;
  CHECK_THROWS_WITH(Client::open(o), Contains("epsilon") && Contains(kTask) && Contains("1.5"));
  CHECK_FALSE((fs::exists(testing::queue_path(state, kTask)) &&
               fs::file_size(testing::queue_path(state, kTask)) > 0));
  o.max_epsilon = 2.0;  // the bound is inclusive
  CHECK(Client::open(o)->record("w1") == Status::kOk);
}

TEST_CASE("client refuses a cached task whose parameter hash does not match", "[client]") {
  testing::TempDir dir;
  const fs::path state = dir.path() / "state";
  SECTION("a wrong hash") {
    nlohmann::json task = testing::task_description(kTask, words_params(), words());
    std::string hash = task["params_hash"];
    hash[5] = hash[5] == '0' ? '1' : '0';
    task["params_hash"] = hash;
    testing::write_task_file(state, kTask, task);
  }
  SECTION("parameters changed under the hash") {
    nlohmann::json task = testing::task_description(kTask, words_params(), words());
    task["params"] = to_json(words_params(0.5));
    testing::write_task_file(state, kTask, task);
  }
  CHECK_THROWS_WITH(Client::open(testing::offline_options(state, kTask)),
                    Contains("hash") && Contains(kTask));
}

TEST_CASE("client refuses bad options and unusable state", "[client]") {
  testing::TempDir dir;
  const fs::path state = words_state(dir);
  const ClientOptions good = testing::offline_options(state, kTask);
  ClientOptions o = good;
  o.token.clear();
  CHECK_THROWS_AS(Client::open(o), Error);
  o = good;
  o.batch_size = 0;
  CHECK_THROWS_WITH(Client::open(o), Contains("batch_size"));
  o = good;
  o.task = "a/b";
  CHECK_THROWS_WITH(Client::open(o), Contains("a/b"));
  o = good;
  o.device_secret = Bytes(16, 1);
  CHECK_THROWS_WITH(Client::open(o), Contains("device_secret"));

  // No cache and no daemon: the error says whom it could not reach.
  o = testing::offline_options(dir.path() / "empty", kTask);
  CHECK_THROWS_WITH(Client::open(o), Contains("127.0.0.1:9") && Contains(kTask));

  // A corrupt cache is named, not silently refetched.
  const fs::path corrupt = dir.path() / "corrupt";
  testing::write_task_file(corrupt, kTask, nlohmann::json::object());
  CHECK_THROWS_WITH(Client::open(testing::offline_options(corrupt, kTask)),
                    Contains(("task-" + kTask + ".json")));
}

TEST_CASE("client memoized reports repeat for a value across restarts", "[client][memoize]") {
  testing::TempDir dir;
  const fs::path state = words_state(dir);
  ClientOptions o = testing::offline_options(state, kTask);
  o.memoize = Memoize::kPermanent;
  {
    auto client = Client::open(o);
    REQUIRE(client->record("w5") == Status::kOk);
    REQUIRE(client->record("w6") == Status::kOk);
    REQUIRE(client->record("w5") == Status::kOk);
  }
  {
    auto client = Client::open(o);
    REQUIRE(client->record("w5") == Status::kOk);
    REQUIRE(client->record_index(6) == Status::kOk);
  }
  const std::vector<Bytes> q = testing::queued_reports(state, kTask);
  REQUIRE(q.size() == 5);
  CHECK(q[0] == q[2]);
  CHECK(q[0] == q[3]);
  CHECK(q[1] == q[4]);
  CHECK(q[0] != q[1]);  // another value, another stream

  // The report is the one the documented derivation gives (device secret, parameter hash,
  // "residue.memo.1" || task || index).
  const Bytes secret = testing::read_bytes(state / "device.secret");
  const Protocol p = make_protocol(words_params());
  HmacDrbg drbg = testing::memo_drbg(secret, p.params(), kTask, 5);
  CHECK(ReportCodec(p.shape()).to_bytes(p.encoder().encode(5, drbg)) == q[0]);
}

TEST_CASE("client memoized reports depend on the device secret and the task, nothing else",
          "[client][memoize]") {
  testing::TempDir dir;
  // The report of value w5 under `secret`, for `task`, from a fresh state directory.
  int dirs = 0;
  const auto report = [&](const Bytes& secret, const std::string& task) {
    const fs::path state = dir.path() / ("s" + std::to_string(dirs++));
    testing::write_cached_task(state, task, words_params(), words());
    ClientOptions o = testing::offline_options(state, task);
    o.memoize = Memoize::kPermanent;
    o.device_secret = secret;
    REQUIRE(Client::open(o)->record("w5") == Status::kOk);
    // A secret the app supplies is the app's to keep: it is not written to the state.
    CHECK_FALSE(fs::exists(state / "device.secret"));
    const std::vector<Bytes> q = testing::queued_reports(state, task);
    REQUIRE(q.size() == 1);
    return q[0];
  };
  const Bytes a = report(secret_of(1), kTask);
  CHECK(report(secret_of(1), kTask) == a);  // another directory, same secret: same report
  CHECK(report(secret_of(2), kTask) != a);
  CHECK(report(secret_of(1), "other") != a);
  Bytes longer = secret_of(1);
  longer.push_back(1);
  CHECK(report(longer, kTask) != a);
}

TEST_CASE("client without memoization draws a fresh report every time", "[client][memoize]") {
  testing::TempDir dir;
  const fs::path state = words_state(dir);
  {
    auto client = Client::open(testing::offline_options(state, kTask));
    for (int i = 0; i < 4; ++i) REQUIRE(client->record("w5") == Status::kOk);
  }
  const std::vector<Bytes> q = testing::queued_reports(state, kTask);
  REQUIRE(q.size() == 4);
  for (std::size_t i = 0; i < q.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) CHECK_FALSE(std::ranges::equal(q[i], q[j]));
  }
}

TEST_CASE("client never writes the raw value to its state directory", "[client][privacy]") {
  testing::TempDir dir;
  const fs::path state = words_state(dir);
  for (Memoize memoize : {Memoize::kOff, Memoize::kPermanent}) {
    ClientOptions o = testing::offline_options(state, kTask);
    o.memoize = memoize;
    o.budget_reports = 100;
    auto client = Client::open(o);
    for (int i = 0; i < 3; ++i) REQUIRE(client->record(kSecretValue) == Status::kOk);
    CHECK(client->flush().status == Status::kNetwork);
  }
  // The cached task description lists the whole public dictionary; no other file may hold
  // the value.
  int files = 0;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(state)) {
    if (!e.is_regular_file() || e.path().filename() == "task-" + kTask + ".json") continue;
    ++files;
    const Bytes content = testing::read_bytes(e.path());
    INFO(e.path());
    CHECK(std::search(content.begin(), content.end(), kSecretValue.begin(), kSecretValue.end()) ==
          content.end());
  }
  CHECK(files >= 4);  // device.secret, queue.key, the queue, the budget
  // What is queued are reports of the task's shape, nothing more.
  const std::vector<Bytes> q = testing::queued_reports(state, kTask);
  REQUIRE(q.size() == 6);
  const ReportCodec codec(make_protocol(words_params()).shape());
  for (const Bytes& bytes : q) CHECK(codec.from_bytes(bytes).ok());
}

TEST_CASE("client flush to an unreachable daemon loses nothing and keeps its batch ids",
          "[client][flush]") {
  testing::TempDir dir;
  const fs::path state = words_state(dir);
  ClientOptions o = testing::offline_options(state, kTask);
  o.batch_size = 2;
  {
    auto client = Client::open(o);
    for (int i = 0; i < 5; ++i)
      REQUIRE(client->record_index(static_cast<uint32_t>(i)) == Status::kOk);
  }
  const std::vector<Bytes> before = testing::queued_reports(state, kTask);
  REQUIRE(before.size() == 5);

  const QueueKey key = [&] {
    QueueKey k;
    const Bytes stored = testing::read_bytes(state / "queue.key");
    std::copy(stored.begin(), stored.end(), k.begin());
    return k;
  }();
  const auto batch_ids = [&] {
    ReportQueue q(testing::queue_path(state, kTask), key);
    CHECK(q.waiting() == 0);
    std::vector<BatchId> ids;
    for (const QueuedBatch& b : q.outbox()) ids.push_back(b.id);
    return ids;
  };

  {
    auto client = Client::open(o);
    const FlushResult r = client->flush();
    CHECK(r.status == Status::kNetwork);
    CHECK(r.uploaded_reports == 0);
    CHECK(r.dropped_reports == 0);
    CHECK(r.remaining_reports == 5);
    CHECK_THAT(r.message, Contains("127.0.0.1:9"));
    CHECK(client->last_error() == r.message);
    CHECK(client->queued_reports() == 5);
  }
  const std::vector<BatchId> ids = batch_ids();  // formed durably before the first upload
  CHECK(ids.size() == 3);

  o.max_attempts = 3;  // retries with backoff (1, 2 ms plus jitter): still nothing there
  {
    auto client = Client::open(o);
    REQUIRE(client->record_index(9) == Status::kOk);
    const FlushResult r = client->flush();
    CHECK(r.status == Status::kNetwork);
    CHECK(r.remaining_reports == 6);
    CHECK(client->queued_reports() == 6);
  }
  const std::vector<BatchId> again = batch_ids();
  REQUIRE(again.size() == 4);
  CHECK(std::equal(ids.begin(), ids.end(), again.begin()));  // a retry reuses the batch ids
  std::vector<Bytes> after = testing::queued_reports(state, kTask);
  REQUIRE(after.size() == 6);
  after.pop_back();
  CHECK(after == before);
}

TEST_CASE("client records from many threads at once", "[client][threads]") {
  testing::TempDir dir;
  const fs::path state = words_state(dir);
  ClientOptions o = testing::offline_options(state, kTask);
  o.budget_reports = 12;
  o.budget_period = std::chrono::hours(1);
  auto client = Client::open(o);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) ok[t] += client->record(word(t)) == Status::kOk;
    });
  }
  for (std::thread& t : threads) t.join();
  int total = 0;
  for (int n : ok) total += n;
  CHECK(total == 12);  // exactly the budget, however the threads interleave
  CHECK(client->queued_reports() == 12);
  client.reset();
  CHECK(testing::queued_reports(state, kTask).size() == 12);
}

}  // namespace
}  // namespace residue
