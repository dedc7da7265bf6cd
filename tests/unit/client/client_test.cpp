// Client, without a daemon (a cached task description in the state directory, an upload url
// nothing listens on): refusals that record nothing, the on-device budget, memoized reports,
// private state files, and flushes that fail without losing anything.
#include "residue/client/client.h"

#include <sys/stat.h>

#include <algorithm>
#include <barrier>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "residue/core/error.h"
#include "residue/protocols/registry.h"
#include "residue/wire/batch.h"
#include "residue/wire/report_codec.h"
#include "support/client_fixture.h"
#include "support/fake_daemon.h"

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
  o.memoize = Memoize::kPermanent;  // which needs device.secret
  auto client = Client::open(o);
  REQUIRE(client->record("w1") == Status::kOk);
  CHECK(mode_of(state) == 0700);
  CHECK(mode_of(state / "device.secret") == 0600);
  CHECK(mode_of(state / "queue.key") == 0600);
  CHECK(fs::file_size(state / "device.secret") == 32);
  CHECK(fs::file_size(state / "queue.key") == 32);
  CHECK(mode_of(testing::queue_path(state, kTask)) == 0600);
  CHECK(mode_of(state / ("budget-" + kTask)) == 0600);
  CHECK(mode_of(state / ("memo-" + kTask)) == 0600);
}

// Issue 12, item 6: device.secret and queue.key lay in the state directory next to the cached
// task, so whoever could read the directory re-derived every memoized report and decrypted the
// queue. An app may now keep them in the platform keystore, through a provider.
TEST_CASE("issue 12: client with secrets from the app's keystore writes none to its state",
          "[client][privacy]") {
  testing::TempDir dir;
  const fs::path provided = words_state(dir, "provided");
  std::vector<std::string> asked;
  ClientOptions o = testing::offline_options(provided, kTask);
  o.memoize = Memoize::kPermanent;
  o.secrets = Secrets::kAppOnly;
  o.secret_provider = [&](std::string_view name, std::size_t size) {
    asked.push_back(std::string(name) + " " + std::to_string(size));
    return Bytes(size, name == "device.secret" ? 7 : 9);
  };
  REQUIRE(Client::open(o)->record("w5") == Status::kOk);
  std::sort(asked.begin(), asked.end());
  CHECK(asked == std::vector<std::string>{"device.secret 32", "queue.key 32"});
  QueueKey key;
  key.fill(9);
  const std::vector<Bytes> from_provider = testing::queued_reports(provided, kTask, key);

  // The same bytes passed directly: the same memoized report, and no secret file either.
  const fs::path direct = words_state(dir, "direct");
  ClientOptions d = testing::offline_options(direct, kTask);
  d.memoize = Memoize::kPermanent;
  d.secrets = Secrets::kAppOnly;
  d.device_secret = Bytes(32, 7);
  d.queue_key = key;
  REQUIRE(Client::open(d)->record("w5") == Status::kOk);
  CHECK(testing::queued_reports(direct, kTask, key) == from_provider);
  for (const fs::path& state : {provided, direct}) {
    for (const fs::directory_entry& e : fs::directory_iterator(state)) {
      INFO(e.path());
      CHECK(e.path().filename() != "device.secret");
      CHECK(e.path().filename() != "queue.key");
    }
  }
}

TEST_CASE("issue 12: client with app-only secrets refuses to open without them",
          "[client][privacy]") {
  testing::TempDir dir;
  const fs::path state = words_state(dir);
  ClientOptions o = testing::offline_options(state, kTask);
  o.secrets = Secrets::kAppOnly;
  CHECK_THROWS_WITH(Client::open(o), Contains("kAppOnly") && Contains("queue.key"));
  o.memoize = Memoize::kPermanent;
  o.queue_key = QueueKey{};
  CHECK_THROWS_WITH(Client::open(o), Contains("kAppOnly") && Contains("device.secret"));
  // A provider that refuses, or answers with the wrong size, is named with the secret.
  o.secret_provider = [](std::string_view, std::size_t) -> Bytes {
    throw Error("keystore locked");
  };
  CHECK_THROWS_WITH(Client::open(o), Contains("keystore locked") && Contains("device.secret"));
  o.secret_provider = [](std::string_view, std::size_t) { return Bytes(16, 1); };
  CHECK_THROWS_WITH(Client::open(o), Contains("16 bytes") && Contains("device.secret"));
  // Nothing was created in the state directory: no secret, no queue.
  CHECK_FALSE(fs::exists(state / "device.secret"));
  CHECK_FALSE(fs::exists(state / "queue.key"));
  CHECK_FALSE(fs::exists(testing::queue_path(state, kTask)));
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

// Issue 12, item 5: with a budget period of zero or below every record started a new period,
// so the on-device budget never refused anything.
TEST_CASE("issue 12: client refuses a budget period of zero or below", "[client][budget]") {
  testing::TempDir dir;
  ClientOptions o = testing::offline_options(words_state(dir), kTask);
  o.budget_reports = 1;
  for (const std::chrono::seconds period : {std::chrono::seconds(0), std::chrono::seconds(-5)}) {
    o.budget_period = period;
    CHECK_THROWS_WITH(Client::open(o), Contains("budget_period must be positive") &&
                                           Contains("is " + std::to_string(period.count())));
  }
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

// Issue 12, item 1: the hash a daemon published covered the protocol parameters only, so a
// reordered dictionary kept the hash, and clients went on reporting indices that now meant
// other values. The dictionary is now part of the task hash the client checks.
TEST_CASE("issue 12: a reordered dictionary is another task, accepted only under its own hash",
          "[client]") {
  testing::TempDir dir;
  std::vector<std::string> reordered = words();
  std::swap(reordered[0], reordered[1]);
  const ParamsHash before = testing::task_hash_of(words_params(), words());
  const ParamsHash after = testing::task_hash_of(words_params(), reordered);
  REQUIRE(after != before);
  // A client of the reordered dictionary, published under `hash`.
  const auto open_under = [&](const std::string& name, const ParamsHash& hash) {
    nlohmann::json task = testing::task_description(kTask, words_params(), reordered);
    task["params_hash"] = to_hex(hash);
    testing::write_task_file(dir.path() / name, kTask, task);
    return Client::open(testing::offline_options(dir.path() / name, kTask));
  };
  // The hash of the order before, and that of the parameters alone (what the daemon published
  // before the fix, and what clients then accepted whatever the dictionary): refused.
  CHECK_THROWS_WITH(open_under("before", before), Contains("hash") && Contains(kTask));
  CHECK_THROWS_WITH(open_under("params", params_hash(words_params())), Contains("hash"));
  // Its own hash: accepted, and queued with every report.
  REQUIRE(open_under("after", after)->record("w0") == Status::kOk);
  CHECK(testing::queued_reports(dir.path() / "after", kTask, {}, after).size() == 1);
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
  // "residue.memo.value.1" || |task| || task || |value| || value).
  const Bytes secret = testing::read_bytes(state / "device.secret");
  const Protocol p = make_protocol(words_params());
  HmacDrbg drbg = testing::memo_value_drbg(secret, p.params(), kTask, "w5");
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

// Issue 12, item 1: memoized streams were personalized by the value's index, so a server that
// reordered the dictionary got a fresh permanent report of every value. A dictionary value's
// stream now follows the value: reordered, each value keeps the decision its stream made (GRR:
// report the true value, or another).
TEST_CASE("issue 12: a memoized value keeps its stream when the dictionary is reordered",
          "[client][memoize]") {
  testing::TempDir dir;
  // GRR over 8 values at epsilon 2 reports the true value with probability e^2 / (e^2 + 7) =
  // 0.51: under independent streams (the index derivation) the two orders would agree on each
  // of the 64 (secret, value) pairs below with probability 0.50, on all of them with 5e-20.
  const ProtocolParams params = complete_params({.protocol = "grr", .k = 8, .epsilon = 2.0});
  const std::vector<std::string> order = {"a", "b", "c", "d", "e", "f", "g", "h"};
  const std::vector<std::string> reversed(order.rbegin(), order.rend());
  const Protocol p = make_protocol(params);
  const ReportCodec codec(p.shape());
  int dirs = 0;
  // The value each memoized report under `secret` names, one report per value of `order`.
  const auto reported = [&](const std::vector<std::string>& dictionary, const Bytes& secret) {
    const fs::path state = dir.path() / ("s" + std::to_string(dirs++));
    testing::write_cached_task(state, kTask, params, dictionary);
    ClientOptions o = testing::offline_options(state, kTask);
    o.memoize = Memoize::kPermanent;
    o.device_secret = secret;
    {
      auto client = Client::open(o);
      for (const std::string& value : order) REQUIRE(client->record(value) == Status::kOk);
    }
    std::vector<std::string> named;
    for (const Bytes& bytes : testing::queued_reports(state, kTask)) {
      named.push_back(dictionary.at(codec.from_bytes(bytes).value().items.at(0)));
    }
    return named;
  };
  int kept = 0;
  for (uint8_t s = 1; s <= 8; ++s) {
    const std::vector<std::string> a = reported(order, secret_of(s));
    const std::vector<std::string> b = reported(reversed, secret_of(s));
    for (std::size_t v = 0; v < order.size(); ++v) {
      INFO("secret " << int(s) << ", value " << order[v] << ": " << a[v] << " then " << b[v]);
      CHECK((a[v] == order[v]) == (b[v] == order[v]));
      kept += a[v] == order[v];
    }
  }
  CHECK(kept > 0);  // both decisions occurred: the agreement is not trivial
  CHECK(kept < 64);

  // The report is the one the documented derivation gives (device secret, params_hash,
  // "residue.memo.value.1" || |task| || task || |value| || value).
  const fs::path state = dir.path() / "derivation";
  testing::write_cached_task(state, kTask, params, reversed);
  ClientOptions o = testing::offline_options(state, kTask);
  o.memoize = Memoize::kPermanent;
  o.device_secret = secret_of(3);
  REQUIRE(Client::open(o)->record("c") == Status::kOk);
  HmacDrbg drbg = testing::memo_value_drbg(secret_of(3), params, kTask, "c");
  CHECK(testing::queued_reports(state, kTask).at(0) == codec.to_bytes(p.encoder().encode(5, drbg)));
}

// Issue 12, item 1: a stream reused under other parameters (another dictionary order, a nudged
// epsilon) is another look at the value, so a server that changed them every period got
// unboundedly many. The device caps the task versions it makes memoized reports under.
TEST_CASE("issue 12: memoized reports stop at max_memo_versions task versions, across restarts",
          "[client][memoize]") {
  testing::TempDir dir;
  const fs::path state = dir.path() / "state";
  std::vector<std::string> reordered = words();
  std::swap(reordered[0], reordered[1]);
  struct Version {
    ProtocolParams params;
    std::vector<std::string> dictionary;
  };
  const std::vector<Version> versions = {
      {words_params(), words()}, {words_params(), reordered}, {words_params(1.5), words()}};
  ClientOptions o = testing::offline_options(state, kTask);
  o.memoize = Memoize::kPermanent;
  o.max_memo_versions = 2;
  o.budget_reports = 100;
  o.budget_period = std::chrono::hours(1);
  // A client restarted under version `v` of the task, as after refresh_parameters().
  const auto open_version = [&](std::size_t v) {
    testing::write_cached_task(state, kTask, versions[v].params, versions[v].dictionary);
    return Client::open(o);
  };
  REQUIRE(open_version(0)->record("w1") == Status::kOk);
  REQUIRE(open_version(1)->record("w1") == Status::kOk);
  {
    auto client = open_version(2);
    CHECK(client->record("w1") == Status::kInvalid);
    CHECK_THAT(client->last_error(), Contains("max_memo_versions = 2") && Contains(kTask));
    CHECK(client->queued_reports() == 2);  // nothing recorded
    CHECK(client->budget_left() == 98);    // nor spent
  }
  // Remembered across restarts; the versions already used go on.
  CHECK(open_version(2)->record("w1") == Status::kInvalid);
  CHECK(open_version(0)->record("w2") == Status::kOk);
  CHECK(open_version(1)->record("w3") == Status::kOk);
  CHECK(mode_of(state / ("memo-" + kTask)) == 0600);
  // Fresh randomness is not capped (the budget bounds it), nor is anything under 0.
  o.memoize = Memoize::kOff;
  CHECK(open_version(2)->record("w1") == Status::kOk);
  o.memoize = Memoize::kPermanent;
  o.max_memo_versions = 0;
  CHECK(open_version(2)->record("w1") == Status::kOk);
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

// ---- against a fake daemon (support/fake_daemon.h): what the Client sends and keeps ----

using Daemon = testing::FakeDaemon;

Daemon::Response accepted(const Daemon::Request&) {
  return {200, R"({"accepted": 1, "duplicate": false})"};
}

// The batches a daemon received, parsed with the codec of `params`.
struct Upload {
  BatchHeader header;
  std::vector<Report> reports;
  std::vector<uint8_t> body;
};

std::vector<Upload> uploads(const Daemon& daemon, const ProtocolParams& params) {
  const ReportCodec codec(make_protocol(params).shape());
  std::vector<Upload> out;
  for (const Daemon::Request& r : daemon.requests()) {
    if (r.method != "POST") continue;
    CHECK(r.path == "/v1/tasks/" + kTask + "/reports");
    CHECK(r.authorization == "Bearer test-token");
    Upload u;
    const ParseResult<BatchHeader> parsed = parse_batch(codec, r.body, u.reports);
    INFO((parsed.ok() ? std::string() : parsed.error().message));
    REQUIRE(parsed.ok());
    u.header = parsed.value();
    u.body = r.body;
    out.push_back(std::move(u));
  }
  return out;
}

TEST_CASE("client flush uploads its queue in batches and forgets only what was acknowledged",
          "[client][flush]") {
  testing::TempDir dir;
  const fs::path state = words_state(dir);
  ClientOptions o = testing::offline_options(state, kTask);
  o.batch_size = 2;
  {
    auto client = Client::open(o);
    for (uint32_t i = 0; i < 5; ++i) REQUIRE(client->record_index(i * 50) == Status::kOk);
  }
  const std::vector<Bytes> queued = testing::queued_reports(state, kTask);
  Daemon daemon(accepted);
  o.url = daemon.url();
  {
    auto client = Client::open(o);
    const FlushResult r = client->flush();
    CHECK(r.status == Status::kOk);
    CHECK(r.uploaded_reports == 5);
    CHECK(r.dropped_reports == 0);
    CHECK(r.remaining_reports == 0);
    CHECK(client->queued_reports() == 0);
  }
  const std::vector<Upload> up = uploads(daemon, words_params());
  REQUIRE(up.size() == 3);
  const ReportCodec codec(make_protocol(words_params()).shape());
  std::vector<Bytes> sent;
  for (const Upload& u : up) {
    CHECK(u.header.params_hash == testing::task_hash_of(words_params(), words()));
    for (const Report& r : u.reports) sent.push_back(codec.to_bytes(r));
  }
  CHECK(sent == queued);  // every report once, in order
  CHECK(up[0].header.id != up[1].header.id);
  CHECK(up[1].header.id != up[2].header.id);
  CHECK(Client::open(o)->queued_reports() == 0);
}

TEST_CASE("client retries a transient failure with the same batch bytes", "[client][flush]") {
  testing::TempDir dir;
  const fs::path state = words_state(dir);
  int calls = 0;
  Daemon daemon([&](const Daemon::Request& r) -> Daemon::Response {
    ++calls;
    if (calls == 1) return {503, R"({"error": "store busy"})"};
    if (calls == 2) return {429, R"({"error": "slow down"})"};
    return accepted(r);
  });
  ClientOptions o = testing::offline_options(state, kTask);
  o.url = daemon.url();
  o.max_attempts = 3;
  auto client = Client::open(o);
  REQUIRE(client->record("w1") == Status::kOk);
  const FlushResult r = client->flush();
  CHECK(r.status == Status::kOk);
  CHECK(r.uploaded_reports == 1);
  const std::vector<Upload> up = uploads(daemon, words_params());
  REQUIRE(up.size() == 3);
  CHECK(up[0].body == up[1].body);
  CHECK(up[1].body == up[2].body);
}

TEST_CASE("client drops a batch refused for good and keeps one refused for its token",
          "[client][flush]") {
  testing::TempDir dir;
  const fs::path state = words_state(dir);
  int status = 409;
  Daemon daemon([&](const Daemon::Request&) -> Daemon::Response {
    return {status, R"({"error": "no"})"};
  });
  ClientOptions o = testing::offline_options(state, kTask);
  o.url = daemon.url();
  o.max_attempts = 3;
  auto client = Client::open(o);
  REQUIRE(client->record("w1") == Status::kOk);
  FlushResult r = client->flush();
  CHECK(r.status == Status::kOk);
  CHECK(r.dropped_reports == 1);
  CHECK(r.remaining_reports == 0);
  status = 401;
  REQUIRE(client->record("w2") == Status::kOk);
  r = client->flush();
  CHECK(r.status == Status::kRejected);
  CHECK_THAT(r.message, Contains("401"));
  CHECK(r.remaining_reports == 1);
  CHECK(client->queued_reports() == 1);
  CHECK(daemon.requests().size() == 2);  // neither refusal was retried
}

TEST_CASE("client fetches the task from the daemon when it has none cached", "[client]") {
  testing::TempDir dir;
  const fs::path state = dir.path() / "state";
  const nlohmann::json task = testing::task_description(kTask, words_params(), words());
  Daemon daemon([&](const Daemon::Request& r) -> Daemon::Response {
    if (r.method == "GET" && r.path == "/v1/tasks/" + kTask) return {200, task.dump()};
    return {404, R"({"error": "unknown task"})"};
  });
  ClientOptions o = testing::offline_options(state, kTask);
  o.url = daemon.url();
  REQUIRE(Client::open(o)->record(kSecretValue) == Status::kOk);
  REQUIRE(daemon.requests().size() == 1);
  CHECK(daemon.requests()[0].authorization == "Bearer test-token");
  const fs::path cache = state / ("task-" + kTask + ".json");
  CHECK(mode_of(cache) == 0600);
  CHECK(nlohmann::json::parse(testing::read_bytes(cache)) == task);
  // From now on the cache serves, without the daemon.
  CHECK(Client::open(testing::offline_options(state, kTask))->record("w2") == Status::kOk);

  // Refusals: an unknown task, and a task above the app's bound (not cached).
  ClientOptions other = testing::offline_options(dir.path() / "other", "nope");
  other.url = daemon.url();
  CHECK_THROWS_WITH(Client::open(other), Contains("404"));
  other = testing::offline_options(dir.path() / "strict", kTask);
  other.url = daemon.url();
  other.max_epsilon = 0.5;
  CHECK_THROWS_WITH(Client::open(other), Contains("epsilon"));
  CHECK_FALSE(fs::exists(dir.path() / "strict" / ("task-" + kTask + ".json")));
}

// The operator changes the task's epsilon; GRR keeps the same report shape, so reports queued
// under the old parameters parse under the new ones. They were encoded with the old epsilon:
// uploaded under the new parameter hash, the daemon would count them as new-epsilon reports
// and bias every estimate. Whatever the client does with them (upload them under the hash
// they were encoded for, or drop them and say so), it must not relabel them.
TEST_CASE("client never uploads reports under parameters they were not encoded with",
          "[client][flush]") {
  testing::TempDir dir;
  const fs::path state = dir.path() / "state";
  const ProtocolParams before = complete_params({.protocol = "grr", .k = 256, .epsilon = 1.0});
  const ProtocolParams after = complete_params({.protocol = "grr", .k = 256, .epsilon = 2.0});
  REQUIRE(make_protocol(before).shape() == make_protocol(after).shape());
  testing::write_cached_task(state, kTask, before, words());
  Daemon daemon([&](const Daemon::Request& r) -> Daemon::Response {
    if (r.method == "GET") return {200, testing::task_description(kTask, after, words()).dump()};
    return accepted(r);
  });
  ClientOptions o = testing::offline_options(state, kTask);
  o.url = daemon.url();
  auto client = Client::open(o);
  for (int i = 0; i < 3; ++i) REQUIRE(client->record("w7") == Status::kOk);
  REQUIRE(client->refresh_parameters() == Status::kOk);
  REQUIRE(client->record("w8") == Status::kOk);  // encoded under the new parameters
  const FlushResult r = client->flush();
  CHECK(r.uploaded_reports + r.dropped_reports + r.remaining_reports == 4);
  // Under the new hash, only the one report encoded with the new epsilon may arrive.
  uint64_t under_new_hash = 0;
  for (const Upload& u : uploads(daemon, after)) {
    if (u.header.params_hash == testing::task_hash_of(after, words())) {
      under_new_hash += u.reports.size();
    }
  }
  INFO("reports uploaded under the epsilon-2 hash: " << under_new_hash << " (1 was encoded so)");
  CHECK(under_new_hash <= 1);
}

// The daemon publishes max_reports_per_batch and answers 413 to a larger batch. A batch's
// reports are fixed when it is formed (its id must stay the same across retries), so a batch
// formed larger than the daemon's limit can never be delivered: every flush stops at it.
TEST_CASE("client batches no more reports than the task's max_reports_per_batch",
          "[client][flush]") {
  testing::TempDir dir;
  const fs::path state = dir.path() / "state";
  nlohmann::json task = testing::task_description(kTask, words_params(), words());
  task["max_reports_per_batch"] = 2;
  testing::write_task_file(state, kTask, task);
  const ReportCodec codec(make_protocol(words_params()).shape());
  Daemon daemon([&](const Daemon::Request& r) -> Daemon::Response {
    std::vector<Report> reports;
    const ParseResult<BatchHeader> parsed = parse_batch(codec, r.body, reports);
    if (parsed.ok() && parsed.value().count > 2) return {413, R"({"error": "too many reports"})"};
    return accepted(r);
  });
  ClientOptions o = testing::offline_options(state, kTask);
  o.url = daemon.url();  // batch_size stays at its default, 1000
  auto client = Client::open(o);
  for (int i = 0; i < 5; ++i) REQUIRE(client->record("w1") == Status::kOk);
  client->flush();
  const FlushResult r = client->flush();
  CHECK(r.status == Status::kOk);
  CHECK(r.remaining_reports == 0);
  for (const Upload& u : uploads(daemon, words_params())) CHECK(u.header.count <= 2);
}

TEST_CASE("client open throws residue::Error when the daemon's description is not JSON",
          "[client]") {
  testing::TempDir dir;
  Daemon daemon([](const Daemon::Request&) -> Daemon::Response { return {200, "<html>"}; });
  ClientOptions o = testing::offline_options(dir.path() / "state", kTask);
  o.url = daemon.url();
  CHECK_THROWS_AS(Client::open(o), Error);
}

// Two Clients of different tasks share the state directory's device.secret and queue.key.
// Opened at the same moment on a fresh directory, both must end up with the secret and key
// that are on disk: a Client that kept a key it lost the race to write seals its queue with
// a key no later run has, and that queue is then refused for good (its reports lost).
TEST_CASE("client opened for two tasks at once on a fresh state directory shares its secrets",
          "[client][threads]") {
  testing::TempDir dir;
  const ProtocolParams params = complete_params({.protocol = "grr", .k = 8, .epsilon = 1.0});
  std::string failures;
  for (int trial = 0; trial < 10; ++trial) {
    const fs::path state = dir.path() / ("state-" + std::to_string(trial));
    for (const std::string task : {"a", "b"}) testing::write_cached_task(state, task, params);
    std::barrier start(2);
    std::vector<std::string> errors(2);
    const auto run = [&](int t) {
      ClientOptions o = testing::offline_options(state, t == 0 ? "a" : "b");
      o.memoize = Memoize::kPermanent;
      start.arrive_and_wait();
      try {  // Catch2 assertions are not thread-safe: only strings here
        if (Client::open(o)->record_index(3) != Status::kOk) errors[t] = "record failed";
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    };
    std::thread a(run, 0), b(run, 1);
    a.join();
    b.join();
    for (int t = 0; t < 2; ++t) {
      const std::string task = t == 0 ? "a" : "b";
      if (!errors[t].empty()) {
        failures += "\ntrial " + std::to_string(trial) + " open " + task + ": " + errors[t];
        continue;
      }
      try {
        Client::open(testing::offline_options(state, task));  // its queue under the key on disk
      } catch (const std::exception& e) {
        failures += "\ntrial " + std::to_string(trial) + " reopen " + task + ": " + e.what();
      }
    }
  }
  INFO("failures:" << failures);
  CHECK(failures.empty());
}

}  // namespace
}  // namespace residue
